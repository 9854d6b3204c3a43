#!/usr/bin/env node
/**
 * `npm run bench:scale [-- --quick]`: the request log pushed at its local maximum, the figures
 * docs/SCALE.md's capacity model is built on, and a check that every call is accounted for.
 *
 * The proxy runs in workerd (Miniflare, its own process, local D1), wrapped by
 * bench/scale-worker.ts, which feeds synthetic call records (priced, a few failed or retried)
 * through the request log's own code: as the queue consumer receives them (batches of 100, the
 * REQUEST_LOG_SINK=queue path) and as calls hand them to the writer (its group commit, the
 * default path). Then the cron's work runs (rollups, and the archive of those hours to R2). Measured: records per second per core
 * (records over the workerd process's CPU seconds, local D1's SQLite included, since in
 * production that work is D1's), bytes per call in D1 (the database's size before and after),
 * the D1 rows each call writes as D1 counts them (to log it, and to purge it), and the cron's
 * rows rolled up per CPU second. Then a run with RETENTION_DAYS=0 purges the calls, rolling them up
 * into the attribute rollups (per user, key and tag value) on the way: their rows per call, hourly
 * and daily, and their bytes in D1 (its size with them and once they are deleted). Checked: rows, spend and
 * the admin API's totals (read from the rollups) and the archive's record all equal what was sent,
 * to the nano-dollar, and so does the admin API's breakdown by user once the calls are purged; the
 * process exits 1 if not.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN_TOKEN, cpuMs, startProxy } from './lean-runtime.mjs';

const QUICK = process.argv.includes('--quick');
const CONSUMER_RECORDS = QUICK ? 5_000 : 50_000;
const WRITER_RECORDS = QUICK ? 2_000 : 10_000;
/** Records per call to the harness: the consumer's batches go in turn; the writer's at once (within the 250 AE points an invocation may write). */
const PER_REQUEST = { consumer: 5_000, writer: 200 };
const HOUR = 3_600_000;

const outdir = mkdtempSync(join(tmpdir(), 'ai-proxy-scale-'));
// No upstream is called: the records are made inside the Worker.
const proxy = await startProxy('http://127.0.0.1:9', { outdir, entry: 'bench/scale-worker.ts' });
const tenantIds = [proxy.tenantId];
for (let i = 1; i < 5; i++) {
  const created = await fetch(`${proxy.url}/admin/tenants`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: `scale-${i}` }),
  });
  tenantIds.push(/** @type {{ id: string }} */ (await created.json()).id);
}

// The calls of the last full day but one hour: hours the cron can roll up now.
const toTs = Math.floor(Date.now() / HOUR) * HOUR - HOUR;
const fromTs = toTs - 24 * HOUR;

/** @typedef {{ records: number, costNano: number, retried: number, dbBytes: number }} Burst */

/**
 * @param {'consumer' | 'writer'} path
 * @param {number} count
 * @param {number} seed
 */
async function push(path, count, seed) {
  /** @type {Burst[]} */
  const bursts = [];
  const started = performance.now();
  const cpuBefore = cpuMs(proxy.pid);
  for (let done = 0; done < count; done += PER_REQUEST[path]) {
    const n = Math.min(PER_REQUEST[path], count - done);
    const response = await fetch(`${proxy.url}/__bench/log`, {
      method: 'POST',
      body: JSON.stringify({ path, count: n, batchSize: 100, tenantIds, fromTs, toTs, seed: seed * 1_000_000 + done }),
    });
    if (!response.ok) throw new Error(`/__bench/log: ${response.status} ${await response.text()}`);
    bursts.push(/** @type {Burst} */ (await response.json()));
  }
  return {
    path,
    records: bursts.reduce((sum, b) => sum + b.records, 0),
    costNano: bursts.reduce((sum, b) => sum + b.costNano, 0),
    retried: bursts.reduce((sum, b) => sum + b.retried, 0),
    dbBytes: bursts.at(-1)?.dbBytes ?? 0,
    wallS: (performance.now() - started) / 1000,
    cpuS: (cpuMs(proxy.pid) - cpuBefore) / 1000,
  };
}

/** @param {string} sql */
async function one(sql) {
  return /** @type {Record<string, number>} */ (await proxy.db.prepare(sql).first());
}

// The D1 rows a call's row costs to write and later to purge, as D1 counts them (meta.rows_written):
// 1,000 records of a probe tenant 40 days back, inserted as one statement, then deleted.
const probeAt = toTs - 40 * 24 * HOUR;
const probeResponse = await fetch(`${proxy.url}/__bench/log`, {
  method: 'POST',
  body: JSON.stringify({ path: 'probe', count: 1000, batchSize: 1000, tenantIds: ['ten_probe'], fromTs: probeAt, toTs: probeAt + HOUR, seed: 9 }),
});
const probe = /** @type {{ records: number, insertRowsWritten: number, deleteRowsWritten: number, dbBytes: number }} */ (await probeResponse.json());
// The database's size before the records measured (SQLite keeps the probe's freed pages for them).
const sizeBefore = probe.dbBytes;
const consumer = await push('consumer', CONSUMER_RECORDS, 1);
const writer = await push('writer', WRITER_RECORDS, 2);
// The cron's work: rollups, then the archive of the rolled-up hours to R2 (24 hours a run, so
// twice for the 25 hours here, each timed).
const cronRuns = [];
for (let run = 0; run < 2; run++) {
  const started = performance.now();
  const cpuBefore = cpuMs(proxy.pid);
  const cron = await fetch(`${proxy.url}/__bench/cron`, { method: 'POST', body: '{}' });
  if (!cron.ok) throw new Error(`/__bench/cron: ${cron.status} ${await cron.text()}`);
  cronRuns.push({ cpuS: (cpuMs(proxy.pid) - cpuBefore) / 1000, wallS: (performance.now() - started) / 1000 });
}
const cronCpuS = cronRuns.reduce((sum, run) => sum + run.cpuS, 0);
const cronWallS = cronRuns.reduce((sum, run) => sum + run.wallS, 0);

const sent = { records: consumer.records + writer.records, costNano: consumer.costNano + writer.costNano };
const rows = await one('SELECT COUNT(*) AS records, SUM(cost_nano) AS costNano FROM requests');
const spend = await one("SELECT SUM(spent_nano) AS costNano FROM tenant_spend WHERE tenant_id != 'ten_probe'");
const summary = /** @type {{ requests: number, cost_usd: number }} */ (
  await (
    await fetch(`${proxy.url}/admin/analytics/summary?from=${new Date(fromTs).toISOString()}&to=${new Date(toTs).toISOString()}`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    })
  ).json()
);
const attemptsPerCall = (await one('SELECT COUNT(*) AS n FROM request_attempts')).n / sent.records;
const archived = await one(
  `SELECT SUM(rows) AS records, SUM(cost_nano) AS costNano, SUM(bytes) AS bytes FROM request_archive WHERE hour >= ${fromTs} AND hour < ${toTs}`,
);

// The purge: every call leaves the raw retention, rolled up into the attribute rollups first.
const purge = await fetch(`${proxy.url}/__bench/cron`, { method: 'POST', body: JSON.stringify({ retentionDays: 0 }) });
if (!purge.ok) throw new Error(`/__bench/cron: ${purge.status} ${await purge.text()}`);
const purgedLeft = (await one('SELECT COUNT(*) AS n FROM requests')).n;
const attributeRows = {
  hourly: (await one('SELECT COUNT(*) AS n FROM rollup_attribute_hourly')).n,
  daily: (await one('SELECT COUNT(*) AS n FROM rollup_attribute_daily')).n,
  // A day's rows are its distinct tenant and value pairs: those of the 24 hours here, as one day would hold them
  // (the daily rows built are of the part of the window before today's midnight only).
  perDay: (await one('SELECT COUNT(*) AS n FROM (SELECT DISTINCT dimension, tenant_id, value FROM rollup_attribute_hourly)')).n,
  users: (await one("SELECT COUNT(DISTINCT value) AS n FROM rollup_attribute_hourly WHERE dimension = 'user'")).n,
};
const byUser = /** @type {{ data: { key: string | null, requests: number, cost_nano: number }[] }} */ (
  await (
    await fetch(`${proxy.url}/admin/analytics/breakdown?group_by=user&from=${new Date(fromTs).toISOString()}&to=${new Date(toTs).toISOString()}`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    })
  ).json()
);

// Their bytes: the database's size (D1 counts pages in use) after the purge, less after they are deleted.
// Between the two, what a row costs D1 to write and to delete (the row and its index entries), as D1
// counts it: the hourly rows copied into the daily table a thousand days on, then every row deleted.
const withAttributes = (await proxy.db.prepare('SELECT 1').run()).meta.size_after;
const copy = await proxy.db
  .prepare(
    `INSERT INTO rollup_attribute_daily SELECT dimension, bucket_start + ${1000 * 24 * HOUR}, tenant_id, value,
    requests, errors, upstream_calls, upstream_errors, cache_hits, cache_misses, prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens,
    reasoning_tokens, cheap_tokens, tiered_tokens, cost_nano, saved_nano FROM rollup_attribute_hourly`,
  )
  .run();
const deletes = await proxy.db.batch(['rollup_attribute_hourly', 'rollup_attribute_daily'].map((t) => proxy.db.prepare(`DELETE FROM ${t}`)));
const attributeBytes = withAttributes - deletes[1].meta.size_after;
const attributeWrites = {
  insert: copy.meta.rows_written / copy.meta.changes,
  delete: deletes.reduce((sum, d) => sum + d.meta.rows_written, 0) / deletes.reduce((sum, d) => sum + d.meta.changes, 0),
};

const fmt = (/** @type {number} */ n, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
console.log(`\nbench:scale, ${new Date().toISOString()}, Node ${process.version}${QUICK ? ', --quick' : ''}\n`);
console.log('| path | records | wall | workerd CPU | records / s per core | records / s (wall) |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const run of [consumer, writer]) {
  const label = run.path === 'consumer' ? 'queue consumer (batches of 100)' : 'writer, group commit (200 calls at once)';
  console.log(
    `| ${label} | ${fmt(run.records)} | ${fmt(run.wallS, 2)} s | ${fmt(run.cpuS, 2)} s | ${fmt(run.records / run.cpuS)} | ${fmt(run.records / run.wallS)} |`,
  );
}
console.log(
  `| cron: rollups and R2 archive of the ${fmt(sent.records)} rows | | ${fmt(cronWallS, 2)} s | ${fmt(cronCpuS, 2)} s | ${fmt(sent.records / cronCpuS)} | |`,
);
console.log('');
console.log(
  `- D1 bytes per call: ${fmt((consumer.dbBytes - sizeBefore) / consumer.records, 1)} (database size before and after the consumer's ${fmt(consumer.records)} records, their failed attempts (${fmt(attemptsPerCall, 3)} per call) and indexes included)`,
);
console.log(
  `- D1 rows written per call, as D1 counts them (meta.rows_written, a failed attempt in twenty included): ${fmt(probe.insertRowsWritten / probe.records, 2)} to log it (the row, its index entries, the month's spend), ${fmt(probe.deleteRowsWritten / probe.records, 2)} to purge it`,
);
console.log(`- R2 archive bytes per call: ${fmt(archived.bytes / archived.records, 1)} (gzipped NDJSON, failed attempts included)`);
console.log(
  `- Attribute rollup rows per call, written by the purge (RETENTION_DAYS=0) of the ${fmt(sent.records)} calls (${fmt(attributeRows.users)} distinct users, 2 tags, 7 keys, 5 tenants, over 25 hours): ${fmt(attributeRows.hourly / sent.records, 3)} hourly, ${fmt(attributeRows.perDay / sent.records, 3)} daily (a day of these calls: their distinct tenant and value pairs); ${fmt(attributeBytes / (attributeRows.hourly + attributeRows.daily), 1)} D1 bytes per row, indexes included (${fmt(attributeBytes)} bytes for ${fmt(attributeRows.hourly + attributeRows.daily)} rows: the database's size with them and without); D1 rows written per row: ${fmt(attributeWrites.insert, 2)} to insert it, ${fmt(attributeWrites.delete, 2)} to delete it`,
);
if (consumer.retried + writer.retried > 0) console.log(`- records the consumer asked to have delivered again: ${consumer.retried + writer.retried}`);

const checks = [
  ['rows in D1', rows.records, sent.records],
  ['cost of the rows (nano-USD)', rows.costNano, sent.costNano],
  ["tenants' month-to-date spend (nano-USD)", spend.costNano, sent.costNano],
  ['requests in the admin summary (rollups)', summary.requests, sent.records],
  ['cost in the admin summary (nano-USD)', Math.round(summary.cost_usd * 1e9), sent.costNano],
  ['calls in the R2 archive', archived.records, sent.records],
  ['cost in the R2 archive (nano-USD)', archived.costNano, sent.costNano],
  ['raw rows left after the purge', purgedLeft, 0],
  ['requests in the breakdown by user, purged (attribute rollups)', byUser.data.reduce((sum, g) => sum + g.requests, 0), sent.records],
  ['cost in the breakdown by user, purged (nano-USD)', byUser.data.reduce((sum, g) => sum + g.cost_nano, 0), sent.costNano],
];
console.log('\n| accounted for | found | sent | |\n| --- | ---: | ---: | --- |');
for (const [what, found, expected] of checks)
  console.log(`| ${what} | ${fmt(Number(found))} | ${fmt(Number(expected))} | ${found === expected ? 'equal' : '**differs**'} |`);

await proxy.dispose();
rmSync(outdir, { recursive: true, force: true });
if (checks.some(([, found, expected]) => found !== expected)) process.exit(1);
