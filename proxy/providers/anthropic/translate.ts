/**
 * Chat Completions (the proxy's internal form) to Anthropic Messages and back: requests field by
 * field (OpenAI-only fields are left out, since Anthropic rejects fields it does not know), a
 * message back to a `chat.completion`, and Anthropic's usage normalized (its input_tokens leave
 * out both cache buckets).
 */
import { invalidRequest } from '../../core/errors';
import { regionOf, serviceTierOf, toOpenAIUsage, type Usage } from '../../core/usage';
import type { ChatMessage, ChatRequest } from '../types';
import type {
  CacheControl,
  AnthropicTextBlock,
  AnthropicImageBlock,
  AnthropicToolUseBlock,
  AnthropicToolResultBlock,
  AnthropicBlock,
  AnthropicMessageParam,
  AnthropicTool,
  AnthropicToolChoice,
  AnthropicRequest,
  AnthropicUsage,
  AnthropicResponse,
} from './types';

/** Anthropic requires max_tokens; OpenAI does not, so a request without one gets this. */
const DEFAULT_MAX_TOKENS = 4096;

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

/**
 * OpenAI's response_format as an instruction: the Messages API has no such field, and a JSON
 * answer asked for must not be silently dropped. The model is told the format (and the schema);
 * unlike OpenAI's strict mode, nothing enforces it.
 */
function formatInstruction(format: unknown): AnthropicTextBlock | null {
  const f = format as { type?: unknown; json_schema?: { schema?: unknown } } | null | undefined;
  if (f?.type === 'json_object') return { type: 'text', text: 'Answer with one JSON object and nothing else.' };
  if (f?.type === 'json_schema') {
    return {
      type: 'text',
      text: `Answer with one JSON object and nothing else, valid against this JSON schema:\n${JSON.stringify(f.json_schema?.schema ?? {})}`,
    };
  }
  return null;
}

/** A Chat Completions body as an Anthropic Messages request for `model`. */
export function toAnthropicRequest(body: ChatRequest, model: string): AnthropicRequest {
  if ((body.n ?? 1) > 1) throw invalidRequest('anthropic models support n = 1 only', 'n');
  const { system, turns } = translateMessages(body.messages);
  const format = formatInstruction(body.response_format);
  if (format) system.push(format);
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

/** Anthropic usage to Usage: its input_tokens leave out both cache buckets, so they are added back; a US-only `inference_geo` is the call's region. */
export function fromAnthropicUsage(usage: AnthropicUsage | undefined): Usage {
  const cachedTokens = tokens(usage?.cache_read_input_tokens);
  const cacheWriteTokens = tokens(usage?.cache_creation_input_tokens);
  const cacheWrite1hTokens = Math.min(cacheWriteTokens, tokens(usage?.cache_creation?.ephemeral_1h_input_tokens));
  return {
    promptTokens: tokens(usage?.input_tokens) + cachedTokens + cacheWriteTokens,
    completionTokens: tokens(usage?.output_tokens),
    cachedTokens,
    cacheWriteTokens,
    ...(cacheWrite1hTokens > 0 ? { cacheWrite1hTokens } : {}),
    ...serviceTierOf(usage?.service_tier),
    ...regionOf(usage?.inference_geo),
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
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: texts.length > 0 ? texts.join('') : null,
          ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
        },
        finish_reason: finishReason(message.stop_reason),
      },
    ],
    usage: toOpenAIUsage(usage),
  });
  return { json, usage };
}
