#!/usr/bin/env node
/**
 * The benchmarks' upstream: a minimal OpenAI-compatible chat endpoint that answers at once,
 * so that what is measured is what sits in front of it. Plain calls get a small completion
 * with usage; `stream: true` gets STREAM_CHUNKS content chunks, a usage chunk and [DONE], each
 * written as its own event. It reads every request body whole (the proxy forwards up to 1 MiB).
 * Run as a child process: it prints `listening <port>` and serves until killed.
 */
import http from 'node:http';

const STREAM_CHUNKS = 20;
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

const server = http.createServer((req, res) => {
  let size = 0;
  let head = '';
  req.on('data', (data) => {
    size += data.length;
    if (head.length < 200) head += data.toString('latin1', 0, 200);
  });
  req.on('end', () => {
    // The benchmarks put `stream` first in their bodies; the proxy keeps the order of fields.
    const stream = /"stream"\s*:\s*true/.test(head);
    const promptTokens = Math.max(1, Math.ceil(size / 4));
    const id = 'chatcmpl-bench';
    if (!stream) {
      const body = JSON.stringify({
        id,
        object: 'chat.completion',
        created: 1,
        model: 'gpt-4o-mini',
        choices: [{ index: 0, message: { role: 'assistant', content: 'word '.repeat(STREAM_CHUNKS).trim() }, finish_reason: 'stop' }],
        usage: usage(promptTokens),
      });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.write(chunk(id, { role: 'assistant', content: '' }));
    for (let i = 0; i < STREAM_CHUNKS; i++) res.write(chunk(id, { content: i ? ' word' : 'word' }));
    res.write(chunk(id, {}, 'stop'));
    res.write(
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini', choices: [], usage: usage(promptTokens) })}\n\n`,
    );
    res.end('data: [DONE]\n\n');
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => console.log(`listening ${/** @type {import('node:net').AddressInfo} */ (server.address()).port}`));
