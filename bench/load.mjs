#!/usr/bin/env node
/**
 * `npm run bench:load [-- --seconds 60] [--clients 64]`: a sustained run against the proxy on the
 * lean harness (lean-runtime.mjs): CLIENTS concurrent clients for SECONDS, a mix of plain calls
 * and streams (passed through and re-framed, some abandoned by their client half-way), once with each request-log sink (d1,
 * queue). Then every call the clients saw (by its x-request-id) must have its row in D1, and the
 * tenants' month-to-date spend must equal the sum of the rows' costs (no write counted twice):
 * the run reports calls made, rows written, rows lost (which must be 0) and whether spend adds up.
 */
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chatBody } from './bodies.mjs';
import { percentile } from './http-load.mjs';
import { startProxy } from './lean-runtime.mjs';
import { startUpstream } from './proxy-overhead.mjs';

/**
 * @param {string} name
 * @param {number} fallback
 */
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const SECONDS = arg('seconds', 60);
const CLIENTS = arg('clients', 64);
const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });

/**
 * What a client saw of one call: its request id and status, how it ended, and its latency.
 * @typedef {{ id: string | string[] | undefined, status: number | undefined, outcome: 'completed', ms: number }} Completed
 * @typedef {{ id: string | string[] | undefined, status: number | undefined, outcome: 'abandoned', ms: number }} Abandoned
 * @typedef {{ id: null, status?: undefined, outcome: 'abandoned-early' }} AbandonedEarly
 * @typedef {Completed | Abandoned | AbandonedEarly} Seen
 */

/**
 * One call; an abandoned stream is cut by the client after its first bytes. Resolves with the request id the client saw.
 * @param {string} url
 * @param {string} apiKey
 * @param {{ stream: boolean, includeUsage: boolean, abandon: boolean }} options
 * @returns {Promise<Seen>}
 */
function call(url, apiKey, { stream, includeUsage, abandon }) {
  const body = chatBody(2048, stream, includeUsage);
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const request = http.request(
      url,
      { method: 'POST', agent, headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (response) => {
        const id = response.headers['x-request-id'];
        /** @param {'completed' | 'abandoned'} outcome */
        const done = (outcome) => resolve({ id, status: response.statusCode, outcome, ms: Number(process.hrtime.bigint() - started) / 1e6 });
        response.once('data', () => {
          if (abandon) {
            request.destroy();
            done('abandoned');
          }
        });
        response.on('data', () => {});
        response.on('end', () => done('completed'));
        response.on('error', () => done('abandoned'));
      },
    );
    request.on('error', (error) => (abandon ? resolve({ id: null, outcome: 'abandoned-early' }) : reject(error)));
    request.end(body);
  });
}

/**
 * @param {{ url: string }} upstream
 * @param {string} sink
 */
async function run(upstream, sink) {
  const outdir = mkdtempSync(join(tmpdir(), 'ai-proxy-load-'));
  const proxy = await startProxy(upstream.url, { outdir, vars: { REQUEST_LOG_SINK: sink } });
  try {
    const url = `${proxy.url}/v1/chat/completions`;
    /** @type {Seen[]} */
    const seen = [];
    const deadline = Date.now() + SECONDS * 1000;
    let i = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (Date.now() < deadline) {
          const n = i++;
          const stream = n % 10 < 3;
          // Streams alternate, ten calls at a time, between the two ways the proxy sends them:
          // passed through (the client asked for usage) and re-framed; abandoned ones too.
          seen.push(await call(url, proxy.apiKey, { stream, includeUsage: Math.floor(n / 10) % 2 === 0, abandon: n % 30 === 1 }));
        }
      }),
    );
    const elapsed = (performance.now() - started) / 1000;
    const ids = seen.filter((s) => s.id).map((s) => s.id);
    const failed = seen.filter((s) => s.status && s.status !== 200).length;
    // Rows are written after each response (and, with the queue, by its consumer): wait for them.
    let rows = 0;
    for (let wait = 0; wait < 120; wait++) {
      rows = /** @type {{ n: number }} */ (await proxy.db.prepare('SELECT COUNT(*) AS n FROM requests').first()).n;
      if (rows >= ids.length) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const missing = [];
    for (let k = 0; k < ids.length; k += 100) {
      const chunk = ids.slice(k, k + 100);
      const { results } = await proxy.db
        .prepare(`SELECT id FROM requests WHERE id IN (${chunk.map(() => '?').join(',')})`)
        .bind(...chunk)
        .all();
      const found = new Set(results.map((r) => r.id));
      missing.push(...chunk.filter((id) => !found.has(id)));
    }
    const latencies = seen.filter((s) => s.outcome === 'completed').map((s) => s.ms);
    const abandoned = seen.filter((s) => s.outcome !== 'completed').length;
    const statuses = await proxy.db.prepare('SELECT status, COUNT(*) AS n FROM requests GROUP BY status').all();
    // Every row's cost counted once in the tenant's month, however often a write was retried.
    const spend = /** @type {{ logged: number, counted: number }} */ (
      await proxy.db
        .prepare('SELECT (SELECT COALESCE(SUM(cost_nano), 0) FROM requests) AS logged, (SELECT COALESCE(SUM(spent_nano), 0) FROM tenant_spend) AS counted')
        .first()
    );
    return {
      sink,
      calls: seen.length,
      abandoned,
      failed,
      rps: seen.length / elapsed,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      rows,
      lost: missing.length,
      spendMatches: spend.logged === spend.counted,
      spend,
      statuses: statuses.results,
    };
  } finally {
    await proxy.dispose();
    rmSync(outdir, { recursive: true, force: true });
  }
}

const upstream = await startUpstream();
try {
  console.log(
    `${CLIENTS} concurrent clients for ${SECONDS} s per run; 30% streams (half passed through, half re-framed), 1 in 10 of them abandoned by its client after the first bytes.\n`,
  );
  console.log('| request-log sink | calls | abandoned by client | failed | calls/s | p50 | p99 | rows in D1 | lost rows | spend = sum of rows |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
  let faults = 0;
  for (const sink of ['d1', 'queue']) {
    const r = await run(upstream, sink);
    if (r.lost > 0 || !r.spendMatches) faults++;
    console.log(
      `| ${r.sink} | ${r.calls} | ${r.abandoned} | ${r.failed} | ${Math.round(r.rps)} | ${r.p50.toFixed(1)} ms | ${r.p99.toFixed(1)} ms | ${r.rows} | **${r.lost}** | ${r.spendMatches ? 'yes' : `**no**: ${r.spend.counted} counted, ${r.spend.logged} logged`} |`,
    );
    console.log(`|  statuses logged: ${r.statuses.map((s) => `${s.status} × ${s.n}`).join(', ')} | | | | | | | | | |`);
  }
  if (faults > 0) process.exitCode = 1;
} finally {
  upstream.stop();
}
process.exit(process.exitCode ?? 0);
