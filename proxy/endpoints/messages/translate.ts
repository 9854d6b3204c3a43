/**
 * Anthropic's Messages API and the proxy's internal form (Chat Completions), both ways, for
 * providers that do not speak Messages themselves: a request's system prompt, turns, content
 * blocks and tools as a ChatRequest, and a chat.completion back as a Message.
 *
 * What cannot cross: Anthropic's server tools (web search, code execution, bash, text editor,
 * computer use) run only at Anthropic, and documents (PDF) and their results are Anthropic's
 * content types; a call that needs them is a 400 naming them. Thinking blocks and the thinking
 * setting are left out (another provider cannot continue Anthropic's thinking), and so are
 * cache_control marks (another provider caches on its own terms) and top_k (no equivalent).
 */
import { anthropicUser } from '../../core/attribution';
import { invalidRequest, ProxyError } from '../../core/errors';
import { randomToken } from '../../core/ids';
import type { Usage } from '../../core/usage';
import type { ChatCompletion, ChatMessage, ChatRequest, ToolCall } from '../../providers/types';
import type { ContentBlock, CountTokensRequest, MessagesRequest } from './schema';

/** What to do with what cannot be translated: refuse it (a call that will be translated), or leave it out (routing and estimates only). */
type Mode = 'strict' | 'lenient';

type Block = ContentBlock & Record<string, unknown>;

const unsupported = (what: string, param: string) =>
  new ProxyError(400, `${what} This model's provider does not speak the Messages API: use a model served by anthropic/ for it.`, {
    type: 'invalid_request_error',
    code: 'unsupported_value',
    param,
  });

const text = (value: unknown) => (typeof value === 'string' ? value : '');

/** An image block as a Chat Completions image part. */
function imagePart(block: Block, param: string): Record<string, unknown> {
  const source = (block.source ?? {}) as { type?: string; media_type?: string; data?: string; url?: string };
  if (source.type === 'base64' && typeof source.data === 'string')
    return { type: 'image_url', image_url: { url: `data:${source.media_type ?? 'image/png'};base64,${source.data}` } };
  if (source.type === 'url' && typeof source.url === 'string') return { type: 'image_url', image_url: { url: source.url } };
  throw invalidRequest('An image block needs a base64 or url source.', `${param}.source`);
}

/** A tool result's content as a tool message's text. */
function toolResultText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((block) => text((block as Block | null)?.text)).join('');
  return '';
}

/** One Messages turn as Chat Completions messages: tool results first (each its own tool message), then the rest. */
function turnMessages(role: 'user' | 'assistant', content: string | ContentBlock[], param: string, mode: Mode): ChatMessage[] {
  if (typeof content === 'string') return [{ role, content }];
  const toolResults: ChatMessage[] = [];
  const parts: Array<Record<string, unknown>> = [];
  const toolCalls: ToolCall[] = [];
  content.forEach((raw, i) => {
    const block = raw as Block;
    const at = `${param}.content[${i}]`;
    switch (block.type) {
      case 'text':
        parts.push({ type: 'text', text: text(block.text) });
        return;
      case 'image':
        parts.push(imagePart(block, at));
        return;
      case 'tool_use':
        toolCalls.push({ id: String(block.id), type: 'function', function: { name: String(block.name), arguments: JSON.stringify(block.input ?? {}) } });
        return;
      case 'tool_result':
        if (typeof block.tool_use_id !== 'string') throw invalidRequest('A tool_result block needs the tool_use_id of its call.', `${at}.tool_use_id`);
        toolResults.push({ role: 'tool', tool_call_id: block.tool_use_id, content: `${block.is_error ? 'Error: ' : ''}${toolResultText(block.content)}` });
        return;
      case 'thinking':
      case 'redacted_thinking':
        // Another provider cannot continue Anthropic's thinking: left out.
        return;
      default:
        if (mode === 'strict') throw unsupported(`A content block of type \`${block.type}\` cannot be carried.`, `${at}.type`);
    }
  });
  if (role === 'assistant') {
    const said = parts.map((part) => text(part.text)).join('');
    return said || toolCalls.length ? [{ role, content: said || null, ...(toolCalls.length ? { tool_calls: toolCalls } : {}) }] : [];
  }
  return [...toolResults, ...(parts.length ? [{ role, content: parts }] : [])];
}

/** The system prompt as one system message (cache_control marks are Anthropic's alone). */
function systemMessages(system: MessagesRequest['system']): ChatMessage[] {
  if (system === undefined) return [];
  const joined = typeof system === 'string' ? system : system.map((block) => text((block as Block).text)).join('\n');
  return joined ? [{ role: 'system', content: joined }] : [];
}

function chatTools(tools: MessagesRequest['tools'], mode: Mode): ChatRequest['tools'] {
  if (!tools?.length) return undefined;
  const functions = tools.flatMap((tool, i) => {
    // Client tools have no type, or `custom`; a typed one (web_search_20250305, bash_20250124...) runs at Anthropic.
    if (tool.type === undefined || tool.type === 'custom') {
      const description = typeof tool.description === 'string' ? { description: tool.description } : {};
      return [{ type: 'function', function: { name: tool.name, ...description, parameters: tool.input_schema ?? { type: 'object', properties: {} } } }];
    }
    if (mode === 'strict') throw unsupported(`The \`${tool.type}\` tool is one of Anthropic's server tools and runs only there.`, `tools[${i}].type`);
    return [];
  });
  return functions.length ? functions : undefined;
}

/** Anthropic's tool_choice as OpenAI's: auto and none alike, any is required, tool names a function. */
function chatToolChoice(choice: MessagesRequest['tool_choice']): unknown {
  if (!choice) return undefined;
  if (choice.type === 'any') return 'required';
  if (choice.type === 'tool') return { type: 'function', function: { name: choice.name } };
  return choice.type;
}

/** A Messages request (or a count_tokens one) as a ChatRequest. 'lenient' leaves out what cannot be carried instead of refusing it. */
export function toChatRequest(request: MessagesRequest | CountTokensRequest, mode: Mode): ChatRequest {
  const messages = request.messages.flatMap((message, i) => turnMessages(message.role, message.content, `messages[${i}]`, mode));
  const chat: ChatRequest = { model: request.model, messages: [...systemMessages(request.system), ...messages] };
  const set = (field: string, value: unknown) => {
    if (value !== undefined && value !== null) chat[field] = value;
  };
  const sampling = request as Partial<MessagesRequest>;
  set('tools', chatTools(request.tools, mode));
  if (chat.tools) {
    set('tool_choice', chatToolChoice(request.tool_choice));
    if (request.tool_choice?.disable_parallel_tool_use) chat.parallel_tool_calls = false;
  }
  set('max_completion_tokens', sampling.max_tokens);
  set('stream', sampling.stream);
  set('temperature', sampling.temperature);
  set('top_p', sampling.top_p);
  set('stop', sampling.stop_sequences?.length ? sampling.stop_sequences : undefined);
  // The end user, as the proxy logs it (a Claude Code id reduced to its stable part): it fits OpenAI's `user`.
  set('user', anthropicUser(sampling.metadata?.user_id));
  return chat;
}

/** A Message's answer as the internal form's assistant message, for shadow evaluation: its text and tool calls, thinking left out; null when it said nothing. */
export const assistantMessage = (messageJson: string): ChatMessage | null =>
  turnMessages('assistant', (JSON.parse(messageJson) as { content?: ContentBlock[] }).content ?? [], 'content', 'lenient')[0] ?? null;

/** Usage in Anthropic's shape: input_tokens leave out both cache buckets. */
export function toAnthropicUsage(usage: Usage) {
  return {
    input_tokens: Math.max(0, usage.promptTokens - usage.cachedTokens - usage.cacheWriteTokens),
    output_tokens: usage.completionTokens,
    cache_read_input_tokens: usage.cachedTokens,
    cache_creation_input_tokens: usage.cacheWriteTokens,
  };
}

const STOP_REASONS: Record<string, string> = {
  stop: 'end_turn',
  length: 'max_tokens',
  tool_calls: 'tool_use',
  function_call: 'tool_use',
  content_filter: 'refusal',
};

/** A Chat Completions finish reason as Anthropic's stop reason. */
export const stopReason = (finishReason: string | null | undefined) => STOP_REASONS[finishReason ?? ''] ?? 'end_turn';

export const newMessageId = () => `msg_${randomToken(24)}`;

/** A tool call's arguments as a tool_use block's input: an object, or an empty one when the model wrote no valid JSON. */
export function toolInput(args: string): Record<string, unknown> {
  try {
    const input = JSON.parse(args || '{}') as unknown;
    return typeof input === 'object' && input !== null && !Array.isArray(input) ? (input as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** A chat.completion as an Anthropic Message. */
export function toMessage(completion: ChatCompletion, model: string, usage: Usage) {
  const choice = completion.choices[0];
  const content: Array<Record<string, unknown>> = [];
  if (choice?.message.content) content.push({ type: 'text', text: choice.message.content });
  for (const call of choice?.message.tool_calls ?? [])
    content.push({ type: 'tool_use', id: call.id, name: call.function.name, input: toolInput(call.function.arguments) });
  return {
    id: newMessageId(),
    type: 'message',
    role: 'assistant',
    model,
    content,
    stop_reason: stopReason(choice?.finish_reason),
    stop_sequence: null as string | null,
    usage: toAnthropicUsage(usage),
  };
}

/** A Message, as the proxy writes one. */
export type AnthropicMessage = ReturnType<typeof toMessage>;
