/**
 * The Responses API and the proxy's internal form (Chat Completions), both ways, for providers
 * that do not speak Responses themselves: a request's instructions, input items and tools as a
 * ChatRequest, and a chat.completion back as a Response object.
 *
 * What cannot cross: OpenAI's built-in tools (web search, file search, code interpreter...)
 * run only on OpenAI's side, so asking another provider for one is a 400 naming the tool;
 * files by id and item references name objects stored at OpenAI, likewise a 400. Reasoning
 * items are left out (another provider cannot continue OpenAI's hidden reasoning).
 */
import { invalidRequest, ProxyError } from '../../core/errors';
import { randomToken } from '../../core/ids';
import type { Usage } from '../../core/usage';
import { toResponsesUsage } from '../../providers/openai/responses';
import type { ChatCompletion, ChatMessage, ChatRequest } from '../../providers/types';
import type { InputItem, ResponsesRequest } from './schema';

/** What to do with what cannot be translated: refuse it (a call that will be translated), or leave it out (routing and estimates only). */
type Mode = 'strict' | 'lenient';

type Part = Record<string, unknown>;

const unsupported = (what: string, param: string) =>
  new ProxyError(400, `${what} This model's provider does not speak the Responses API: use a model served by openai/ for it.`, {
    type: 'invalid_request_error',
    code: 'unsupported_value',
    param,
  });

const text = (value: unknown) => (typeof value === 'string' ? value : '');

/** A content part of an input message as a Chat Completions part; null to leave it out. */
function contentPart(part: Part, param: string, mode: Mode): Part | null {
  switch (part.type) {
    case 'input_text':
    case 'output_text':
      return { type: 'text', text: text(part.text) };
    case 'refusal':
      return { type: 'text', text: text(part.refusal) };
    case 'input_image': {
      if (typeof part.image_url === 'string') return { type: 'image_url', image_url: { url: part.image_url, ...(part.detail ? { detail: part.detail } : {}) } };
      if (mode === 'strict') throw unsupported('An input_image given by file_id names a file stored at OpenAI.', `${param}.file_id`);
      return null;
    }
    default:
      if (mode === 'strict') throw unsupported(`A content part of type \`${String(part.type)}\` cannot be carried.`, `${param}.type`);
      return null;
  }
}

/** A message item's content as Chat Completions content: a string, or parts (assistant turns are text). */
function messageContent(content: unknown, role: string, param: string, mode: Mode): string | Part[] {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) throw invalidRequest('A message needs content: a string or a list of content parts.', `${param}.content`);
  const parts = content.flatMap((part: unknown, i): Part[] => {
    if (typeof part !== 'object' || part === null) throw invalidRequest('A content part must be an object.', `${param}.content[${i}]`);
    return [contentPart(part as Part, `${param}.content[${i}]`, mode) ?? []].flat();
  });
  return role === 'assistant' ? parts.map((part) => text(part.text)).join('') : parts;
}

/** The output of a function call, as a tool message's text. */
function toolOutput(output: unknown): string {
  if (typeof output === 'string') return output;
  if (Array.isArray(output)) return output.map((part) => text((part as Part | null)?.text)).join('');
  return JSON.stringify(output ?? '');
}

const MESSAGE_ROLES = new Set(['user', 'assistant', 'system', 'developer']);

/** Input items as Chat Completions messages. */
function inputMessages(input: ResponsesRequest['input'], mode: Mode): ChatMessage[] {
  if (typeof input === 'string') return [{ role: 'user', content: input }];
  const messages: ChatMessage[] = [];
  input.forEach((item: InputItem, i) => {
    const param = `input[${i}]`;
    const type = item.type ?? 'message';
    if (type === 'message') {
      const role = String(item.role);
      if (!MESSAGE_ROLES.has(role)) throw invalidRequest(`A message's role must be user, assistant, system or developer, not \`${role}\`.`, `${param}.role`);
      messages.push({ role, content: messageContent(item.content, role, param, mode) });
    } else if (type === 'function_call') {
      if (typeof item.call_id !== 'string' || typeof item.name !== 'string') throw invalidRequest('A function_call item needs a call_id and a name.', param);
      const call = {
        id: item.call_id,
        type: 'function' as const,
        function: { name: item.name, arguments: typeof item.arguments === 'string' ? item.arguments : '{}' },
      };
      // Calls made in one turn belong to one assistant message, after its text if it had any.
      const last = messages.at(-1);
      if (last?.role === 'assistant' && (last.tool_calls || typeof last.content === 'string')) (last.tool_calls ??= []).push(call);
      else messages.push({ role: 'assistant', content: null, tool_calls: [call] });
    } else if (type === 'function_call_output') {
      if (typeof item.call_id !== 'string') throw invalidRequest('A function_call_output item needs the call_id of its call.', `${param}.call_id`);
      messages.push({ role: 'tool', tool_call_id: item.call_id, content: toolOutput(item.output) });
    } else if (type === 'reasoning') {
      // Another provider cannot continue OpenAI's reasoning: the item is left out.
    } else if (mode === 'strict') {
      throw unsupported(`An input item of type \`${type}\` names or carries state kept at OpenAI.`, `${param}.type`);
    }
  });
  return messages;
}

function chatTools(tools: ResponsesRequest['tools'], mode: Mode): ChatRequest['tools'] {
  if (!tools?.length) return undefined;
  const functions = tools.flatMap((tool, i) => {
    if (tool.type === 'function') {
      if (typeof tool.name !== 'string' || tool.name === '') throw invalidRequest('A function tool needs a name.', `tools[${i}].name`);
      const fn = {
        name: tool.name,
        ...(typeof tool.description === 'string' ? { description: tool.description } : {}),
        parameters: tool.parameters ?? { type: 'object', properties: {} },
      };
      return [{ type: 'function', function: { ...fn, ...(typeof tool.strict === 'boolean' ? { strict: tool.strict } : {}) } }];
    }
    if (mode === 'strict') throw unsupported(`The \`${tool.type}\` tool is built into OpenAI's Responses API and runs only there.`, `tools[${i}].type`);
    return [];
  });
  return functions.length ? functions : undefined;
}

function chatToolChoice(choice: ResponsesRequest['tool_choice'], mode: Mode): unknown {
  if (choice === undefined || typeof choice === 'string') return choice;
  if (choice.type === 'function' && typeof choice.name === 'string') return { type: 'function', function: { name: choice.name } };
  if (mode === 'strict') throw unsupported(`A tool_choice of type \`${choice.type}\` cannot be carried.`, 'tool_choice.type');
  return undefined;
}

function responseFormat(format: Part | undefined): unknown {
  if (!format || format.type === 'text') return undefined;
  if (format.type === 'json_object') return { type: 'json_object' };
  if (format.type === 'json_schema') {
    const { name, schema, strict, description } = format;
    return {
      type: 'json_schema',
      json_schema: {
        name: typeof name === 'string' ? name : 'response',
        schema,
        ...(strict !== undefined ? { strict } : {}),
        ...(description ? { description } : {}),
      },
    };
  }
  throw invalidRequest(`Unknown text.format type \`${String(format.type)}\`.`, 'text.format.type');
}

/**
 * A Responses request as a ChatRequest: `history` (the conversation of the previous response,
 * kept by the proxy) comes after the instructions and before the new input, as OpenAI treats a
 * previous_response_id. 'lenient' leaves out what cannot be carried instead of refusing it.
 */
export function toChatRequest(request: ResponsesRequest, history: ChatMessage[], mode: Mode): ChatRequest {
  if (mode === 'strict' && request.background) throw unsupported('Background responses run at OpenAI.', 'background');
  const instructions: ChatMessage[] = request.instructions ? [{ role: 'system', content: request.instructions }] : [];
  const chat: ChatRequest = {
    model: request.model,
    messages: [...instructions, ...history, ...inputMessages(request.input, mode)],
  };
  const set = (field: string, value: unknown) => {
    if (value !== undefined && value !== null) chat[field] = value;
  };
  set('stream', request.stream ?? undefined);
  set('tools', chatTools(request.tools, mode));
  set('tool_choice', chatToolChoice(request.tool_choice, mode));
  set('parallel_tool_calls', request.parallel_tool_calls);
  set('response_format', responseFormat(request.text?.format));
  set('max_completion_tokens', request.max_output_tokens);
  set('temperature', request.temperature);
  set('top_p', request.top_p);
  set('reasoning_effort', request.reasoning?.effort);
  set('user', request.user ?? request.safety_identifier);
  set('service_tier', request.service_tier);
  if (chat.messages.length === 0) throw invalidRequest('The request has no input to answer.', 'input');
  return chat;
}

/** A Response object, as the proxy writes one (the fields OpenAI's SDKs read). */
export interface ResponseObject {
  id: string;
  object: 'response';
  created_at: number;
  status: 'in_progress' | 'completed' | 'incomplete' | 'failed';
  error: { code: string; message: string } | null;
  incomplete_details: { reason: string } | null;
  model: string;
  output: OutputItem[];
  usage: ReturnType<typeof toResponsesUsage> | null;
  [field: string]: unknown;
}

export type OutputItem =
  | { type: 'message'; id: string; status: string; role: 'assistant'; content: Array<{ type: 'output_text'; text: string; annotations: unknown[] }> }
  | { type: 'function_call'; id: string; call_id: string; name: string; arguments: string; status: string }
  | ({ type: string; id?: string } & Record<string, unknown>);

export const newResponseId = () => `resp_${randomToken(24)}`;
export const newItemId = (prefix: 'msg' | 'fc') => `${prefix}_${randomToken(24)}`;

/** Why a finished answer is incomplete, if it is (OpenAI's incomplete_details.reason). */
export function incompleteReason(finishReason: string | null): string | null {
  if (finishReason === 'length') return 'max_output_tokens';
  if (finishReason === 'content_filter') return 'content_filter';
  return null;
}

/** The response shell: the request's settings echoed, as OpenAI does, with nothing produced yet. */
export function responseShell(request: ResponsesRequest, id: string, model: string, createdAt = Math.floor(Date.now() / 1000)): ResponseObject {
  return {
    id,
    object: 'response',
    created_at: createdAt,
    status: 'in_progress',
    background: request.background ?? false,
    error: null,
    incomplete_details: null,
    instructions: request.instructions ?? null,
    max_output_tokens: request.max_output_tokens ?? null,
    metadata: request.metadata ?? {},
    model,
    output: [],
    parallel_tool_calls: request.parallel_tool_calls ?? true,
    previous_response_id: request.previous_response_id ?? null,
    reasoning: { effort: request.reasoning?.effort ?? null, summary: null },
    service_tier: request.service_tier ?? 'default',
    store: request.store ?? true,
    temperature: request.temperature ?? 1,
    text: request.text ?? { format: { type: 'text' } },
    tool_choice: request.tool_choice ?? 'auto',
    tools: request.tools ?? [],
    top_p: request.top_p ?? 1,
    truncation: 'disabled',
    usage: null,
    user: request.user ?? null,
  };
}

/** The response done: its output, status and usage. */
export function finishResponse(shell: ResponseObject, output: OutputItem[], finishReason: string | null, usage: Usage): ResponseObject {
  const reason = incompleteReason(finishReason);
  return {
    ...shell,
    status: reason ? 'incomplete' : 'completed',
    incomplete_details: reason ? { reason } : null,
    output,
    usage: toResponsesUsage(usage),
  };
}

/** A chat.completion as a Response's output items. */
export function outputItems(completion: ChatCompletion): OutputItem[] {
  const message = completion.choices[0]?.message;
  const items: OutputItem[] = [];
  if (message?.content) {
    items.push({
      type: 'message',
      id: newItemId('msg'),
      status: 'completed',
      role: 'assistant',
      content: [{ type: 'output_text', text: message.content, annotations: [] }],
    });
  }
  for (const call of message?.tool_calls ?? []) {
    items.push({
      type: 'function_call',
      id: newItemId('fc'),
      call_id: call.id,
      name: call.function.name,
      arguments: call.function.arguments,
      status: 'completed',
    });
  }
  return items;
}

/** The assistant turn a response's output amounts to, for the conversation the proxy keeps. */
export function outputMessages(output: OutputItem[]): ChatMessage[] {
  let content = '';
  const toolCalls: NonNullable<ChatMessage['tool_calls']> = [];
  for (const item of output) {
    if (item.type === 'message') content += (item.content as Array<{ text?: string }>).map((part) => part.text ?? '').join('');
    else if (item.type === 'function_call')
      toolCalls.push({ id: String(item.call_id), type: 'function', function: { name: String(item.name), arguments: String(item.arguments) } });
  }
  if (!content && toolCalls.length === 0) return [];
  return [{ role: 'assistant', content: content || null, ...(toolCalls.length ? { tool_calls: toolCalls } : {}) }];
}

/** A Response's answer as the internal form's assistant message, for shadow evaluation; null when it produced none. */
export const responseMessage = (responseJson: string): ChatMessage | null =>
  outputMessages((JSON.parse(responseJson) as Partial<ResponseObject>).output ?? [])[0] ?? null;
