/** Reading text out of Chat Completions messages, shared by providers and the meter. */
import { estimateTokens } from '../core/usage';
import type { ChatMessage } from './types';

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
