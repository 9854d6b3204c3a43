#!/usr/bin/env node
/**
 * The benchmarks' upstream: a minimal OpenAI- and Anthropic-compatible server that answers at
 * once, so that what is measured is what sits in front of it. Every answer is the same
 * STREAM_CHUNKS words, in each API's own shape:
 *
 * - `POST /v1/chat/completions`: a small completion with usage; or, with `stream: true`,
 *   STREAM_CHUNKS content chunks between a role chunk and a finish chunk, a usage chunk and
 *   [DONE] (24 events).
 * - `POST /v1/responses`: a Response with usage; or, streamed, OpenAI's named events:
 *   response.created, response.in_progress, output_item.added, content_part.added, one
 *   output_text.delta per word, output_text.done, content_part.done, output_item.done and
 *   response.completed carrying the whole Response and its usage, no [DONE] (28 events).
 * - `POST /v1/messages`: an Anthropic Message; or, streamed, Anthropic's events: message_start
 *   (input usage), content_block_start, ping, one content_block_delta per word,
 *   content_block_stop, message_delta (output usage) and message_stop (26 events).
 *
 * Each event is written on its own. It reads every request body whole (the proxy forwards up to
 * 1 MiB); prompt tokens are the body's size / 4. Run as a child process: it prints
 * `listening <port>` and serves until killed.
 */
import http from 'node:http';

const STREAM_CHUNKS = 20;
/** The answer's words, as each delta carries them. */
const WORDS = Array.from({ length: STREAM_CHUNKS }, (_, i) => (i ? ' word' : 'word'));
const TEXT = WORDS.join('');
let served = 0;

/** @param {number} promptTokens */
const usage = (promptTokens) => ({
  prompt_tokens: promptTokens,
  completion_tokens: STREAM_CHUNKS,
  total_tokens: promptTokens + STREAM_CHUNKS,
  prompt_tokens_details: { cached_tokens: 0 },
});
/**
 * @param {string} id
 * @param {object} delta
 * @param {string | null} [finish]
 */
const chunk = (id, delta, finish = null) =>
  `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
/**
 * One named SSE event, as Responses and Messages streams send them.
 * @param {string} type
 * @param {object} data
 */
const named = (type, data) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;

/**
 * @param {http.ServerResponse} res
 * @param {string} body
 */
function json(res, body) {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/**
 * @param {http.ServerResponse} res
 * @param {string[]} events
 */
function stream(res, events) {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  for (const event of events.slice(0, -1)) res.write(event);
  res.end(events.at(-1));
}

/**
 * @param {http.ServerResponse} res
 * @param {boolean} streamed
 * @param {number} promptTokens
 */
function chatCompletions(res, streamed, promptTokens) {
  const id = 'chatcmpl-bench';
  if (!streamed) {
    const body = JSON.stringify({
      id,
      object: 'chat.completion',
      created: 1,
      model: 'gpt-4o-mini',
      choices: [{ index: 0, message: { role: 'assistant', content: 'word '.repeat(STREAM_CHUNKS).trim() }, finish_reason: 'stop' }],
      usage: usage(promptTokens),
    });
    return json(res, body);
  }
  stream(res, [
    chunk(id, { role: 'assistant', content: '' }),
    ...WORDS.map((word) => chunk(id, { content: word })),
    chunk(id, {}, 'stop'),
    `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini', choices: [], usage: usage(promptTokens) })}\n\n`,
    'data: [DONE]\n\n',
  ]);
}

/**
 * A Response as OpenAI writes one (the fields of gpt-4o-mini's, with a unique id per call: the
 * proxy keeps one entry per response id).
 * @param {http.ServerResponse} res
 * @param {boolean} streamed
 * @param {number} promptTokens
 */
function responses(res, streamed, promptTokens) {
  const id = `resp_bench${(++served).toString(16).padStart(12, '0')}`;
  const itemId = `msg_bench${served.toString(16).padStart(12, '0')}`;
  /**
   * @param {string} status
   * @param {object} [extra]
   */
  const response = (status, extra = {}) => ({
    id,
    object: 'response',
    created_at: 1,
    status,
    background: false,
    error: null,
    incomplete_details: null,
    instructions: null,
    max_output_tokens: null,
    max_tool_calls: null,
    model: 'gpt-4o-mini-2024-07-18',
    output: [],
    parallel_tool_calls: true,
    previous_response_id: null,
    prompt_cache_key: null,
    reasoning: { effort: null, summary: null },
    safety_identifier: null,
    service_tier: 'default',
    store: true,
    temperature: 1,
    text: { format: { type: 'text' }, verbosity: 'medium' },
    tool_choice: 'auto',
    tools: [],
    top_logprobs: 0,
    top_p: 1,
    truncation: 'disabled',
    usage: null,
    user: null,
    metadata: {},
    ...extra,
  });
  const part = { type: 'output_text', annotations: [], logprobs: [], text: TEXT };
  const item = { id: itemId, type: 'message', status: 'completed', content: [part], role: 'assistant' };
  const final = response('completed', {
    output: [item],
    usage: {
      input_tokens: promptTokens,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: STREAM_CHUNKS,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: promptTokens + STREAM_CHUNKS,
    },
  });
  if (!streamed) return json(res, JSON.stringify(final));
  let sequence = 0;
  /**
   * @param {string} type
   * @param {object} data
   */
  const event = (type, data) => named(type, { sequence_number: sequence++, ...data });
  const at = { item_id: itemId, output_index: 0, content_index: 0 };
  stream(res, [
    event('response.created', { response: response('in_progress') }),
    event('response.in_progress', { response: response('in_progress') }),
    event('response.output_item.added', { output_index: 0, item: { ...item, status: 'in_progress', content: [] } }),
    event('response.content_part.added', { ...at, part: { ...part, text: '' } }),
    ...WORDS.map((delta) => event('response.output_text.delta', { ...at, delta, logprobs: [] })),
    event('response.output_text.done', { ...at, text: TEXT, logprobs: [] }),
    event('response.content_part.done', { ...at, part }),
    event('response.output_item.done', { output_index: 0, item }),
    event('response.completed', { response: final }),
  ]);
}

/**
 * A Message as Anthropic writes one.
 * @param {http.ServerResponse} res
 * @param {boolean} streamed
 * @param {number} promptTokens
 */
function messages(res, streamed, promptTokens) {
  const id = `msg_bench${(++served).toString(16).padStart(16, '0')}`;
  const model = 'claude-haiku-4-5-20251001';
  const inputUsage = { input_tokens: promptTokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
  if (!streamed) {
    const message = {
      id,
      type: 'message',
      role: 'assistant',
      model,
      content: [{ type: 'text', text: TEXT }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { ...inputUsage, output_tokens: STREAM_CHUNKS, service_tier: 'standard' },
    };
    return json(res, JSON.stringify(message));
  }
  stream(res, [
    named('message_start', {
      message: {
        id,
        type: 'message',
        role: 'assistant',
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { ...inputUsage, output_tokens: 1, service_tier: 'standard' },
      },
    }),
    named('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
    named('ping', {}),
    ...WORDS.map((text) => named('content_block_delta', { index: 0, delta: { type: 'text_delta', text } })),
    named('content_block_stop', { index: 0 }),
    named('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: STREAM_CHUNKS } }),
    named('message_stop', {}),
  ]);
}

const server = http.createServer((req, res) => {
  let size = 0;
  let head = '';
  req.on('data', (data) => {
    size += data.length;
    if (head.length < 200) head += data.toString('latin1', 0, 200);
  });
  req.on('end', () => {
    // The benchmarks put `stream` first in their bodies; the proxy keeps the order of fields.
    const streamed = /"stream"\s*:\s*true/.test(head);
    const promptTokens = Math.max(1, Math.ceil(size / 4));
    const path = (req.url ?? '').split('?', 1)[0];
    if (path.endsWith('/responses')) responses(res, streamed, promptTokens);
    else if (path.endsWith('/messages')) messages(res, streamed, promptTokens);
    else chatCompletions(res, streamed, promptTokens);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => console.log(`listening ${/** @type {import('node:net').AddressInfo} */ (server.address()).port}`));
