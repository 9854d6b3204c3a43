#!/usr/bin/env node
/**
 * `npm run bench:analytics [-- --rows N] [--skip-raw]`: seeds N (default 1,000,000) request-log rows spread
 * over 30 days into a fresh local D1, starts the real server on it (as `npm start` does), and
 * times the dashboard's analytics queries for a 30-day window through the admin API: first with
 * raw rows only, then after the cron rollup has run. Each median is printed as a ratio of
 * GET /health measured in the same run (the floor: wrangler dev's own proxy). Target: 200 ms.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getPlatformProxy } from 'wrangler';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const rowsArg = process.argv.indexOf('--rows');
const ROWS = rowsArg > 0 ? Number(process.argv[rowsArg + 1]) : 1_000_000;
const DAY = 86_400_000;
const TARGET_MS = 200;
const TOKEN = 'bench-token';
const state = mkdtempSync(join(tmpdir(), 'ai-proxy-bench-'));
const env = { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: 'true' };
/** @type {import('node:child_process').ChildProcessByStdio<null, import('node:stream').Readable, import('node:stream').Readable> | undefined} */
let server;

function cleanUp() {
  if (server && server.exitCode === null) {
    try {
      process.kill(-(/** @type {number} */ (server.pid)), 'SIGTERM');
    } catch {
      /* already gone */
    }
  }
  rmSync(state, { recursive: true, force: true });
}
process.on('exit', cleanUp);
process.on('SIGINT', () => process.exit(130));

/** @returns {Promise<number>} */
const freePort = () =>
  new Promise((done) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (s.address());
      s.close(() => done(port));
    });
  });

// A small seeded PRNG, so every run seeds the same data.
let prngState = 12345;
const random = () => (prngState = (prngState * 16807) % 2147483647) / 2147483647;

const TENANTS = Array.from({ length: 20 }, (_, i) => `ten_bench${String(i).padStart(2, '0')}`);
/** @type {[model: string, provider: string, tier: string, inPico: number, outPico: number][]} */
const MODELS = [
  ['mock/mock-mini', 'mock', 'cheap', 150, 600],
  ['openai/gpt-4o-mini', 'openai', 'cheap', 150, 600],
  ['anthropic/claude-haiku-4-5', 'anthropic', 'cheap', 1000, 5000],
  ['openai/gpt-4o', 'openai', 'expensive', 2500, 10000],
  ['anthropic/claude-sonnet-4-5', 'anthropic', 'expensive', 3000, 15000],
];

/**
 * @param {number} i
 * @param {number} now
 */
function row(i, now) {
  const cheap = random() < 0.7;
  const [model, provider, tier, inPico, outPico] = MODELS[cheap ? Math.floor(random() * 3) : 3 + Math.floor(random() * 2)];
  const status = random() < 0.03 ? [429, 502, 503][Math.floor(random() * 3)] : 200;
  const r = random();
  const cache = r < 0.1 ? 'HIT' : r < 0.3 ? 'MISS' : 'BYPASS';
  const prompt = 50 + Math.floor(random() ** 2 * 4000);
  const completion = status === 200 ? Math.floor(random() * 600) : 0;
  const cost = status === 200 && cache !== 'HIT' ? Math.round((prompt * inPico + completion * outPico) / 1000) * 1 : 0;
  const stream = random() < 0.4 ? 1 : 0;
  const latency = 80 + Math.floor(random() ** 3 * 12000);
  const ttft = stream ? 30 + Math.floor(random() ** 2 * 2000) : 'NULL';
  const ts = now - Math.floor(random() * 30 * DAY);
  return `('req_b${i}',${ts},'${TENANTS[i % TENANTS.length]}','key_b','chat','auto','${model}','${provider}','${tier}','rule:default',${status},${status === 200 ? 'NULL' : "'upstream_error'"},NULL,${prompt},${completion},${Math.floor(prompt / 4)},0,0,${cost},${cache === 'HIT' ? 100000 : 0},${latency},${ttft},${stream},'${cache}')`;
}

/** @param {number} now */
async function seedDatabase(now) {
  const started = Date.now();
  const applied = spawnSync(
    process.execPath,
    [join(root, 'node_modules/wrangler/bin/wrangler.js'), 'd1', 'migrations', 'apply', 'DB', '--local', '--persist-to', state],
    { cwd: root, env, encoding: 'utf8' },
  );
  if (applied.status !== 0) throw new Error(`migrations failed:\n${applied.stdout}\n${applied.stderr}`);
  /** @type {import('wrangler').PlatformProxy<{ DB: import('./lean-runtime.mjs').D1 }>} */
  const proxy = await getPlatformProxy({ configPath: join(root, 'wrangler.jsonc'), persist: { path: join(state, 'v3') } });
  const db = proxy.env.DB;
  await db.batch(
    TENANTS.map((id, i) =>
      db.prepare(
        `INSERT INTO tenants (id, name, routing, cache_ttl_s, monthly_budget_nano, created_at, updated_at) VALUES ('${id}', 'Tenant ${i}', 'passthrough', 3600, 500000000000, 0, 0)`,
      ),
    ),
  );
  const PER_STATEMENT = 500;
  const PER_BATCH = 40;
  const columns =
    'id, ts, tenant_id, key_id, endpoint, model_requested, model, provider, tier, route_reason, status, error_type, error_message, prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens, usage_estimated, cost_nano, saved_nano, latency_ms, ttft_ms, stream, cache';
  for (let i = 0; i < ROWS;) {
    const statements = [];
    for (let s = 0; s < PER_BATCH && i < ROWS; s++) {
      const values = [];
      for (let r = 0; r < PER_STATEMENT && i < ROWS; r++, i++) values.push(row(i, now));
      statements.push(db.prepare(`INSERT INTO requests (${columns}) VALUES ${values.join(',')}`));
    }
    await db.batch(statements);
  }
  // Month-to-date spend followed the rows by itself (the trigger of migrations/0009).
  const { n } = /** @type {{ n: number }} */ (await db.prepare('SELECT COUNT(*) AS n FROM requests').first());
  await proxy.dispose();
  if (n !== ROWS) throw new Error(`seeded ${n} rows, expected ${ROWS}`);
  return (Date.now() - started) / 1000;
}

async function startServer() {
  const port = await freePort();
  let output = '';
  server = spawn(
    process.execPath,
    [join(root, 'scripts/start.mjs'), '--port', String(port), '--ip', '127.0.0.1', '--persist-to', state, '--test-scheduled', '--var', `ADMIN_TOKEN:${TOKEN}`],
    { cwd: root, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  server.stdout.on('data', (d) => (output += d));
  server.stderr.on('data', (d) => (output += d));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 240; i++) {
    try {
      if ((await fetch(`${url}/health`)).ok) return url;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`server did not start:\n${output}`);
}

// A query slower than this is reported as failed: a dashboard would have given up long before.
const GIVE_UP_MS = 60_000;

/**
 * @param {string} url
 * @param {string} path
 * @param {number} [runs]
 */
async function time(url, path, runs = 7) {
  const get = () =>
    fetch(`${url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: AbortSignal.timeout(GIVE_UP_MS) })
      .then(async (r) => {
        if (!r.ok) throw new Error(`${path}: ${r.status} ${await r.text()}`);
        await r.arrayBuffer();
      })
      .catch((error) => {
        throw error.name === 'TimeoutError' ? new Error(`no answer within ${GIVE_UP_MS / 1000} s`) : error;
      });
  await get();
  const samples = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await get();
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  return { median: samples[Math.floor(samples.length / 2)], p95: samples[Math.ceil(samples.length * 0.95) - 1] };
}

/**
 * @param {string} url
 * @param {string} label
 * @param {number} now
 * @param {number} runs
 */
async function measure(url, label, now, runs) {
  const window = `from=${new Date(now - 30 * DAY).toISOString()}&to=${new Date(now).toISOString()}`;
  const queries = [
    ['summary', `/admin/analytics/summary?${window}`],
    ['timeseries day', `/admin/analytics/timeseries?${window}&interval=day`],
    ['timeseries day by tenant', `/admin/analytics/timeseries?${window}&interval=day&group_by=tenant`],
    ['timeseries hour by model', `/admin/analytics/timeseries?${window}&interval=hour&group_by=model`],
    ['one tenant: summary', `/admin/analytics/summary?${window}&tenant=${TENANTS[3]}`],
    ['one tenant: day by model', `/admin/analytics/timeseries?${window}&interval=day&group_by=model&tenant=${TENANTS[3]}`],
    ['breakdown by model', `/admin/analytics/breakdown?${window}&group_by=model`],
    ['breakdown by provider', `/admin/analytics/breakdown?${window}&group_by=provider`],
    ['spend and forecast', '/admin/analytics/spend'],
    ['finance CSV', `/admin/export.csv?${window}`],
    ['request log, first page', `/admin/requests?${window}&limit=50`],
    ['request log, one tenant', `/admin/requests?${window}&limit=50&tenant=${TENANTS[3]}`],
  ];
  const baseline = await time(url, '/health');
  console.log(`\n${label} (30-day window, ${ROWS.toLocaleString('en')} rows)`);
  console.log(
    `  ${'baseline: GET /health'.padEnd(34)} median ${baseline.median.toFixed(1).padStart(8)} ms  p95 ${baseline.p95.toFixed(1).padStart(8)} ms     1.00x`,
  );
  const results = [];
  for (const [name, path] of queries) {
    let t;
    try {
      t = await time(url, path, runs);
    } catch (error) {
      // A raw scan of a month can exceed what one Worker invocation may do: that is the
      // point of the rollups, and worth reporting rather than stopping on.
      console.log(
        `  ${name.padEnd(34)} failed: ${String(/** @type {Error} */ (error).message)
          .split('\n')[0]
          .slice(0, 120)}`,
      );
      results.push({ name, failed: true });
      continue;
    }
    results.push({ name, ...t });
    const mark = t.median <= TARGET_MS ? 'ok' : `over ${TARGET_MS} ms`;
    console.log(
      `  ${name.padEnd(34)} median ${t.median.toFixed(1).padStart(8)} ms  p95 ${t.p95.toFixed(1).padStart(8)} ms  ${(t.median / baseline.median).toFixed(2).padStart(7)}x  ${mark}`,
    );
  }
  return { baseline, results };
}

const now = Date.now();
console.log(`Seeding ${ROWS.toLocaleString('en')} rows into a fresh local D1…`);
const seconds = await seedDatabase(now);
console.log(`Seeded in ${seconds.toFixed(1)} s`);
const url = await startServer();
// Raw month scans are the slow case the rollups exist for: fewer runs keep the bench short,
// and --skip-raw leaves them out (they take about ten minutes at 1,000,000 rows).
if (!process.argv.includes('--skip-raw')) await measure(url, 'Raw rows only (before any rollup)', now, 3);
for (let i = 0; i < 40; i++) {
  await fetch(`${url}/__scheduled?cron=*/10+*+*+*+*`);
  const summary = await fetch(`${url}/admin/analytics/summary`, { headers: { authorization: `Bearer ${TOKEN}` } });
  await summary.arrayBuffer();
  const probe = spawnSync(
    process.execPath,
    [
      join(root, 'node_modules/wrangler/bin/wrangler.js'),
      'd1',
      'execute',
      'DB',
      '--local',
      '--persist-to',
      state,
      '--json',
      '--command',
      "SELECT value FROM analytics_state WHERE key = 'rolled_until'",
    ],
    { cwd: root, env, encoding: 'utf8' },
  );
  const value = JSON.parse(probe.stdout)[0]?.results?.[0]?.value ?? 0;
  if (value >= Math.floor(now / 3_600_000) * 3_600_000) break;
}
await measure(url, 'With hourly and daily rollups', now, 7);
process.exit(0);
