#!/usr/bin/env node
/**
 * `npm run bench:cpu [-- --profile]`: the CPU cost of the proxy's own request path (parse,
 * auth, route, meter, log) per call, with 4 KB and 1 MiB bodies, plain and streaming, under
 * Node's V8 (the engine workerd runs; inside a Worker, timers only advance across I/O).
 *
 * The real Hono app (proxy/app.ts, bundled by esbuild) handles each call end to end: reading
 * and parsing the body, key lookup, routing, limits, the upstream call, metering the answer and
 * building the log row. Only what lies outside the Worker is stood in for: `fetch` answers at
 * once with a canned OpenAI response, and the D1, KV and Analytics Engine bindings accept
 * every call without doing work, since in production that work happens in those services, not
 * in the Worker. The baseline, measured the same way, is a bare pass-through handler. Target:
 * under 1 ms at 4 KB and under 5 ms at 1 MiB. `--profile` writes a V8 CPU profile.
 */
import { timingSafeEqual } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Session } from 'node:inspector/promises';
import { build } from 'esbuild';
import { chatBody } from './bodies.mjs';
import { ADMIN_TOKEN, root } from './lean-runtime.mjs';

const PROFILE = process.argv.includes('--profile');

/**
 * A Worker's fetch handler, and the context it is given.
 * @typedef {{ waitUntil(promise: Promise<unknown>): void, passThroughOnException(): void, props: object }} Ctx
 * @typedef {{ fetch(request: Request, env: Bindings, ctx: Ctx): Response | Promise<Response> }} Handler
 * @typedef {ReturnType<typeof bindings>} Bindings
 */

/**
 * Bundles proxy/app.ts for Node, with the one Workers-only import stood in for.
 * @param {string} outdir
 * @returns {Promise<Handler>}
 */
async function loadApp(outdir) {
  const outfile = join(outdir, 'app.mjs');
  await build({
    entryPoints: [join(root, 'proxy/app.ts')],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node22',
    logLevel: 'warning',
    plugins: [
      {
        name: 'cloudflare-workers-stub',
        setup(b) {
          b.onResolve({ filter: /^cloudflare:workers$/ }, () => ({ path: 'cloudflare:workers', namespace: 'stub' }));
          b.onLoad({ filter: /.*/, namespace: 'stub' }, () => ({ contents: 'export class DurableObject {}', loader: 'js' }));
        },
      },
    ],
  });
  return (await import(outfile)).app;
}

/** Bindings that answer at once: their own work happens outside the Worker. */
function bindings() {
  /** @type {Map<string, string>} */
  const kv = new Map();
  const statement = {
    bind() {
      return statement;
    },
    first: async () => null,
    all: async () => ({ results: [] }),
    run: async () => ({ results: [], meta: { changes: 1 } }),
  };
  return {
    DB: { prepare: () => statement, batch: async (/** @type {unknown[]} */ statements) => statements.map(() => ({ results: [], meta: { changes: 1 } })) },
    KV: {
      /** @type {(key: string, type?: string) => Promise<unknown>} */
      get: async (key, type) => (kv.has(key) ? (type === 'json' ? JSON.parse(/** @type {string} */ (kv.get(key))) : kv.get(key)) : null),
      /** @type {(key: string, value: string) => Promise<void>} */
      put: async (key, value) => void kv.set(key, value),
      /** @type {(key: string) => Promise<void>} */
      delete: async (key) => void kv.delete(key),
    },
    AE: { writeDataPoint() {} },
    ADMIN_TOKEN,
    OPENAI_API_KEY: 'sk-bench',
    OPENAI_BASE_URL: 'http://upstream.bench/v1',
    CHEAP_MODEL: 'openai/gpt-4o-mini',
    EXPENSIVE_MODEL: 'openai/gpt-4o',
    REQUEST_LOG_SINK: 'd1',
  };
}

const CHUNKS = 20;
const usage = { prompt_tokens: 1000, completion_tokens: CHUNKS, total_tokens: 1000 + CHUNKS, prompt_tokens_details: { cached_tokens: 0 } };
const plainAnswer = JSON.stringify({
  id: 'c',
  object: 'chat.completion',
  created: 1,
  model: 'gpt-4o-mini',
  choices: [{ index: 0, message: { role: 'assistant', content: 'word '.repeat(CHUNKS).trim() }, finish_reason: 'stop' }],
  usage,
});
/** @param {object} o */
const sse = (o) => `data: ${JSON.stringify(o)}\n\n`;
const streamAnswer = [
  sse({
    id: 'c',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'gpt-4o-mini',
    choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }],
  }),
  ...Array.from({ length: CHUNKS }, () =>
    sse({
      id: 'c',
      object: 'chat.completion.chunk',
      created: 1,
      model: 'gpt-4o-mini',
      choices: [{ index: 0, delta: { content: ' word' }, finish_reason: null }],
    }),
  ),
  sse({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini', choices: [], usage }),
  'data: [DONE]\n\n',
].map((s) => new TextEncoder().encode(s));

// Workers' constant-time compare (used by the admin API), from Node's own.
/** @type {SubtleCrypto & { timingSafeEqual?: (a: ArrayBuffer, b: ArrayBuffer) => boolean }} */ (crypto.subtle).timingSafeEqual ??= (a, b) =>
  timingSafeEqual(new Uint8Array(a), new Uint8Array(b));

const encoder = new TextEncoder();

/**
 * Whether a body asks for a stream: bodies.mjs puts `stream` first, so its start says.
 * @param {Uint8Array} bytes
 */
const asksForStream = (bytes) => new TextDecoder().decode(bytes.subarray(0, 32)).includes('"stream":true');

/**
 * The upstream. A string body is encoded to bytes, as a runtime's fetch does before sending it
 * (that is the Worker's work); bytes and a streamed body are passed on as they are, as a
 * runtime pipes them.
 * @param {unknown} _url
 * @param {{ body?: unknown, headers: { get?(name: string): string | null } }} init what the app and the bare handler pass
 * @returns {Promise<Response>}
 */
const upstreamFetch = async (_url, init) => {
  const stream =
    typeof init.body === 'string'
      ? asksForStream(encoder.encode(init.body))
      : init.body instanceof Uint8Array
        ? asksForStream(init.body)
        : init.headers.get?.('x-stream') === 'true';
  if (!stream) return new Response(plainAnswer, { headers: { 'content-type': 'application/json' } });
  return new Response(
    new ReadableStream({
      start(c) {
        for (const part of streamAnswer) c.enqueue(part);
        c.close();
      },
    }),
    { headers: { 'content-type': 'text/event-stream' } },
  );
};
globalThis.fetch = /** @type {typeof fetch} */ (upstreamFetch);

/**
 * A bare pass-through, measured the same way.
 * @type {Handler}
 */
const bare = { fetch: (request) => fetch('http://upstream.bench/v1/chat/completions', { method: 'POST', headers: request.headers, body: request.body }) };

/** @returns {{ ctx: Ctx, settled: () => Promise<unknown[]> }} */
function context() {
  /** @type {Promise<unknown>[]} */
  const pending = [];
  return { ctx: { waitUntil: (p) => pending.push(p), passThroughOnException() {}, props: {} }, settled: () => Promise.all(pending) };
}

/**
 * One call, answered and read; resolves with its work left for after the response (the log
 * write, in ctx.waitUntil), which runs on while the next calls are made, as in a Worker.
 * @param {Handler} handler
 * @param {Bindings} env
 * @param {Uint8Array<ArrayBuffer>} body
 * @param {Record<string, string>} headers
 */
async function call(handler, env, body, headers) {
  const { ctx, settled } = context();
  // The body arrives as bytes, as off the network.
  const response = await handler.fetch(new Request('http://proxy.bench/v1/chat/completions', { method: 'POST', headers, body }), env, ctx);
  await response.arrayBuffer();
  if (response.status !== 200) throw new Error(`status ${response.status}`);
  // Wrapped, or this async function's promise would wait for it.
  return { leftover: settled() };
}

/**
 * CPU time (user + system) per call, in ms: after a warm-up, the median of seven batches of
 * `calls` calls, so that a garbage collection landing in one batch does not decide the result.
 * @param {Handler} handler
 * @param {Bindings} env
 * @param {Uint8Array<ArrayBuffer>} body
 * @param {Record<string, string>} headers
 * @param {number} calls
 */
async function cpuPerCall(handler, env, body, headers, calls) {
  /** @param {number} count */
  const run = async (count) => {
    /** @type {Promise<unknown[]>[]} */
    const leftovers = [];
    for (let i = 0; i < count; i++) leftovers.push((await call(handler, env, body, headers)).leftover);
    // Every call's work is done, and counted, before the batch's time is read.
    await Promise.all(leftovers);
  };
  await run(Math.min(200, calls));
  const batches = [];
  for (let batch = 0; batch < 7; batch++) {
    const before = process.cpuUsage();
    await run(calls);
    const used = process.cpuUsage(before);
    batches.push((used.user + used.system) / 1000 / calls);
  }
  return batches.sort((a, b) => a - b)[3];
}

const outdir = mkdtempSync(join(tmpdir(), 'ai-proxy-cpu-'));
try {
  const app = await loadApp(outdir);
  const env = bindings();
  const created = await app.fetch(
    new Request('http://proxy.bench/admin/tenants', {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'bench' }),
    }),
    env,
    context().ctx,
  );
  const createdBody = await created.json();
  if (created.status !== 201) throw new Error(`creating the tenant: ${created.status} ${JSON.stringify(createdBody)}`);
  const { api_key: apiKey } = createdBody;
  const auth = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' };

  let session;
  if (PROFILE) {
    session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
  }
  console.log(`Node ${process.version}. CPU per call (user + system), the proxy's request path against a bare pass-through:\n`);
  console.log('| body | mode | bare pass-through | proxy | request path (proxy − bare) | target |');
  console.log('| --- | --- | ---: | ---: | ---: | --- |');
  for (const [label, bytes, calls, target] of /** @type {[string, number, number, number][]} */ ([
    ['4 KB', 4 * 1024, 1000, 1],
    ['1 MiB', 1024 * 1024 - 512, 60, 5],
  ])) {
    for (const stream of [false, true]) {
      const body = encoder.encode(chatBody(bytes, stream));
      const length = { 'content-length': String(body.byteLength) };
      const bareMs = await cpuPerCall(bare, env, body, { 'content-type': 'application/json', 'x-stream': String(stream), ...length }, calls);
      const proxyMs = await cpuPerCall(app, env, body, { ...auth, ...length }, calls);
      const path = proxyMs - bareMs;
      console.log(
        `| ${label} | ${stream ? 'stream' : 'plain'} | ${bareMs.toFixed(3)} ms | ${proxyMs.toFixed(3)} ms | ${path.toFixed(3)} ms | < ${target} ms ${path < target ? 'ok' : '**over**'} |`,
      );
    }
  }
  if (session) {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(join(root, 'request-path.cpuprofile'), JSON.stringify(profile));
    console.log('\nCPU profile: request-path.cpuprofile');
  }
} finally {
  rmSync(outdir, { recursive: true, force: true });
}
