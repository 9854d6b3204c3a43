/** Reading text out of Chat Completions messages (the internal form), and estimating their size, for providers and the meter. */
import { estimateTokens } from '../core/usage';
import type { ChatMessage, ChatRequest } from './types';

/** The text of a message's content: a string, or the text parts of a content-part array. */
export function messageText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((part) => (typeof part?.text === 'string' ? part.text : '')).join('');
  return '';
}

/** Prompt size as OpenAI counts it: the text, about 4 tokens of overhead a message, 3 to prime the reply. */
export function estimatePromptTokens(messages: ChatMessage[]): number {
  return messages.reduce((sum, m) => sum + estimateTokens(messageText(m.content)) + 4, 3);
}

/**
 * Tokens an image is taken for when a request is estimated: OpenAI's count for a 1024x1024
 * image in high detail (Anthropic's for the same image is about 1,400). An estimate errs high.
 */
export const IMAGE_TOKENS = 765;

/** Images in a message's content (the internal form's parts, or Responses' `input_image`). */
export const imagesIn = (content: unknown) =>
  Array.isArray(content) ? content.filter((part) => part?.type === 'image_url' || part?.type === 'input_image').length : 0;

/**
 * A whole request's input, estimated before any upstream has counted it: the text, the images,
 * the tool calls and results it carries, the tool schemas and the response format. What the
 * tenant's tpm reserves, and what a call is billed for when no usage ever comes back.
 */
export function estimateRequestTokens(request: ChatRequest): number {
  const calls = (m: ChatMessage) => (m.tool_calls?.length ? estimateTokens(JSON.stringify(m.tool_calls)) : 0);
  const messages = request.messages.reduce((sum, m) => sum + estimateTokens(messageText(m.content)) + imagesIn(m.content) * IMAGE_TOKENS + calls(m) + 4, 3);
  const schemas = [request.tools, request.response_format].reduce<number>((sum, part) => sum + (part ? estimateTokens(JSON.stringify(part)) : 0), 0);
  return messages + schemas;
}
