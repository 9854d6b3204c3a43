/**
 * A fake OpenAI + Anthropic upstream for tests: a plain Node `http` server.
 *
 * Used by the worker project (started once by test/support/upstream-global-setup.ts, its URL is the
 * `TEST_UPSTREAM_URL` binding) and by e2e tests (each starts its own on port 0).
 * Point the proxy at it with `OPENAI_BASE_URL=<url>/v1` and `ANTHROPIC_BASE_URL=<url>`.
 *
 * Endpoints
 *   POST /v1/chat/completions   OpenAI Chat Completions, plain JSON or SSE (`stream: true`)
 *   POST /v1/embeddings         OpenAI embeddings (float or base64 `encoding_format`)
 *   GET  /v1/models             OpenAI model list
 *   POST /v1/responses          OpenAI Responses, plain JSON or SSE (`stream: true`); see "Responses API"
 *   GET  /v1/responses/{id}     a stored response (404 when unknown, deleted or `store: false`)
 *   DELETE /v1/responses/{id}   forget it: `{id, object: 'response', deleted: true}` (404 when unknown)
 *   POST /v1/messages           Anthropic Messages, plain JSON or SSE
 *   POST /v1/messages/count_tokens  Anthropic token counting: `{input_tokens}`, the same count as a
 *                               message's whole input (cache buckets included)
 *   (the OpenAI routes also answer without the /v1 prefix)
 *   GET  /__requests?contains=<text>[&path=<path>]   recorded requests (JSON array, oldest first)
 *   DELETE /__requests          forget all recorded requests
 *   POST /__webhooks/<channel>[?fail=N]   a webhook receiver (the proxy's alerts): records the POST
 *                               and answers 200 `ok`, or 503 to the first N POSTs of the channel
 *                               ("fail N times, then succeed"); not in /__requests
 *   GET  /__webhooks/<channel>  what the channel received: `ReceivedWebhook[]`, oldest first
 *
 * Every request except /__* ones is recorded as a `RecordedRequest` (method, path, query,
 * lower-cased headers, parsed JSON body, raw body, and whether the client went away before
 * the response ended). `contains` matches the raw body text, so put a unique nonce in the
 * prompt and look up exactly what the proxy sent upstream.
 *
 * Replies (deterministic, derived from the request)
 *   - text: `Echo: <first 40 characters of the last user message>`, whitespace collapsed, so
 *     the plain and the streamed text are identical. Streams send one word per chunk.
 *   - `model` echoes the requested model unchanged.
 *   - tool calls: when the request has tools, tool choice is not "none", and the LAST message
 *     is a user message whose text contains "weather" (case-insensitive), the reply calls the
 *     first tool (or the one tool_choice names) with arguments built from its JSON schema:
 *     string properties named like location/city get "Paris", other strings "test",
 *     numbers 1, booleans true. Anthropic: a short text block then a tool_use block
 *     (streamed with input_json_delta), stop_reason "tool_use". OpenAI: `tool_calls`,
 *     finish_reason "tool_calls".
 *   - `max_tokens` (or `max_completion_tokens`) smaller than the reply's word count
 *     truncates it: finish_reason "length" / stop_reason "max_tokens".
 *
 * Token accounting (a "token" here is 4 characters)
 *   - input/prompt tokens = ceil(total characters of message text / 4) + 3 per message,
 *     where message text is string content or text blocks (plus tool call/tool result
 *     JSON/text), the system prompt (Anthropic `system`) counts as text, and tools add
 *     ceil(JSON.stringify(tools).length / 4).
 *   - output/completion tokens = words in the reply text + ceil(tool-call arguments JSON / 4).
 *   - embeddings: ceil(characters / 4) per string input (at least 1), or the array length
 *     for token-array inputs.
 *   - OpenAI automatic prompt caching (stateless): when the FIRST message is a system or
 *     developer message longer than 4096 characters, `prompt_tokens_details.cached_tokens` =
 *     floor(systemTokens / 128) * 128 where systemTokens = ceil(len / 4) + 3 (so >= 1024,
 *     always < prompt_tokens). Otherwise cached_tokens is 0 (`prompt_tokens_details` is
 *     always present).
 *   - Anthropic prompt caching (stateful, like the real thing): the cacheable prefix runs
 *     over tools, then system blocks, then message blocks, up to and including the last
 *     block/tool carrying `cache_control`. prefixTokens = ceil(prefix characters / 4); below
 *     1024 nothing is cached. The first request with a given (model, prefix) reports
 *     `cache_creation_input_tokens = prefixTokens`, later ones `cache_read_input_tokens =
 *     prefixTokens`; `input_tokens` is the rest (total - read - creation), as Anthropic
 *     reports it. Both cache fields appear in usage only when the request has some
 *     `cache_control` (then the one not used is 0), with `cache_creation` splitting the writes
 *     by lifetime: all 1-hour when any mark says `ttl: '1h'`, else all 5-minute. Put your nonce inside the cached prefix
 *     (e.g. the system prompt) if a test asserts write-then-read, so parallel files don't
 *     share a cache entry.
 *   - `upstream:cache=read|write|none` anywhere in the body forces the outcome for both
 *     providers (OpenAI: read = the cached count above or, without a long system prompt,
 *     floor(prompt_tokens/128)*128; write/none = 0 cached).
 *
 * Responses API (POST /v1/responses)
 *   - input: a string (one user message) or a list of items: messages `{role, content}` with or
 *     without `type: 'message'` (content a string or `input_text` / `output_text` parts;
 *     `input_image` / `input_file` parts add no text), `function_call` `{call_id, name,
 *     arguments}`, `function_call_output` `{call_id, output}` (output a string or text parts);
 *     `reasoning` and other items are ignored. `instructions` (a string) is a system message
 *     placed first. Only `model` is required (400 `param: 'model'` otherwise); a non-string,
 *     non-array `input` is a 400.
 *   - `previous_response_id`: an unknown (or deleted, or `store: false`) id is a 404
 *     `{"error":{"message","type":"invalid_request_error","param":"previous_response_id",
 *     "code":"previous_response_not_found"}}`; a known one puts that response's conversation
 *     (its own history, input and output, but not its instructions) before this input, so each
 *     turn costs more input tokens. Responses are kept in memory (per server, newest 5000)
 *     unless `store: false`, as the upstream finished them: the completed/incomplete response,
 *     or the failed one for a streamed `upstream:midstream-error` (also when delivery is cut).
 *   - reply: the chat rules. Text `Echo: <first 40 chars of the last user message>`, or of the
 *     last item's `output` when the last item is a function_call_output (`Echo: {"temp":21}`).
 *     Function tools (`tools: [{type: 'function', name, parameters}]`, other tool types are
 *     never called) are called when tool_choice is not "none" and the LAST item is a user
 *     message containing "weather": the first function tool, or the one `tool_choice:
 *     {type: 'function', name}` names, arguments from its schema as for chat. The output is
 *     then the function_call item alone (no message before it), `{type: 'function_call',
 *     id: 'fc_…', call_id: 'call_…', name, arguments, status: 'completed'}`.
 *   - reasoning: when the request has `reasoning` (unless `effort: 'none'`) or the model is an
 *     o-series (`o` + digit: o1, o3-mini, o4-mini…) or `gpt-5*` one, output starts with
 *     `{type: 'reasoning', id: 'rs_…', summary: []}` and `reasoning_tokens` is 16, included in
 *     output_tokens (as OpenAI counts them).
 *   - `max_output_tokens` below the reply's word count (reasoning aside) truncates the text as
 *     for chat: `status: 'incomplete'`, `incomplete_details: {reason: 'max_output_tokens'}`,
 *     the message item `status: 'incomplete'`.
 *   - the Response: `id: 'resp_<random>'`, `object: 'response'`, `created_at`, `status`,
 *     `model` echoed, `output` (message items `{type: 'message', id: 'msg_…', status, role:
 *     'assistant', content: [{type: 'output_text', text, annotations: []}]}`), `usage`
 *     `{input_tokens, input_tokens_details: {cached_tokens}, output_tokens,
 *     output_tokens_details: {reasoning_tokens}, total_tokens}`, `error: null`,
 *     `incomplete_details`, and the request's settings echoed (or OpenAI's defaults):
 *     instructions, tools, tool_choice, temperature, top_p, max_output_tokens,
 *     previous_response_id, store, metadata, text, parallel_tool_calls, truncation, reasoning,
 *     user, … No `output_text` (the SDK adds it).
 *   - stream: `event: <type>` + `data: <json>` per event, each with `type` and `sequence_number`
 *     counting from 0: response.created and response.in_progress (status in_progress, output
 *     [], usage null); per output item response.output_item.added, then for a message
 *     response.content_part.added, one response.output_text.delta per word,
 *     response.output_text.done, response.content_part.done; for a function call up to 3
 *     response.function_call_arguments.delta and .done; then response.output_item.done
 *     (reasoning items: added then done); finally response.completed, or response.incomplete
 *     when truncated, carrying the whole response with usage. No `[DONE]`.
 *   - tokens: input_tokens = ceil(characters / 4) + 3 per counted item (messages, instructions,
 *     function calls (name + arguments), function_call_outputs) + ceil(JSON.stringify(tools) /
 *     4); output_tokens as for chat (+16 when reasoning). cached_tokens: the chat rule, where
 *     the long "first system/developer text" is `instructions`, or else the first item when it
 *     is a system/developer message; `upstream:cache=…` as for chat.
 *
 * Behaviours triggered by request content (anywhere in the raw body, so race-free)
 *   - `upstream:status=NNN`       answer HTTP NNN with the provider's error shape (429 adds
 *                                  `retry-after: 1`).
 *   - `upstream:retry-after=V`    the `retry-after` header of that error is V (any status).
 *   - `upstream:echo-credentials` that error's message quotes the request's credentials, as a
 *                                  careless upstream might (the proxy must not pass them on):
 *                                  as a header, as `api_key=…`, and bare ("API key provided: …").
 *   - `upstream:first=ID:N:M`     marker M (one of these without its `upstream:` prefix, e.g.
 *                                  `status=503` or `slow=2000`) applies to the first N requests
 *                                  carrying this ID only: "fail twice, then succeed", for retries.
 *   - `upstream:if-model=MODEL:M`  marker M applies only to requests for MODEL (the body's
 *                                  `model`): "the primary model is down", for fallbacks.
 *   - `upstream:midstream-error`  streams: start normally, then an error event (OpenAI
 *                                  `data: {"error":{...}}`, Anthropic `event: error`) and end
 *                                  without [DONE]/message_stop. Responses streams: the events
 *                                  up to the second output_text.delta (or the first
 *                                  function_call_arguments.delta), then `event: error`
 *                                  `{type: 'error', code: 'server_error', message, param: null,
 *                                  sequence_number}` and `event: response.failed` (status
 *                                  'failed', `error: {code: 'server_error', message}`, the
 *                                  partial output, usage = the input tokens and the output so
 *                                  far: words sent + ceil(argument characters sent / 4) + 16
 *                                  if a reasoning item was sent), then the end. Plain
 *                                  requests: 200 headers, half a JSON body, then the
 *                                  connection is destroyed.
 *   - `upstream:cut`              Responses only: a lost connection. Streams send every event
 *                                  but the terminal one (no response.completed / .incomplete /
 *                                  .failed, so no usage), then end cleanly; plain requests get
 *                                  200 headers and half the body, then the socket is destroyed.
 *   - `upstream:slow=MS`          wait MS milliseconds before the first byte (any response).
 *   - `upstream:chunk-delay=MS`   wait MS milliseconds between streamed events.
 *   - `upstream:first-event-delay=MS`  streams: send the headers at once, the first event MS later.
 *   - `upstream:hang`             send headers (and, for streams, the first few events), then
 *                                  stall until the client disconnects (`aborted` is then true
 *                                  in the recording).
 *   - `upstream:truncate-stream=N` streams: send the first N events, then end the response
 *                                  cleanly, without [DONE]/message_stop (N = 0: headers only).
 *   - `upstream:reset-stream=N`   streams: send the first N events, then destroy the connection.
 *   - `upstream:bad-chunk`        Chat Completions streams: after the first event, a chunk whose tool call
 *                                  index is "__proto__" and an event that is not JSON.
 *   - `upstream:sse-comment`      OpenAI streams (chat and Responses): an SSE comment (`: keep-alive`) after the
 *                                  first event, as some OpenAI-compatible servers send.
 *   - `upstream:inference-geo=G`  Anthropic: usage says `inference_geo: "G"` (plain answers, and
 *                                  message_start's usage in streams), as a request for US-only
 *                                  inference (`us`, billed 1.1x) is answered. Without it, usage
 *                                  has no inference_geo.
 *
 * Auth: requests without a key are accepted (like a local OpenAI-compatible server); a key
 * starting with `sk-invalid` (OpenAI `Authorization: Bearer`, Anthropic `x-api-key`) gets a
 * 401. Anthropic requests must carry `anthropic-version` (400 otherwise), have `model`,
 * `max_tokens` and `messages`, only user/assistant roles, and no unknown top-level fields
 * (400 "Extra inputs are not permitted"), as the real API does. OpenAI (chat and Responses)
 * rejects `stream_options` without `stream: true`, as the real API does.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import type { ReceivedWebhook, RecordedRequest } from './recorded-request';
import { AE_FIXTURE } from './analytics-engine-fixture';

export type { RecordedRequest };

export interface UpstreamServer {
  url: string;
  port: number;
  /** Live view of the recording (same objects /__requests serves). */
  requests: RecordedRequest[];
  close(): Promise<void>;
}

const MAX_RECORDED = 5000;
const ANTHROPIC_MIN_CACHEABLE_TOKENS = 1024;
const OPENAI_CACHE_SYSTEM_CHARS = 4096;

/** The service tier an OpenAI answer reports: the one the request asked for (flex, priority...), else default. */
const servedTier = (body: any): string => (typeof body?.service_tier === 'string' && body.service_tier !== 'auto' ? body.service_tier : 'default');

const ANTHROPIC_FIELDS = new Set([
  'model',
  'messages',
  'system',
  'max_tokens',
  'metadata',
  'stop_sequences',
  'stream',
  'temperature',
  'top_p',
  'top_k',
  'tools',
  'tool_choice',
  'thinking',
  'service_tier',
  'container',
  'mcp_servers',
  'context_management',
]);

const MODELS = ['gpt-4o-mini', 'gpt-4o', 'gpt-4.1', 'gpt-4.1-mini', 'gpt-4.1-nano', 'o3-mini', 'o4-mini', 'text-embedding-3-small', 'text-embedding-3-large'];

// ---------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
const hash = (s: string) => createHash('sha256').update(s).digest('hex');
const tokensOf = (chars: number) => Math.ceil(chars / 4);
const words = (s: string) => s.split(/\s+/).filter(Boolean);

interface Markers {
  status?: number;
  retryAfter?: string;
  echoCredentials: boolean;
  midstreamError: boolean;
  slowMs: number;
  chunkDelayMs: number;
  firstEventDelayMs: number;
  hang: boolean;
  truncateStream?: number;
  resetStream?: number;
  badChunk: boolean;
  sseComment: boolean;
  cut: boolean;
  cache?: 'read' | 'write' | 'none';
  inferenceGeo?: string;
}

/** How many requests each `upstream:first=ID:…` marker has seen. */
const firstCounts = new Map<string, number>();

/** The markers in a raw body; conditional ones (`first=`, `if-model=`) are unwrapped when they apply. */
function markers(raw: string, model: unknown): Markers {
  const conditional: string[] = [];
  for (const [, id, n, inner] of raw.matchAll(/upstream:first=([\w-]+):(\d+):([\w=.-]+)/g)) {
    const seen = firstCounts.get(id) ?? 0;
    firstCounts.set(id, seen + 1);
    if (seen < Number(n)) conditional.push(`upstream:${inner}`);
  }
  for (const [, forModel, inner] of raw.matchAll(/upstream:if-model=([\w./-]+?):([a-z-]+=?[\w.-]*)/g)) {
    if (forModel === model) conditional.push(`upstream:${inner}`);
  }
  const text = [raw.replace(/upstream:(first|if-model)=\S+?(?=["\s]|$)/g, ''), ...conditional].join(' ');
  const status = /upstream:status=(\d{3})/.exec(text);
  const retryAfter = /upstream:retry-after=([\w.-]+)/.exec(text);
  const slow = /upstream:slow=(\d+)/.exec(text);
  const chunkDelay = /upstream:chunk-delay=(\d+)/.exec(text);
  const firstEventDelay = /upstream:first-event-delay=(\d+)/.exec(text);
  const cache = /upstream:cache=(read|write|none)/.exec(text);
  const truncateStream = /upstream:truncate-stream=(\d+)/.exec(text);
  const resetStream = /upstream:reset-stream=(\d+)/.exec(text);
  const inferenceGeo = /upstream:inference-geo=([a-z]+)/.exec(text);
  return {
    status: status ? Number(status[1]) : undefined,
    retryAfter: retryAfter?.[1],
    echoCredentials: text.includes('upstream:echo-credentials'),
    midstreamError: text.includes('upstream:midstream-error'),
    slowMs: slow ? Number(slow[1]) : 0,
    chunkDelayMs: chunkDelay ? Number(chunkDelay[1]) : 0,
    firstEventDelayMs: firstEventDelay ? Number(firstEventDelay[1]) : 0,
    hang: text.includes('upstream:hang'),
    truncateStream: truncateStream ? Number(truncateStream[1]) : undefined,
    resetStream: resetStream ? Number(resetStream[1]) : undefined,
    badChunk: text.includes('upstream:bad-chunk'),
    sseComment: text.includes('upstream:sse-comment'),
    cut: text.includes('upstream:cut'),
    cache: cache ? (cache[1] as Markers['cache']) : undefined,
    inferenceGeo: inferenceGeo?.[1],
  };
}

/** Text of OpenAI or Anthropic message content (string or blocks). */
function contentText(content: unknown, opts: { textOnly?: boolean } = {}): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  const parts: string[] = [];
  for (const block of content) {
    if (typeof block === 'string') parts.push(block);
    else if (block && typeof block === 'object') {
      const b = block as Record<string, unknown>;
      if ((b.type === 'text' || b.type === 'input_text') && typeof b.text === 'string') parts.push(b.text);
      else if (opts.textOnly) continue;
      else if (b.type === 'tool_result') parts.push(contentText(b.content));
      else if (b.type === 'tool_use') parts.push(JSON.stringify(b.input ?? {}));
    }
  }
  return parts.join('\n');
}

function replyFor(lastUserText: string): string {
  return words(`Echo: ${lastUserText.slice(0, 40)}`).join(' ');
}

function toolArguments(tool: any, schemaKey: 'parameters' | 'input_schema'): Record<string, unknown> {
  const schema = (schemaKey === 'parameters' ? tool?.function?.parameters : tool?.input_schema) ?? {};
  const props: Record<string, any> = schema.properties ?? {};
  const args: Record<string, unknown> = {};
  for (const [name, prop] of Object.entries(props)) {
    const type = Array.isArray(prop?.type) ? prop.type[0] : prop?.type;
    if (type === 'number' || type === 'integer') args[name] = 1;
    else if (type === 'boolean') args[name] = true;
    else if (Array.isArray(prop?.enum) && prop.enum.length) args[name] = prop.enum[0];
    else if (type === 'string' || type === undefined) args[name] = /location|city|place/i.test(name) ? 'Paris' : 'test';
  }
  if (Object.keys(props).length === 0) args.location = 'Paris';
  return args;
}

/** Splits a string into up to n roughly equal pieces (for streaming JSON arguments). */
function pieces(s: string, n: number): string[] {
  if (s.length === 0) return [];
  const size = Math.ceil(s.length / n);
  const out: string[] = [];
  for (let i = 0; i < s.length; i += size) out.push(s.slice(i, i + size));
  return out;
}

function truncate(reply: string, maxTokens: unknown): { text: string; truncated: boolean } {
  const w = words(reply);
  if (typeof maxTokens === 'number' && maxTokens >= 0 && w.length > maxTokens) {
    return { text: w.slice(0, Math.max(1, maxTokens)).join(' '), truncated: true };
  }
  return { text: reply, truncated: false };
}

// ---------------------------------------------------------------------------------------------
// response writers
// ---------------------------------------------------------------------------------------------

class Responder {
  readonly req: http.IncomingMessage;
  readonly res: http.ServerResponse;
  readonly m: Markers;

  constructor(req: http.IncomingMessage, res: http.ServerResponse, m: Markers) {
    this.req = req;
    this.res = res;
    this.m = m;
  }

  get gone() {
    return this.res.destroyed || this.res.writableEnded;
  }

  json(status: number, body: unknown, headers: Record<string, string> = {}) {
    if (this.gone) return;
    const text = JSON.stringify(body);
    this.res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
    this.res.end(text);
  }

  /** A JSON success, honouring hang and midstream-error. */
  async jsonOk(body: unknown, headers: Record<string, string>) {
    if (this.gone) return;
    const text = JSON.stringify(body);
    if (this.m.hang) {
      this.res.writeHead(200, { 'content-type': 'application/json', ...headers });
      this.res.flushHeaders();
      return this.stall();
    }
    if (this.m.midstreamError) {
      this.res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
      this.res.write(text.slice(0, Math.floor(text.length / 2)));
      await sleep(20);
      this.res.destroy();
      return;
    }
    this.json(200, body, headers);
  }

  startStream(headers: Record<string, string>) {
    this.res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      ...headers,
    });
    this.res.flushHeaders();
  }

  private sentEvents = 0;

  async send(chunk: string) {
    if (this.sentEvents++ === 0 && this.m.firstEventDelayMs > 0) await sleep(this.m.firstEventDelayMs);
    if (this.gone) return;
    this.res.write(chunk);
    if (this.m.chunkDelayMs > 0) await sleep(this.m.chunkDelayMs);
    else await tick();
  }

  /**
   * Sends a stream's events, honouring hang, truncate-stream and reset-stream; false when one
   * of those cut it short (the caller then sends nothing more).
   */
  async sendEvents(events: string[]): Promise<boolean> {
    const cut = this.m.hang ? 3 : (this.m.truncateStream ?? this.m.resetStream);
    for (const e of cut === undefined ? events : events.slice(0, cut)) await this.send(e);
    if (cut === undefined) return true;
    if (this.m.hang) await this.stall();
    else if (this.m.resetStream !== undefined) this.res.destroy();
    else this.res.end();
    return false;
  }

  /** Never answers further; resolves when the client goes away. */
  stall(): Promise<void> {
    return new Promise((resolve) => {
      if (this.res.destroyed) return resolve();
      this.res.once('close', () => resolve());
    });
  }
}

// ---------------------------------------------------------------------------------------------
// OpenAI
// ---------------------------------------------------------------------------------------------

function openaiHeaders(): Record<string, string> {
  return {
    'x-request-id': `req_${hash(String(Math.random())).slice(0, 24)}`,
    'openai-processing-ms': '12',
    'openai-version': '2020-10-01',
    'x-ratelimit-limit-requests': '10000',
    'x-ratelimit-remaining-requests': '9999',
    'x-ratelimit-limit-tokens': '10000000',
    'x-ratelimit-remaining-tokens': '9999000',
    'x-ratelimit-reset-requests': '6ms',
    'x-ratelimit-reset-tokens': '0s',
  };
}

function openaiError(r: Responder, status: number, message?: string, param: string | null = null, codeOverride?: string | null) {
  const table: Record<number, [string, string | null, string]> = {
    400: ['invalid_request_error', null, 'Invalid request.'],
    401: ['invalid_request_error', 'invalid_api_key', 'Incorrect API key provided.'],
    403: ['invalid_request_error', 'unsupported_country_region_territory', 'Country, region, or territory not supported.'],
    404: ['invalid_request_error', 'model_not_found', 'The model does not exist or you do not have access to it.'],
    429: ['requests', 'rate_limit_exceeded', 'Rate limit reached for requests. Please try again in 1s.'],
    500: ['server_error', null, 'The server had an error while processing your request. Sorry about that!'],
    503: ['server_error', null, 'The engine is currently overloaded, please try again later.'],
  };
  const [type, code, defaultMessage] = table[status] ?? [status >= 500 ? 'server_error' : 'invalid_request_error', null, `Upstream error ${status}.`];
  const headers: Record<string, string> = openaiHeaders();
  if (status === 429) headers['retry-after'] = '1';
  if (r.m.retryAfter) headers['retry-after'] = r.m.retryAfter;
  const shown = r.m.echoCredentials
    ? `${message ?? defaultMessage} (you sent authorization: ${r.req.headers.authorization}, api_key=${String(r.req.headers.authorization).replace(/^Bearer /, '')}; Incorrect API key provided: ${String(r.req.headers.authorization).replace(/^Bearer /, '')})`
    : (message ?? defaultMessage);
  r.json(status, { error: { message: shown, type, param, code: codeOverride === undefined ? code : codeOverride } }, headers);
}

function openaiAuthFailed(req: http.IncomingMessage): boolean {
  const auth = req.headers.authorization;
  return typeof auth === 'string' && /^Bearer\s+sk-invalid/i.test(auth);
}

async function openaiChat(r: Responder, body: any) {
  if (typeof body.model !== 'string' || !body.model) return openaiError(r, 400, 'you must provide a model parameter', 'model', null);
  if (!Array.isArray(body.messages) || body.messages.length === 0) {
    return openaiError(r, 400, "Invalid 'messages': empty array. Expected an array with minimum length 1.", 'messages', 'empty_array');
  }
  if (body.stream_options != null && body.stream !== true) {
    return openaiError(r, 400, "The 'stream_options' parameter is only allowed when 'stream' is enabled.", 'stream_options', null);
  }
  const messages: any[] = body.messages;
  let chars = 0;
  for (const msg of messages) {
    chars += contentText(msg?.content).length;
    if (msg?.tool_calls) chars += JSON.stringify(msg.tool_calls).length;
  }
  const tools: any[] = Array.isArray(body.tools) ? body.tools : [];
  const promptTokens = tokensOf(chars) + 3 * messages.length + (tools.length ? tokensOf(JSON.stringify(tools).length) : 0);

  const first = messages[0];
  const firstSystem = first && (first.role === 'system' || first.role === 'developer') ? contentText(first.content) : '';
  let cached = 0;
  if (firstSystem.length > OPENAI_CACHE_SYSTEM_CHARS) cached = Math.floor((tokensOf(firstSystem.length) + 3) / 128) * 128;
  if (r.m.cache === 'read' && cached === 0) cached = Math.max(0, Math.floor(promptTokens / 128) * 128);
  if (r.m.cache === 'write' || r.m.cache === 'none') cached = 0;
  cached = Math.min(cached, promptTokens);

  const last = messages[messages.length - 1];
  const lastUser = [...messages].reverse().find((msg) => msg?.role === 'user');
  const lastUserText = contentText(lastUser?.content);
  const toolChoice = body.tool_choice;
  const wantsTool = tools.length > 0 && toolChoice !== 'none' && last?.role === 'user' && /weather/i.test(contentText(last.content, { textOnly: true }));
  const chosenTool = wantsTool
    ? ((typeof toolChoice === 'object' && toolChoice?.function?.name ? tools.find((t) => t?.function?.name === toolChoice.function.name) : undefined) ??
      tools[0])
    : undefined;

  const maxTokens = body.max_completion_tokens ?? body.max_tokens;
  let text: string | null;
  let finish: string;
  let toolCall: { id: string; type: 'function'; function: { name: string; arguments: string } } | undefined;
  let completionTokens: number;
  if (chosenTool) {
    const args = JSON.stringify(toolArguments(chosenTool, 'parameters'));
    toolCall = {
      id: `call_${hash(args + lastUserText).slice(0, 24)}`,
      type: 'function',
      function: { name: chosenTool.function?.name ?? 'tool', arguments: args },
    };
    text = null;
    finish = 'tool_calls';
    completionTokens = tokensOf(args.length) + 5;
  } else {
    const t = truncate(replyFor(lastUserText), maxTokens);
    text = t.text;
    finish = t.truncated ? 'length' : 'stop';
    completionTokens = words(text).length;
  }

  const usage = {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
    prompt_tokens_details: { cached_tokens: cached, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
  const id = `chatcmpl-${hash(JSON.stringify(body)).slice(0, 29)}`;
  const created = Math.floor(Date.now() / 1000);
  const model = body.model;

  if (body.stream !== true) {
    return r.jsonOk(
      {
        id,
        object: 'chat.completion',
        created,
        model,
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: text, refusal: null, annotations: [], ...(toolCall ? { tool_calls: [toolCall] } : {}) },
            logprobs: null,
            finish_reason: finish,
          },
        ],
        usage,
        service_tier: servedTier(body),
        system_fingerprint: 'fp_fakeupstream',
      },
      openaiHeaders(),
    );
  }

  const includeUsage = body.stream_options?.include_usage === true;
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
    `data: ${JSON.stringify({
      id,
      object: 'chat.completion.chunk',
      created,
      model,
      service_tier: servedTier(body),
      system_fingerprint: 'fp_fakeupstream',
      choices,
      ...(includeUsage ? { usage: null } : {}),
      ...extra,
    })}\n\n`;
  const delta = (d: Record<string, unknown>, finishReason: string | null = null) =>
    chunk([{ index: 0, delta: d, logprobs: null, finish_reason: finishReason }]);

  r.startStream(openaiHeaders());
  const events: string[] = [];
  if (toolCall) {
    events.push(
      delta({
        role: 'assistant',
        content: null,
        tool_calls: [{ index: 0, id: toolCall.id, type: 'function', function: { name: toolCall.function.name, arguments: '' } }],
        refusal: null,
      }),
    );
    for (const piece of pieces(toolCall.function.arguments, 3)) events.push(delta({ tool_calls: [{ index: 0, function: { arguments: piece } }] }));
  } else {
    events.push(delta({ role: 'assistant', content: '', refusal: null }));
    words(text ?? '').forEach((w, i) => events.push(delta({ content: i === 0 ? w : ` ${w}` })));
  }
  events.push(delta({}, finish));
  if (includeUsage) events.push(chunk([], { usage }));
  events.push('data: [DONE]\n\n');
  if (r.m.badChunk) events.splice(1, 0, delta({ tool_calls: [{ index: '__proto__', function: { name: 'x', arguments: '{}' } }] }), 'data: {not json\n\n');
  if (r.m.sseComment) events.splice(1, 0, ': keep-alive\n\n');

  if (r.m.midstreamError) {
    for (const e of events.slice(0, 3)) await r.send(e);
    await r.send(
      `data: ${JSON.stringify({ error: { message: 'The server had an error while processing your request. Sorry about that!', type: 'server_error', param: null, code: null } })}\n\n`,
    );
    r.res.end();
    return;
  }
  if (await r.sendEvents(events)) r.res.end();
}

async function openaiEmbeddings(r: Responder, body: any) {
  if (typeof body.model !== 'string' || !body.model) return openaiError(r, 400, 'you must provide a model parameter', 'model', null);
  const input = body.input;
  let inputs: (string | number[])[];
  if (typeof input === 'string') inputs = [input];
  else if (Array.isArray(input) && input.length > 0 && input.every((x: unknown) => typeof x === 'number')) inputs = [input as number[]];
  else if (Array.isArray(input) && input.length > 0) inputs = input;
  else return openaiError(r, 400, "'input' is a required property", 'input', null);

  const dims = typeof body.dimensions === 'number' && body.dimensions > 0 ? Math.min(body.dimensions, 3072) : 8;
  let promptTokens = 0;
  const data = inputs.map((item, index) => {
    const key = typeof item === 'string' ? item : JSON.stringify(item);
    promptTokens += typeof item === 'string' ? Math.max(1, tokensOf(item.length)) : item.length;
    const vec: number[] = [];
    for (let i = 0; i < dims; i++) vec.push(parseInt(hash(`${key}#${i}`).slice(0, 8), 16) / 0xffffffff - 0.5);
    const norm = Math.sqrt(vec.reduce((s, v) => s + v * v, 0)) || 1;
    const unit = vec.map((v) => v / norm);
    const embedding = body.encoding_format === 'base64' ? Buffer.from(new Float32Array(unit).buffer).toString('base64') : unit;
    return { object: 'embedding', index, embedding };
  });
  return r.jsonOk({ object: 'list', data, model: body.model, usage: { prompt_tokens: promptTokens, total_tokens: promptTokens } }, openaiHeaders());
}

function openaiModels(r: Responder) {
  r.json(200, { object: 'list', data: MODELS.map((id) => ({ id, object: 'model', created: 1700000000, owned_by: 'system' })) }, openaiHeaders());
}

// ---------------------------------------------------------------------------------------------
// OpenAI Responses API
// ---------------------------------------------------------------------------------------------

const RESPONSES_REASONING_TOKENS = 16;
const MAX_STORED_RESPONSES = 5000;
const SERVER_ERROR_MESSAGE = 'The server had an error while processing your request. Sorry about that!';

/** A stored response and the conversation it answered (history + its input, instructions aside). */
interface StoredResponse {
  items: any[];
  response: any;
}
type ResponsesState = Map<string, StoredResponse>;

const newId = (prefix: string) => `${prefix}_${randomBytes(24).toString('hex')}`;

/** A request's `input` as items (a string is one user message); undefined when it is neither. */
function responsesInputItems(input: unknown): any[] | undefined {
  if (input === undefined || input === null) return [];
  if (typeof input === 'string') return [{ role: 'user', content: input }];
  return Array.isArray(input) ? input : undefined;
}

/** 'message' (with or without `type: 'message'`), 'function_call', 'function_call_output', 'reasoning', … */
function itemKind(item: any): string {
  if (!item || typeof item !== 'object') return 'other';
  if (item.type === undefined || item.type === 'message') return typeof item.role === 'string' ? 'message' : 'other';
  return String(item.type);
}

/** Text of Responses message content: a string, or its input_text/output_text parts (images and files add nothing). */
function responsesContentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .filter((p) => p && (p.type === 'input_text' || p.type === 'output_text' || p.type === 'text') && typeof p.text === 'string')
    .map((p) => p.text as string)
    .join('\n');
}

/** A function_call_output's `output`: a string or a list of content parts. */
const functionOutputText = (output: unknown) => (typeof output === 'string' ? output : responsesContentText(output));

/** Characters an item adds to the input, or undefined when it counts for nothing (reasoning, unknown types). */
function itemChars(item: any): number | undefined {
  switch (itemKind(item)) {
    case 'message':
      return responsesContentText(item.content).length;
    case 'function_call':
      return String(item.name ?? '').length + String(item.arguments ?? '').length;
    case 'function_call_output':
      return functionOutputText(item.output).length;
    default:
      return undefined;
  }
}

function storeResponse(state: ResponsesState, id: string, stored: StoredResponse) {
  state.set(id, stored);
  if (state.size > MAX_STORED_RESPONSES) state.delete(state.keys().next().value!);
}

async function openaiResponses(r: Responder, body: any, state: ResponsesState) {
  if (typeof body.model !== 'string' || !body.model) return openaiError(r, 400, 'you must provide a model parameter', 'model', null);
  const input = responsesInputItems(body.input);
  if (!input) return openaiError(r, 400, "Invalid type for 'input': expected a string or an array of input items.", 'input', 'invalid_type');
  if (body.instructions != null && typeof body.instructions !== 'string') {
    return openaiError(r, 400, "Invalid type for 'instructions': expected a string.", 'instructions', 'invalid_type');
  }
  if (body.stream_options != null && body.stream !== true) {
    return openaiError(r, 400, "The 'stream_options' parameter is only allowed when 'stream' is enabled.", 'stream_options', null);
  }
  let history: any[] = [];
  if (body.previous_response_id != null) {
    const previous = state.get(String(body.previous_response_id));
    if (!previous) {
      return openaiError(r, 404, `Previous response with id '${body.previous_response_id}' not found.`, 'previous_response_id', 'previous_response_not_found');
    }
    history = [...previous.items, ...previous.response.output];
  }
  const items = [...history, ...input];

  // Input tokens: instructions are one system message, then the conversation; reasoning items count nothing.
  const counted = [...(typeof body.instructions === 'string' ? [{ role: 'system', content: body.instructions }] : []), ...items].filter(
    (item) => itemChars(item) !== undefined,
  );
  const chars = counted.reduce((sum, item) => sum + itemChars(item)!, 0);
  const tools: any[] = Array.isArray(body.tools) ? body.tools : [];
  const inputTokens = tokensOf(chars) + 3 * counted.length + (tools.length ? tokensOf(JSON.stringify(tools).length) : 0);

  const first = counted[0];
  const firstSystem = itemKind(first) === 'message' && (first.role === 'system' || first.role === 'developer') ? responsesContentText(first.content) : '';
  let cached = 0;
  if (firstSystem.length > OPENAI_CACHE_SYSTEM_CHARS) cached = Math.floor((tokensOf(firstSystem.length) + 3) / 128) * 128;
  if (r.m.cache === 'read' && cached === 0) cached = Math.max(0, Math.floor(inputTokens / 128) * 128);
  if (r.m.cache === 'write' || r.m.cache === 'none') cached = 0;
  cached = Math.min(cached, inputTokens);

  // The reply: a function call, or the echo of the last user message (or of a trailing function_call_output).
  const last = items[items.length - 1];
  const lastUser = [...items].reverse().find((item) => itemKind(item) === 'message' && item.role === 'user');
  const echoed = itemKind(last) === 'function_call_output' ? functionOutputText(last.output) : responsesContentText(lastUser?.content);
  const functionTools = tools.filter((t) => t?.type === 'function');
  const toolChoice = body.tool_choice;
  const wantsTool =
    functionTools.length > 0 &&
    toolChoice !== 'none' &&
    itemKind(last) === 'message' &&
    last.role === 'user' &&
    /weather/i.test(responsesContentText(last.content));
  const chosenTool = wantsTool
    ? ((toolChoice?.type === 'function' && toolChoice.name ? functionTools.find((t) => t.name === toolChoice.name) : undefined) ?? functionTools[0])
    : undefined;
  const reasons = body.reasoning?.effort !== 'none' && (body.reasoning != null || /^(o\d|gpt-5)/.test(body.model));

  const output: any[] = [];
  let outputTokens = 0;
  let truncated = false;
  if (reasons) {
    output.push({ id: newId('rs'), type: 'reasoning', summary: [] });
    outputTokens += RESPONSES_REASONING_TOKENS;
  }
  if (chosenTool) {
    const args = JSON.stringify(toolArguments({ function: { parameters: chosenTool.parameters } }, 'parameters'));
    output.push({
      id: newId('fc'),
      type: 'function_call',
      status: 'completed',
      arguments: args,
      call_id: `call_${randomBytes(12).toString('hex')}`,
      name: chosenTool.name ?? 'tool',
    });
    outputTokens += tokensOf(args.length) + 5;
  } else {
    const t = truncate(replyFor(echoed), body.max_output_tokens);
    truncated = t.truncated;
    output.push({
      id: newId('msg'),
      type: 'message',
      status: truncated ? 'incomplete' : 'completed',
      role: 'assistant',
      content: [{ type: 'output_text', text: t.text, annotations: [] }],
    });
    outputTokens += words(t.text).length;
  }
  const usageFor = (outTokens: number, reasoningTokens: number) => ({
    input_tokens: inputTokens,
    input_tokens_details: { cached_tokens: cached },
    output_tokens: outTokens,
    output_tokens_details: { reasoning_tokens: reasoningTokens },
    total_tokens: inputTokens + outTokens,
  });

  const id = newId('resp');
  const createdAt = Math.floor(Date.now() / 1000);
  const responseObject = (status: string, extra: Record<string, unknown> = {}) => ({
    id,
    object: 'response',
    created_at: createdAt,
    status,
    background: false,
    completed_at: null,
    error: null,
    incomplete_details: null,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    max_tool_calls: body.max_tool_calls ?? null,
    model: body.model,
    output: [],
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    previous_response_id: body.previous_response_id ?? null,
    prompt_cache_key: body.prompt_cache_key ?? null,
    reasoning: body.reasoning ?? { effort: reasons ? 'medium' : null, summary: null },
    safety_identifier: body.safety_identifier ?? null,
    service_tier: servedTier(body),
    store: body.store ?? true,
    temperature: body.temperature ?? 1,
    text: body.text ?? { format: { type: 'text' }, verbosity: 'medium' },
    tool_choice: body.tool_choice ?? 'auto',
    tools,
    top_logprobs: body.top_logprobs ?? 0,
    top_p: body.top_p ?? 1,
    truncation: body.truncation ?? 'disabled',
    usage: null,
    user: body.user ?? null,
    metadata: body.metadata ?? {},
    ...extra,
  });
  const final = responseObject(truncated ? 'incomplete' : 'completed', {
    completed_at: truncated ? null : createdAt,
    incomplete_details: truncated ? { reason: 'max_output_tokens' } : null,
    output,
    usage: usageFor(outputTokens, reasons ? RESPONSES_REASONING_TOKENS : 0),
  });
  const store = (response: unknown) => {
    if (body.store !== false) storeResponse(state, id, { items, response });
  };

  if (body.stream !== true) {
    store(final);
    if (r.m.cut && !r.m.midstreamError && !r.m.hang) {
      // A lost connection: 200 headers, half the body, then the socket is destroyed.
      const text = JSON.stringify(final);
      r.res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...openaiHeaders() });
      r.res.write(text.slice(0, Math.floor(text.length / 2)));
      await sleep(20);
      r.res.destroy();
      return;
    }
    return r.jsonOk(final, openaiHeaders());
  }

  type Event = { type: string; sequence_number: number } & Record<string, any>;
  const events: Event[] = [];
  const push = (type: string, data: Record<string, unknown>) => events.push({ type, sequence_number: events.length, ...data });
  push('response.created', { response: responseObject('in_progress') });
  push('response.in_progress', { response: responseObject('in_progress') });
  output.forEach((item, output_index) => {
    if (item.type === 'reasoning') {
      push('response.output_item.added', { output_index, item });
    } else if (item.type === 'message') {
      const part = item.content[0];
      const base = { item_id: item.id, output_index, content_index: 0 };
      push('response.output_item.added', { output_index, item: { ...item, status: 'in_progress', content: [] } });
      push('response.content_part.added', { ...base, part: { type: 'output_text', text: '', annotations: [] } });
      words(part.text).forEach((w, i) => push('response.output_text.delta', { ...base, delta: i === 0 ? w : ` ${w}`, logprobs: [] }));
      push('response.output_text.done', { ...base, text: part.text, logprobs: [] });
      push('response.content_part.done', { ...base, part });
    } else {
      push('response.output_item.added', { output_index, item: { ...item, status: 'in_progress', arguments: '' } });
      for (const piece of pieces(item.arguments, 3)) push('response.function_call_arguments.delta', { item_id: item.id, output_index, delta: piece });
      push('response.function_call_arguments.done', { item_id: item.id, output_index, arguments: item.arguments });
    }
    push('response.output_item.done', { output_index, item });
  });
  push(truncated ? 'response.incomplete' : 'response.completed', { response: final });

  const sse = (e: Event) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`;
  const chunks = (list: Event[]) => {
    const out = list.map(sse);
    if (r.m.sseComment) out.splice(1, 0, ': keep-alive\n\n');
    return out;
  };

  r.startStream(openaiHeaders());
  if (r.m.midstreamError) {
    // Start normally: up to the second text delta (or the first arguments delta), then fail.
    const deltas = events.flatMap((e, i) => (e.type === 'response.output_text.delta' || e.type === 'response.function_call_arguments.delta' ? [i] : []));
    const firstArgs = events.findIndex((e) => e.type === 'response.function_call_arguments.delta');
    const cutAt = firstArgs >= 0 ? firstArgs : (deltas[Math.min(1, deltas.length - 1)] ?? 1);
    const sent = events.slice(0, cutAt + 1);
    let soFarTokens = 0;
    let reasoningTokens = 0;
    const partial: any[] = [];
    for (const e of sent) {
      if (e.type === 'response.output_item.added') {
        if (e.item.type === 'reasoning') {
          partial.push(e.item);
          reasoningTokens = RESPONSES_REASONING_TOKENS;
        } else if (e.item.type === 'message') {
          partial.push({ ...e.item, status: 'incomplete', content: [{ type: 'output_text', text: '', annotations: [] }] });
        } else partial.push({ ...e.item, status: 'incomplete' });
      } else if (e.type === 'response.output_text.delta') {
        partial[partial.length - 1].content[0].text += e.delta;
        soFarTokens += 1;
      } else if (e.type === 'response.function_call_arguments.delta') {
        partial[partial.length - 1].arguments += e.delta;
      }
    }
    const args = partial.find((item) => item.type === 'function_call')?.arguments ?? '';
    soFarTokens += tokensOf(args.length) + reasoningTokens;
    const failed = responseObject('failed', {
      error: { code: 'server_error', message: SERVER_ERROR_MESSAGE },
      output: partial,
      usage: usageFor(soFarTokens, reasoningTokens),
    });
    store(failed);
    const error: Event = { type: 'error', sequence_number: sent.length, code: 'server_error', message: SERVER_ERROR_MESSAGE, param: null };
    const failedEvent: Event = { type: 'response.failed', sequence_number: sent.length + 1, response: failed };
    for (const chunk of chunks(sent)) await r.send(chunk);
    await r.send(sse(error));
    await r.send(sse(failedEvent));
    r.res.end();
    return;
  }
  store(final);
  // `upstream:cut`: everything but the terminal event, then a clean end.
  if (await r.sendEvents(chunks(r.m.cut ? events.slice(0, -1) : events))) r.res.end();
}

/** GET (the stored response) and DELETE (forget it) /v1/responses/{id}. */
function openaiResponseById(r: Responder, method: string, id: string, state: ResponsesState) {
  const stored = state.get(id);
  if (!stored) return openaiError(r, 404, `Response with id '${id}' not found.`, null, null);
  if (method === 'DELETE') {
    state.delete(id);
    return r.json(200, { id, object: 'response', deleted: true }, openaiHeaders());
  }
  return r.json(200, stored.response, openaiHeaders());
}

// ---------------------------------------------------------------------------------------------
// Anthropic
// ---------------------------------------------------------------------------------------------

function anthropicHeaders(): Record<string, string> {
  return {
    'request-id': `req_${hash(String(Math.random())).slice(0, 24)}`,
    'anthropic-ratelimit-requests-limit': '4000',
    'anthropic-ratelimit-requests-remaining': '3999',
    'anthropic-ratelimit-tokens-limit': '400000',
    'anthropic-ratelimit-tokens-remaining': '399000',
  };
}

function anthropicErrorType(status: number): string {
  const table: Record<number, string> = {
    400: 'invalid_request_error',
    401: 'authentication_error',
    402: 'billing_error',
    403: 'permission_error',
    404: 'not_found_error',
    413: 'request_too_large',
    429: 'rate_limit_error',
    500: 'api_error',
    504: 'timeout_error',
    529: 'overloaded_error',
  };
  return table[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
}

function anthropicError(r: Responder, status: number, message?: string) {
  const headers = anthropicHeaders();
  if (status === 429) headers['retry-after'] = '1';
  if (r.m.retryAfter) headers['retry-after'] = r.m.retryAfter;
  const type = anthropicErrorType(status);
  r.json(status, { type: 'error', error: { type, message: message ?? `Upstream ${type} (${status}).` }, request_id: headers['request-id'] }, headers);
}

/** Anthropic prompt-cache state: (model, prefix) hashes seen so far. */
type CacheState = Set<string>;

async function anthropicMessages(r: Responder, body: any, cacheState: CacheState, countOnly = false) {
  for (const key of Object.keys(body)) {
    if (!ANTHROPIC_FIELDS.has(key)) return anthropicError(r, 400, `${key}: Extra inputs are not permitted`);
  }
  if (typeof body.model !== 'string' || !body.model) return anthropicError(r, 400, 'model: Field required');
  if (!countOnly && (!Number.isInteger(body.max_tokens) || body.max_tokens < 1)) return anthropicError(r, 400, 'max_tokens: Field required (an integer >= 1)');
  if (!Array.isArray(body.messages) || body.messages.length === 0) return anthropicError(r, 400, 'messages: Field required (at least one message)');
  for (const [i, msg] of (body.messages as any[]).entries()) {
    if (msg?.role !== 'user' && msg?.role !== 'assistant') {
      return anthropicError(r, 400, `messages.${i}.role: Input should be 'user' or 'assistant'`);
    }
  }
  if (body.system !== undefined && typeof body.system !== 'string' && !Array.isArray(body.system)) {
    return anthropicError(r, 400, 'system: Input should be a valid string or list of text blocks');
  }

  // Walk tools, system, messages in cache-prefix order, measuring characters.
  const tools: any[] = Array.isArray(body.tools) ? body.tools : [];
  const segments: { chars: number; text: string; cached: boolean }[] = [];
  for (const tool of tools) {
    const json = JSON.stringify(tool);
    segments.push({ chars: 0, text: json, cached: !!tool?.cache_control });
  }
  const toolChars = tools.length ? JSON.stringify(tools).length : 0;
  const systemBlocks: any[] = typeof body.system === 'string' ? [{ type: 'text', text: body.system }] : (body.system ?? []);
  for (const block of systemBlocks) segments.push({ chars: (block?.text ?? '').length, text: block?.text ?? '', cached: !!block?.cache_control });
  for (const msg of body.messages as any[]) {
    const blocks: any[] = typeof msg.content === 'string' ? [{ type: 'text', text: msg.content }] : Array.isArray(msg.content) ? msg.content : [];
    for (const block of blocks) {
      const text = contentText([block]);
      segments.push({ chars: text.length, text: `${msg.role}:${text}`, cached: !!block?.cache_control });
    }
  }
  const textChars = segments.reduce((s, x) => s + x.chars, 0);
  const totalInput = tokensOf(textChars) + 3 * body.messages.length + tokensOf(toolChars);
  // count_tokens: the whole prompt, nothing cached or answered.
  if (countOnly) return r.jsonOk({ input_tokens: totalInput }, anthropicHeaders());

  const hasCacheControl = segments.some((s) => s.cached);
  let cacheRead = 0;
  let cacheWrite = 0;
  if (hasCacheControl && r.m.cache !== 'none') {
    let lastIdx = -1;
    segments.forEach((s, i) => {
      if (s.cached) lastIdx = i;
    });
    const prefix = segments.slice(0, lastIdx + 1);
    const prefixTools = prefix.filter((_, i) => i < tools.length);
    const prefixChars = prefix.reduce((s, x) => s + x.chars, 0) + (prefixTools.length ? JSON.stringify(tools.slice(0, prefixTools.length)).length : 0);
    const prefixTokens = Math.min(totalInput, tokensOf(prefixChars));
    if (prefixTokens >= ANTHROPIC_MIN_CACHEABLE_TOKENS || r.m.cache) {
      const key = hash(`${body.model}\n${prefix.map((s) => s.text).join('\n')}`);
      const seen = cacheState.has(key);
      cacheState.add(key);
      if (r.m.cache === 'read' || (r.m.cache !== 'write' && seen)) cacheRead = prefixTokens;
      else cacheWrite = prefixTokens;
    }
  }
  const inputTokens = totalInput - cacheRead - cacheWrite;

  const messages: any[] = body.messages;
  const last = messages[messages.length - 1];
  const lastUser = [...messages].reverse().find((m) => m.role === 'user');
  const lastUserText = contentText(lastUser?.content, { textOnly: true }) || contentText(lastUser?.content);
  const toolChoice = body.tool_choice;
  const wantsTool = tools.length > 0 && toolChoice?.type !== 'none' && last?.role === 'user' && /weather/i.test(contentText(last.content, { textOnly: true }));
  const chosenTool = wantsTool ? ((toolChoice?.type === 'tool' ? tools.find((t) => t?.name === toolChoice.name) : undefined) ?? tools[0]) : undefined;

  const content: any[] = [];
  let stopReason: string;
  let outputTokens: number;
  if (chosenTool) {
    const input = toolArguments(chosenTool, 'input_schema');
    const lead = "I'll check the weather for you.";
    content.push({ type: 'text', text: lead });
    content.push({ type: 'tool_use', id: `toolu_${hash(JSON.stringify(input) + lastUserText).slice(0, 24)}`, name: chosenTool.name ?? 'tool', input });
    stopReason = 'tool_use';
    outputTokens = words(lead).length + tokensOf(JSON.stringify(input).length) + 5;
  } else {
    const t = truncate(replyFor(lastUserText), body.max_tokens);
    content.push({ type: 'text', text: t.text });
    stopReason = t.truncated ? 'max_tokens' : 'end_turn';
    outputTokens = words(t.text).length;
  }

  const usageStart: Record<string, unknown> = { input_tokens: inputTokens, ...(r.m.inferenceGeo ? { inference_geo: r.m.inferenceGeo } : {}) };
  if (hasCacheControl) {
    usageStart.cache_creation_input_tokens = cacheWrite;
    usageStart.cache_read_input_tokens = cacheRead;
    // Writes by lifetime: all of them 1-hour when any breakpoint asks for `ttl: '1h'`.
    const oneHour = [...tools, ...systemBlocks, ...(body.messages as any[]).flatMap((m) => (Array.isArray(m.content) ? m.content : []))].some(
      (b) => b?.cache_control?.ttl === '1h',
    );
    usageStart.cache_creation = { ephemeral_5m_input_tokens: oneHour ? 0 : cacheWrite, ephemeral_1h_input_tokens: oneHour ? cacheWrite : 0 };
  }
  const id = `msg_${hash(JSON.stringify(body)).slice(0, 24)}`;
  const model = body.model;

  if (body.stream !== true) {
    return r.jsonOk(
      {
        id,
        type: 'message',
        role: 'assistant',
        model,
        content,
        stop_reason: stopReason,
        stop_sequence: null,
        usage: { ...usageStart, output_tokens: outputTokens, service_tier: 'standard' },
      },
      anthropicHeaders(),
    );
  }

  const ev = (type: string, data: Record<string, unknown>) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
  const events: string[] = [];
  events.push(
    ev('message_start', {
      message: {
        id,
        type: 'message',
        role: 'assistant',
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { ...usageStart, output_tokens: 1, service_tier: 'standard' },
      },
    }),
  );
  content.forEach((block, index) => {
    if (block.type === 'text') {
      events.push(ev('content_block_start', { index, content_block: { type: 'text', text: '' } }));
      if (index === 0) events.push(ev('ping', {}));
      words(block.text).forEach((w, i) => events.push(ev('content_block_delta', { index, delta: { type: 'text_delta', text: i === 0 ? w : ` ${w}` } })));
    } else {
      events.push(ev('content_block_start', { index, content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} } }));
      events.push(ev('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: '' } }));
      for (const piece of pieces(JSON.stringify(block.input), 3))
        events.push(ev('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: piece } }));
    }
    events.push(ev('content_block_stop', { index }));
  });
  events.push(ev('message_delta', { delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: outputTokens } }));
  events.push(ev('message_stop', {}));

  r.startStream(anthropicHeaders());
  if (r.m.midstreamError) {
    for (const e of events.slice(0, 4)) await r.send(e);
    await r.send(ev('error', { error: { type: 'overloaded_error', message: 'Overloaded' } }));
    r.res.end();
    return;
  }
  if (await r.sendEvents(events)) r.res.end();
}

// ---------------------------------------------------------------------------------------------
// the server
// ---------------------------------------------------------------------------------------------

export async function startUpstreamServer(port = 0): Promise<UpstreamServer> {
  const requests: RecordedRequest[] = [];
  const cacheState: CacheState = new Set();
  const responsesState: ResponsesState = new Map();
  const webhooks = new Map<string, ReceivedWebhook[]>();
  let seq = 0;

  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const rawBody = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://upstream.local');
    const path = url.pathname;

    if (path === '/__requests') {
      if (req.method === 'DELETE') {
        requests.length = 0;
        res.writeHead(204).end();
        return;
      }
      const contains = url.searchParams.get('contains');
      const onlyPath = url.searchParams.get('path');
      const found = requests.filter((r) => (contains === null || r.rawBody.includes(contains)) && (onlyPath === null || r.path === onlyPath));
      const text = JSON.stringify(found);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
      return;
    }
    if (/^\/client\/v4\/accounts\/[^/]+\/analytics_engine\/sql$/.test(path)) {
      requests.push({
        seq: ++seq,
        ts: Date.now(),
        method: req.method ?? 'POST',
        path,
        query: {},
        headers: { ...req.headers },
        body: null,
        rawBody,
        completed: true,
        aborted: false,
      });
      return analyticsEngineSql(res, rawBody, req.headers.authorization);
    }
    if (path.startsWith('/__webhooks/')) {
      const channel = decodeURIComponent(path.slice('/__webhooks/'.length));
      const received = webhooks.get(channel) ?? [];
      webhooks.set(channel, received);
      if (req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(received));
        return;
      }
      const status = received.length < Number(url.searchParams.get('fail') ?? 0) ? 503 : 200;
      let body: unknown = null;
      try {
        body = JSON.parse(rawBody);
      } catch {
        // Recorded as null: the test sees a body that was not JSON.
      }
      received.push({ ts: Date.now(), headers: { ...req.headers }, body, status });
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'the receiver is failing on purpose');
      return;
    }
    if (path === '/__health') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      return;
    }

    let body: any = null;
    let badJson = false;
    if (rawBody.length > 0) {
      try {
        body = JSON.parse(rawBody);
      } catch {
        badJson = true;
      }
    }
    const record: RecordedRequest = {
      seq: ++seq,
      ts: Date.now(),
      method: req.method ?? 'GET',
      path,
      query: Object.fromEntries(url.searchParams),
      headers: { ...req.headers },
      body,
      rawBody,
      completed: false,
      aborted: false,
    };
    requests.push(record);
    if (requests.length > MAX_RECORDED) requests.splice(0, requests.length - MAX_RECORDED);
    res.on('finish', () => (record.completed = true));
    res.on('close', () => {
      if (!record.completed) record.aborted = true;
    });

    const m = markers(rawBody, body?.model);
    const r = new Responder(req, res, m);
    try {
      if (m.slowMs > 0) await sleep(m.slowMs);
      if (res.destroyed) return;

      const isAnthropic = path === '/v1/messages' || path === '/v1/messages/count_tokens';
      const openaiPath = path.replace(/^\/v1(?=\/)/, '');
      const responseById = /^\/responses\/([^/]+)$/.exec(openaiPath);
      const isOpenAI = ['/chat/completions', '/embeddings', '/models', '/responses'].includes(openaiPath) || responseById !== null;

      if (isAnthropic) {
        if (req.method !== 'POST') return anthropicError(r, 405, `Method ${req.method} not allowed`);
        const key = req.headers['x-api-key'];
        if (typeof key === 'string' && key.startsWith('sk-invalid')) return anthropicError(r, 401, 'invalid x-api-key');
        if (!req.headers['anthropic-version']) return anthropicError(r, 400, 'anthropic-version: header is required');
        if (badJson || !body || typeof body !== 'object') return anthropicError(r, 400, 'There was an issue with the request body: invalid JSON');
        if (m.status) return anthropicError(r, m.status);
        return await anthropicMessages(r, body, cacheState, path === '/v1/messages/count_tokens');
      }
      if (isOpenAI) {
        if (openaiAuthFailed(req)) return openaiError(r, 401);
        if (openaiPath === '/models') {
          if (req.method !== 'GET') return openaiError(r, 405, `Method ${req.method} not allowed`);
          if (m.status) return openaiError(r, m.status);
          return openaiModels(r);
        }
        if (responseById) {
          if (req.method !== 'GET' && req.method !== 'DELETE') return openaiError(r, 405, `Method ${req.method} not allowed`);
          if (m.status) return openaiError(r, m.status);
          let id = responseById[1];
          try {
            id = decodeURIComponent(id);
          } catch {
            /* keep it raw */
          }
          return openaiResponseById(r, req.method, id, responsesState);
        }
        if (req.method !== 'POST') return openaiError(r, 405, `Method ${req.method} not allowed`);
        if (badJson || !body || typeof body !== 'object') {
          return openaiError(
            r,
            400,
            "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly.)",
          );
        }
        if (m.status) return openaiError(r, m.status);
        if (openaiPath === '/chat/completions') return await openaiChat(r, body);
        if (openaiPath === '/responses') return await openaiResponses(r, body, responsesState);
        return await openaiEmbeddings(r, body);
      }
      return openaiError(r, 404, `Unknown request URL: ${req.method} ${path}.`, null, 'unknown_url');
    } catch (err) {
      if (!res.headersSent) openaiError(r, 500, `fake upstream crashed: ${(err as Error).stack ?? err}`);
      else res.destroy();
    }
  });

  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const actual = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${actual}`,
    port: actual,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

// `node --experimental-strip-types test/support/upstream-server.ts [port]` runs it standalone.
if (import.meta.url === `file://${process.argv[1]}`) {
  const server = await startUpstreamServer(Number(process.argv[2] ?? 0));
  console.log(`fake upstream listening on ${server.url}`);
}

/**
 * A stand-in for the Analytics Engine SQL API: it checks the token and answers fixed numbers in
 * the API's JSON shape (`{"data": [...]}`), one row per query, in the first bucket of the window
 * for grouped queries. It does not evaluate SQL: tests check the SQL the proxy sent and how the
 * proxy maps the answer.
 */

function analyticsEngineSql(res: http.ServerResponse, sql: string, authorization: string | undefined): void {
  if (authorization !== 'Bearer ae-test-token') {
    res.writeHead(401, { 'content-type': 'application/json' }).end('{"errors":[{"message":"Authentication error"}]}');
    return;
  }
  const from = Number(/timestamp >= toDateTime\((\d+)\)/.exec(sql)?.[1] ?? 0);
  const step = Number(/intDiv\(toUInt32\(timestamp\), (\d+)\)/.exec(sql)?.[1] ?? 0);
  const grouped = step ? { bucket: Math.floor(from / step) * step, key: 'all' } : {};
  const row = sql.includes('double8') && sql.includes('quantile') ? AE_FIXTURE.ttft : sql.includes('quantile') ? AE_FIXTURE.latency : AE_FIXTURE.sums;
  const text = JSON.stringify({ meta: [], data: [{ ...row, ...grouped }], rows: 1 });
  res.writeHead(200, { 'content-type': 'application/json' }).end(text);
}
