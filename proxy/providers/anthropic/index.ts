/**
 * Anthropic's Messages API behind the OpenAI shape. Requests are translated field by field
 * (unknown OpenAI-only fields are left out, since Anthropic rejects fields it does not know),
 * and answers are translated back: a message to a `chat.completion`, stream events to
 * `chat.completion.chunk`s. Anthropic counts input tokens without the cache buckets, so
 * usage is normalized here (see usage.ts).
 */
import type { Env } from '../../core/env';
import { invalidRequest, ProxyError } from '../../core/errors';
import { readSse, type SseEvent, type SseReader } from '../../streaming/sse';
import { partReader, type PartReader } from '../../streaming/parts';
import { toOpenAIUsage, type Usage } from '../../core/usage';
import { fetchUpstream, nextUpstreamEvent, upstreamError, upstreamErrorMessage, upstreamFailure, upstreamText, type ProviderSecrets } from '../upstream';
import { markPromptCache } from './prompt-cache';
import type { ChatCall, ChatMessage, ChatRequest, ChatResult, Provider, StreamPart } from '../types';

const DEFAULT_BASE_URL = 'https://api.anthropic.com';
const API_VERSION = '2023-06-01';
/** Anthropic requires max_tokens; OpenAI does not, so a request without one gets this. */
const DEFAULT_MAX_TOKENS = 4096;

const baseUrl = (env: Env) => (env.ANTHROPIC_BASE_URL?.trim() || DEFAULT_BASE_URL).replace(/\/+$/, '');

/** A failure of the upstream's answer itself (as opposed to an HTTP error status). */

// ---------------------------------------------------------------------------------------------
// Wire types (only the fields the proxy reads or writes)
// ---------------------------------------------------------------------------------------------

/** Anthropic prompt-caching marker, passed through as the client wrote it. */
type CacheControl = Record<string, unknown>;

export interface AnthropicTextBlock { type: 'text'; text: string; cache_control?: CacheControl }
export interface AnthropicImageBlock {
  type: 'image';
  source: { type: 'base64'; media_type: string; data: string } | { type: 'url'; url: string };
  cache_control?: CacheControl;
}
export interface AnthropicToolUseBlock { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> }
export interface AnthropicToolResultBlock {
  type: 'tool_result';
  tool_use_id: string;
  content: string | Array<AnthropicTextBlock | AnthropicImageBlock>;
  cache_control?: CacheControl;
}
export type AnthropicBlock = AnthropicTextBlock | AnthropicImageBlock | AnthropicToolUseBlock | AnthropicToolResultBlock;

export interface AnthropicMessageParam { role: 'user' | 'assistant'; content: AnthropicBlock[] }

export interface AnthropicTool { name: string; description?: string; input_schema: unknown; cache_control?: CacheControl }

export type AnthropicToolChoice =
  | { type: 'auto' | 'any'; disable_parallel_tool_use?: boolean }
  | { type: 'tool'; name: string; disable_parallel_tool_use?: boolean }
  | { type: 'none' };

export interface AnthropicRequest {
  model: string;
  max_tokens: number;
  messages: AnthropicMessageParam[];
  system?: AnthropicTextBlock[];
  tools?: AnthropicTool[];
  tool_choice?: AnthropicToolChoice;
  temperature?: number;
  top_p?: number;
  stop_sequences?: string[];
  metadata?: { user_id: string };
  stream?: boolean;
}

export interface AnthropicUsage {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
}

export interface AnthropicResponse {
  id: string;
  model: string;
  content: Array<{ type: string; text?: string; id?: string; name?: string; input?: unknown }>;
  stop_reason: string | null;
  usage: AnthropicUsage;
}

// ---------------------------------------------------------------------------------------------
// Request: Chat Completions -> Messages
// ---------------------------------------------------------------------------------------------

type Part = Record<string, unknown>;

/** Keeps a client-supplied Anthropic cache_control marker on the translated block. */
const withCacheControl = <T extends object>(block: T, from: Part): T =>
  from.cache_control && typeof from.cache_control === 'object' ? { ...block, cache_control: from.cache_control as CacheControl } : block;

function imageBlock(part: Part, param: string): AnthropicImageBlock {
  const image = part.image_url as { url?: unknown } | string | undefined;
  const url = typeof image === 'string' ? image : image?.url;
  if (typeof url !== 'string') throw invalidRequest('An image_url part needs a url.', `${param}.image_url.url`);
  const data = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  if (data) return withCacheControl({ type: 'image', source: { type: 'base64', media_type: data[1], data: data[2] } }, part);
  if (/^https?:\/\//i.test(url)) return withCacheControl({ type: 'image', source: { type: 'url', url } }, part);
  throw invalidRequest('Image URLs must be http(s) URLs or base64 data: URLs.', `${param}.image_url.url`);
}

/**
 * Content (a string or content parts) as Anthropic blocks. Empty text is dropped because
 * Anthropic rejects empty text blocks, and clients routinely send `content: ""` next to tool calls.
 */
function contentBlocks(content: unknown, param: string): Array<AnthropicTextBlock | AnthropicImageBlock> {
  if (content == null) return [];
  if (typeof content === 'string') return content === '' ? [] : [{ type: 'text', text: content }];
  if (!Array.isArray(content)) throw invalidRequest('Message content must be a string or an array of content parts.', param);
  return content.flatMap((part: Part, j): Array<AnthropicTextBlock | AnthropicImageBlock> => {
    const partParam = `${param}[${j}]`;
    if (part?.type === 'text') {
      if (typeof part.text !== 'string') throw invalidRequest('A text part needs a text string.', `${partParam}.text`);
      return part.text === '' ? [] : [withCacheControl({ type: 'text', text: part.text }, part)];
    }
    if (part?.type === 'image_url') return [imageBlock(part, partParam)];
    throw invalidRequest(`Content parts of type \`${String(part?.type)}\` are not supported by anthropic models.`, `${partParam}.type`);
  });
}

function toolUseBlocks(message: ChatMessage, i: number): AnthropicToolUseBlock[] {
  return (message.tool_calls ?? []).map((call, j) => {
    const param = `messages[${i}].tool_calls[${j}].function.arguments`;
    const raw = call.function?.arguments;
    let input: unknown;
    try {
      // An empty string is how some clients write "no arguments"; Anthropic needs an object.
      input = typeof raw === 'string' && raw.trim() !== '' ? JSON.parse(raw) : {};
    } catch {
      throw invalidRequest('Tool call arguments must be valid JSON.', param);
    }
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      throw invalidRequest('Tool call arguments must be a JSON object.', param);
    }
    return { type: 'tool_use', id: call.id, name: call.function.name, input: input as Record<string, unknown> };
  });
}

function toolResultBlock(message: ChatMessage, i: number): AnthropicToolResultBlock {
  if (typeof message.tool_call_id !== 'string' || message.tool_call_id === '') {
    throw invalidRequest('A tool message needs the tool_call_id it answers.', `messages[${i}].tool_call_id`);
  }
  const content = typeof message.content === 'string' ? message.content : contentBlocks(message.content, `messages[${i}].content`);
  return { type: 'tool_result', tool_use_id: message.tool_call_id, content };
}

/**
 * Splits the conversation into the top-level system blocks and the turns. Anthropic requires
 * user and assistant turns to alternate, so consecutive same-role messages (including tool
 * results, which Anthropic carries in user turns) are merged into one turn.
 */
function translateMessages(messages: ChatMessage[]): { system: AnthropicTextBlock[]; turns: AnthropicMessageParam[] } {
  const system: AnthropicTextBlock[] = [];
  const turns: AnthropicMessageParam[] = [];
  const append = (role: AnthropicMessageParam['role'], content: AnthropicBlock[]) => {
    if (content.length === 0) return;
    const last = turns.at(-1);
    if (last?.role === role) last.content.push(...content);
    else turns.push({ role, content });
  };
  messages.forEach((message, i) => {
    const param = `messages[${i}].content`;
    switch (message.role) {
      case 'system':
      case 'developer':
        for (const block of contentBlocks(message.content, param)) {
          if (block.type !== 'text') throw invalidRequest('System messages may only contain text.', param);
          system.push(block);
        }
        return;
      case 'user':
        return append('user', contentBlocks(message.content, param));
      case 'assistant':
        return append('assistant', [...contentBlocks(message.content, param), ...toolUseBlocks(message, i)]);
      case 'tool':
        return append('user', [toolResultBlock(message, i)]);
      default:
        throw invalidRequest(`Messages with role \`${message.role}\` are not supported by anthropic models.`, `messages[${i}].role`);
    }
  });
  return { system, turns };
}

function translateTools(tools: NonNullable<ChatRequest['tools']>): AnthropicTool[] {
  return tools.map((tool, i) => {
    if (tool.type !== 'function') throw invalidRequest(`Tools of type \`${tool.type}\` are not supported by anthropic models.`, `tools[${i}].type`);
    const { name, description, parameters } = tool.function;
    return withCacheControl(
      { name, ...(description ? { description } : {}), input_schema: parameters ?? { type: 'object', properties: {} } },
      tool as unknown as Part,
    );
  });
}

function translateToolChoice(choice: unknown, parallel: boolean | undefined): AnthropicToolChoice {
  // OpenAI's default is "auto" and parallel calls on; Anthropic sets the parallel switch on the choice.
  const noParallel = parallel === false ? { disable_parallel_tool_use: true } : {};
  if (choice == null || choice === 'auto') return { type: 'auto', ...noParallel };
  if (choice === 'required') return { type: 'any', ...noParallel };
  if (choice === 'none') return { type: 'none' };
  const named = choice as { type?: unknown; function?: { name?: unknown } };
  if (named.type === 'function' && typeof named.function?.name === 'string') return { type: 'tool', name: named.function.name, ...noParallel };
  throw invalidRequest('tool_choice must be "auto", "required", "none" or a named function.', 'tool_choice');
}

/** A Chat Completions body as an Anthropic Messages request for `model`. */
export function toAnthropicRequest(body: ChatRequest, model: string): AnthropicRequest {
  if ((body.n ?? 1) > 1) throw invalidRequest('anthropic models support n = 1 only', 'n');
  const { system, turns } = translateMessages(body.messages);
  const request: AnthropicRequest = {
    model,
    max_tokens: body.max_completion_tokens ?? body.max_tokens ?? DEFAULT_MAX_TOKENS,
    messages: turns,
  };
  if (system.length > 0) request.system = system;
  // Anthropic rejects tool_choice without tools, while OpenAI accepts it: only send it with tools.
  if (body.tools?.length) {
    request.tools = translateTools(body.tools);
    request.tool_choice = translateToolChoice(body.tool_choice, body.parallel_tool_calls);
  }
  // OpenAI's temperature goes up to 2, Anthropic's to 1.
  if (body.temperature != null) request.temperature = Math.min(1, Math.max(0, body.temperature));
  if (body.top_p != null) request.top_p = body.top_p;
  if (body.stop != null) {
    const stops = typeof body.stop === 'string' ? [body.stop] : body.stop;
    if (stops.length > 0) request.stop_sequences = stops;
  }
  if (body.user) request.metadata = { user_id: body.user };
  if (body.stream) request.stream = true;
  return request;
}

// ---------------------------------------------------------------------------------------------
// Response: Messages -> Chat Completions
// ---------------------------------------------------------------------------------------------

const tokens = (value: number | null | undefined) => (typeof value === 'number' && value > 0 ? value : 0);

/** Anthropic usage to Usage: its input_tokens leave out both cache buckets, so they are added back. */
export function fromAnthropicUsage(usage: AnthropicUsage | undefined): Usage {
  const cachedTokens = tokens(usage?.cache_read_input_tokens);
  const cacheWriteTokens = tokens(usage?.cache_creation_input_tokens);
  return {
    promptTokens: tokens(usage?.input_tokens) + cachedTokens + cacheWriteTokens,
    completionTokens: tokens(usage?.output_tokens),
    cachedTokens,
    cacheWriteTokens,
  };
}

const FINISH_REASONS: Record<string, string> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  pause_turn: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
};

export const finishReason = (stopReason: string | null | undefined): string => FINISH_REASONS[stopReason ?? ''] ?? 'stop';

/** An Anthropic message as an OpenAI `chat.completion`, with its usage. */
export function fromAnthropicMessage(message: AnthropicResponse, created = Math.floor(Date.now() / 1000)): { json: string; usage: Usage } {
  const texts = message.content.filter((block) => block.type === 'text').map((block) => block.text ?? '');
  const toolCalls = message.content
    .filter((block) => block.type === 'tool_use')
    .map((block) => ({ id: block.id, type: 'function', function: { name: block.name, arguments: JSON.stringify(block.input ?? {}) } }));
  const usage = fromAnthropicUsage(message.usage);
  const json = JSON.stringify({
    id: message.id,
    object: 'chat.completion',
    created,
    model: message.model,
    choices: [{
      index: 0,
      message: {
        role: 'assistant',
        content: texts.length > 0 ? texts.join('') : null,
        ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
      },
      finish_reason: finishReason(message.stop_reason),
    }],
    usage: toOpenAIUsage(usage),
  });
  return { json, usage };
}

// ---------------------------------------------------------------------------------------------
// Streaming: Messages events -> Chat Completions chunks
// ---------------------------------------------------------------------------------------------

interface StreamEvent {
  type: string;
  index?: number;
  message?: { id: string; model: string; usage?: AnthropicUsage };
  content_block?: { type: string; id?: string; name?: string; text?: string };
  delta?: { type?: string; text?: string; partial_json?: string; stop_reason?: string | null };
  usage?: AnthropicUsage;
  error?: { type?: string; message?: string };
}

function parseEvent(event: SseEvent): StreamEvent {
  try {
    const parsed = JSON.parse(event.data) as StreamEvent;
    // The `type` field and the SSE event name agree on Anthropic; compatible servers may send only one.
    return { ...parsed, type: parsed.type ?? event.event };
  } catch {
    throw upstreamError('The anthropic upstream sent a stream event that is not JSON.', 'upstream_bad_response');
  }
}

/** Later usage numbers win; message_delta repeats some fields as null, which must not erase them. */
function mergeUsage(into: AnthropicUsage, from: AnthropicUsage | undefined): AnthropicUsage {
  const merged = { ...into };
  for (const [key, value] of Object.entries(from ?? {})) {
    if (typeof value === 'number') merged[key as keyof AnthropicUsage] = value;
  }
  return merged;
}

/**
 * Translates Anthropic stream events into OpenAI chunks, one upstream event per pull so the
 * answer is never buffered. Usage is reported on message_start (input side), on message_delta
 * (cumulative output) and in the final usage-only chunk on message_stop.
 */
export function anthropicStreamParts(events: SseReader, secrets: ProviderSecrets = {}): PartReader {
  const created = Math.floor(Date.now() / 1000);
  let id = '';
  let model = '';
  let rawUsage: AnthropicUsage = {};
  /** Content block index -> OpenAI tool call index (tool_use blocks only, counted from 0). */
  const toolIndexes = new Map<number, number>();
  /** Tool call indexes that have received argument text so far. */
  const toolsWithArguments = new Set<number>();
  let finished = false;

  const chunk = (delta: object, finish: string | null = null) =>
    JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, finish_reason: finish }] });
  const toolDelta = (index: number, fields: object) => chunk({ tool_calls: [{ index, ...fields }] });

  /** The parts one event produces: none for pings and bookkeeping events. */
  function translate(event: StreamEvent): StreamPart[] {
    switch (event.type) {
      case 'message_start': {
        id = event.message?.id ?? id;
        model = event.message?.model ?? model;
        rawUsage = mergeUsage(rawUsage, event.message?.usage);
        return [{ data: chunk({ role: 'assistant', content: '' }), usage: fromAnthropicUsage(rawUsage) }];
      }
      case 'content_block_start': {
        const block = event.content_block;
        if (block?.type === 'tool_use') {
          const index = toolIndexes.size;
          toolIndexes.set(event.index ?? -1, index);
          return [{ data: toolDelta(index, { id: block.id, type: 'function', function: { name: block.name, arguments: '' } }) }];
        }
        return block?.type === 'text' && block.text ? [{ data: chunk({ content: block.text }) }] : [];
      }
      case 'content_block_delta': {
        const delta = event.delta;
        if (delta?.type === 'text_delta' && delta.text) return [{ data: chunk({ content: delta.text }) }];
        const index = toolIndexes.get(event.index ?? -1);
        if (delta?.type === 'input_json_delta' && index !== undefined && delta.partial_json) {
          toolsWithArguments.add(index);
          return [{ data: toolDelta(index, { function: { arguments: delta.partial_json } }) }];
        }
        return []; // thinking and signature deltas have no OpenAI counterpart
      }
      case 'content_block_stop': {
        // A tool called without arguments streams no JSON at all; OpenAI clients expect "{}".
        const index = toolIndexes.get(event.index ?? -1);
        return index !== undefined && !toolsWithArguments.has(index) ? [{ data: toolDelta(index, { function: { arguments: '{}' } }) }] : [];
      }
      case 'message_delta': {
        rawUsage = mergeUsage(rawUsage, event.usage);
        return [{ data: chunk({}, finishReason(event.delta?.stop_reason)), usage: fromAnthropicUsage(rawUsage) }];
      }
      case 'message_stop': {
        finished = true;
        const usage = fromAnthropicUsage(rawUsage);
        const data = JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [], usage: toOpenAIUsage(usage) });
        return [{ data, usage, usageOnly: true }];
      }
      case 'error': {
        const overloaded = event.error?.type === 'overloaded_error';
        const message = `The anthropic upstream failed mid-stream: ${upstreamText(String(event.error?.message ?? 'unknown error'), secrets)}`;
        throw overloaded ? upstreamError(message, 'upstream_overloaded', 503) : upstreamError(message, 'upstream_stream_error');
      }
      default:
        return []; // ping, and event types added to the API later
    }
  }

  return partReader(
    async () => {
      if (finished) return null;
      const event = await nextUpstreamEvent(events, 'anthropic');
      if (event === null) throw upstreamError('The anthropic stream ended early.', 'upstream_stream_incomplete');
      let parts: StreamPart[];
      try {
        parts = translate(parseEvent(event));
      } catch (error) {
        await events.cancel().catch(() => {});
        throw error instanceof ProxyError ? error : upstreamError('The anthropic stream was interrupted.', 'upstream_stream_error');
      }
      // Nothing follows message_stop; release the upstream connection now.
      if (finished) await events.cancel().catch(() => {});
      return parts;
    },
    { cancel: (reason) => events.cancel(reason), sourceBuffered: () => events.buffered() },
  );
}

// ---------------------------------------------------------------------------------------------
// The provider
// ---------------------------------------------------------------------------------------------

async function postMessages(env: Env, request: AnthropicRequest, signal: AbortSignal): Promise<Response> {
  const response = await fetchUpstream('anthropic', `${baseUrl(env)}/v1/messages`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'anthropic-version': API_VERSION,
      ...(env.ANTHROPIC_API_KEY ? { 'x-api-key': env.ANTHROPIC_API_KEY } : {}),
    },
    body: JSON.stringify(request),
    signal,
  });
  if (!response.ok) throw upstreamFailure('anthropic', response.status, await upstreamErrorMessage(response, env), response.headers);
  return response;
}

export const anthropic: Provider = {
  name: 'anthropic',

  unavailableReason(env) {
    // A custom base URL may be a local or compatible server that needs no key.
    const custom = baseUrl(env) !== DEFAULT_BASE_URL;
    return env.ANTHROPIC_API_KEY || custom ? null : 'set ANTHROPIC_API_KEY (or ANTHROPIC_BASE_URL for an Anthropic-compatible server) to use anthropic/ models';
  },

  async chat(call: ChatCall): Promise<ChatResult> {
    const request = markPromptCache(toAnthropicRequest(call.body, call.model));
    const response = await postMessages(call.env, request, call.signal);
    if (request.stream) {
      if (!response.body) throw upstreamError('The anthropic upstream sent an empty stream.', 'upstream_error');
      return { kind: 'stream', parts: anthropicStreamParts(readSse(response.body), call.env) };
    }
    const message = (await response.json().catch(() => null)) as AnthropicResponse | null;
    if (!Array.isArray(message?.content)) {
      throw upstreamError('The anthropic upstream sent a response that is not a message.', 'upstream_bad_response');
    }
    return { kind: 'completion', ...fromAnthropicMessage(message) };
  },

  async embeddings() {
    throw invalidRequest('anthropic models do not serve embeddings.', 'model');
  },
};
