/**
 * Workers for the benchmarks, served by Miniflare straight from workerd on a loopback port: no
 * `wrangler dev` (nor wrangler's test harness, which goes through the same dev proxy), whose
 * own proxy costs about 11 ms a call, more than anything measured (STACK.md in the shared notes).
 *
 * - startProxy(): the proxy bundled from proxy/index.ts by esbuild, with the bindings of
 *   wrangler.jsonc (local D1, KV, Analytics Engine, Durable Objects, queue) in memory, the
 *   migrations applied, and a tenant created through its admin API.
 * - startBareWorker(): the baseline (bare-worker.mjs), passing bodies through natively or, with
 *   `readInJs`, reading the answer in JavaScript.
 * Each runs in its own workerd process, whose id is kept so CPU time can be read from /proc.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { unstable_getMiniflareWorkerOptions, unstable_splitSqlQuery } from 'wrangler';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** As a deployment's: the proxy refuses an admin token under 32 characters outside local development. */
export const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef';

/**
 * The part of a D1 binding the benchmarks use, as workerd's types describe it (those types
 * cannot be loaded beside Node's: the two sets of globals clash).
 * @typedef {{ prepare(query: string): D1Statement, batch(statements: D1Statement[]): Promise<D1RunResult[]> }} D1
 * @typedef {{ meta: { changes: number, rows_written: number, size_after: number } }} D1RunResult
 * @typedef {{ bind(...values: unknown[]): D1Statement, first(): Promise<Record<string, unknown> | null>, all(): Promise<{ results: Record<string, unknown>[] }>, run(): Promise<D1RunResult> }} D1Statement
 */

/** Process ids of this process's workerd children. */
function workerdChildren() {
  const pids = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === process.pid && stat.includes('(workerd)')) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/**
 * User + system CPU time of a process (all its threads), in milliseconds.
 * @param {number} pid
 */
export function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime, fields 14 and 15 of stat, in clock ticks (100 per second on Linux).
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

// The Miniflare that wrangler itself runs (so the same workerd), driven with the options
// format wrangler uses (v4), converted for Miniflare 5 as wrangler does. Typed by what is used
// here: the miniflare at the top of node_modules, whose types tsc would find, is another version.
/**
 * @typedef {{ ready: Promise<URL>, getD1Database(bindingName: string): Promise<D1>, dispose(): Promise<void> }} MiniflareInstance
 * @typedef {{ Miniflare: new (options: unknown) => MiniflareInstance, convertV4MiniflareOptions(options: object): unknown }} MiniflareModule
 */
const { Miniflare, convertV4MiniflareOptions } = /** @type {MiniflareModule} */ (createRequire(import.meta.resolve('wrangler'))('miniflare'));

/** @typedef {{ mf: MiniflareInstance, url: string, pid: number, dispose: () => Promise<void> }} StartedWorker */

/**
 * Starts one Worker in its own Miniflare (its own workerd process, in-memory storage) on a loopback port.
 * @param {object} worker Miniflare (v4) options of the Worker
 * @param {{ inspectorPort?: number }} [options]
 * @returns {Promise<StartedWorker>}
 */
async function started(worker, { inspectorPort } = {}) {
  const before = new Set(workerdChildren());
  const mf = new Miniflare(
    convertV4MiniflareOptions({ host: '127.0.0.1', port: 0, inspectorPort, workers: [{ modules: true, compatibilityDate: '2026-10-01', ...worker }] }),
  );
  const url = (await mf.ready).toString().replace(/\/$/, '');
  const pid = /** @type {number} */ (workerdChildren().find((p) => !before.has(p)));
  return { mf, url, pid, dispose: () => mf.dispose() };
}

/**
 * @param {string} upstreamUrl
 * @param {{ readInJs?: boolean }} [options]
 */
export function startBareWorker(upstreamUrl, { readInJs = false } = {}) {
  const bindings = { UPSTREAM: upstreamUrl, ...(readInJs ? { READ_IN_JS: '1' } : {}) };
  return started({ name: readInJs ? 'bare-js-read' : 'bare', scriptPath: join(root, 'bench/bare-worker.mjs'), bindings });
}

/**
 * The proxy (or `entry`, a Worker around it) bundled as `wrangler deploy` would, by esbuild, into `outdir`.
 * @param {string} outdir
 * @param {string} entry
 */
async function bundleProxy(outdir, entry) {
  const outfile = join(outdir, 'proxy.mjs');
  await build({
    entryPoints: [join(root, entry)],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['module', 'main'],
    external: ['cloudflare:*', 'node:*'],
    logLevel: 'warning',
  });
  return outfile;
}

/**
 * Applies migrations/*.sql in order, split into statements as wrangler splits them.
 * @param {D1} db
 */
async function migrate(db) {
  for (const file of readdirSync(join(root, 'migrations'))
    .filter((f) => f.endsWith('.sql'))
    .sort()) {
    const statements = unstable_splitSqlQuery(readFileSync(join(root, 'migrations', file), 'utf8'));
    await db.batch(statements.map((statement) => db.prepare(statement)));
  }
}

/**
 * The proxy on `upstreamUrl` (an OpenAI- and Anthropic-compatible server, upstream.mjs: both
 * providers' base URLs point at it), with wrangler.jsonc's bindings and
 * `vars` on top of its vars, its migrations applied, and a tenant with `tenantSettings`. `entry`
 * replaces proxy/index.ts by a Worker that wraps it (bench/scale-worker.ts).
 * @param {string} upstreamUrl
 * @param {{ outdir: string, vars?: Record<string, string>, tenantSettings?: Record<string, unknown>, inspectorPort?: number, entry?: string }} options
 */
export async function startProxy(upstreamUrl, { outdir, vars = {}, tenantSettings = {}, inspectorPort, entry = 'proxy/index.ts' }) {
  const scriptPath = await bundleProxy(outdir, entry);
  // The bindings of wrangler.jsonc; module rules do not apply to a single bundled file.
  const { modulesRules: _rules, ...workerOptions } = unstable_getMiniflareWorkerOptions(join(root, 'wrangler.jsonc')).workerOptions;
  const worker = await started(
    {
      ...workerOptions,
      name: 'ai-cost-proxy',
      scriptPath,
      modulesRoot: outdir,
      // The dashboard's assets are not on the request path measured.
      assets: undefined,
      bindings: {
        // Typed `unknown` by wrangler's declarations; miniflare's are Record<string, Json>.
        .../** @type {Record<string, unknown> | undefined} */ (workerOptions.bindings),
        ADMIN_TOKEN,
        OPENAI_BASE_URL: `${upstreamUrl}/v1`,
        OPENAI_API_KEY: 'sk-bench-upstream',
        ANTHROPIC_BASE_URL: upstreamUrl,
        ANTHROPIC_API_KEY: 'sk-ant-bench-upstream',
        CHEAP_MODEL: 'openai/gpt-4o-mini',
        EXPENSIVE_MODEL: 'openai/gpt-4o',
        ...vars,
      },
    },
    { inspectorPort },
  );
  const db = await worker.mf.getD1Database('DB');
  await migrate(db);
  const created = await fetch(`${worker.url}/admin/tenants`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'bench', ...tenantSettings }),
  });
  if (created.status !== 201) throw new Error(`creating the bench tenant: ${created.status} ${await created.text()}`);
  const { api_key: apiKey, id: tenantId } = /** @type {{ api_key: string, id: string }} */ (await created.json());
  return { ...worker, db, apiKey, tenantId };
}

/**
 * Records a V8 CPU profile of the Worker `name` in workerd (through its inspector on
 * `inspectorPort`) while `work` runs; resolves with the profile.
 * @param {number} inspectorPort
 * @param {string} name
 * @param {() => Promise<unknown>} work
 * @returns {Promise<unknown>}
 */
export async function profileWorker(inspectorPort, name, work) {
  /** @type {{ id?: string, title?: string, webSocketDebuggerUrl: string }[]} */
  const targets = await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json();
  const target = targets.find((t) => t.id?.includes(name) || t.title?.includes(name)) ?? targets[0];
  const socket = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => ((socket.onopen = resolve), (socket.onerror = reject)));
  let id = 0;
  /** @type {Map<number, (result: { profile?: unknown }) => void>} */
  const pending = new Map();
  socket.onmessage = (message) => {
    const reply = JSON.parse(message.data);
    if (reply.id) pending.get(reply.id)?.(reply.result);
  };
  /** @type {(method: string, params?: object) => Promise<{ profile?: unknown }>} */
  const send = (method, params = {}) => new Promise((resolve) => (pending.set(++id, resolve), socket.send(JSON.stringify({ id, method, params }))));
  await send('Profiler.enable');
  await send('Profiler.setSamplingInterval', { interval: 100 });
  await send('Profiler.start');
  await work();
  const { profile } = await send('Profiler.stop');
  socket.close();
  return profile;
}
