/**
 * Migration 0011 adds upstream_calls and upstream_errors to rollups that already exist, where
 * they read 0. It marks every hour whose raw rows are kept as late, so the cron runs rebuild
 * them (newest first) and their days; older hours keep 0 (no upstream rate).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { analyticsState } from '../../analytics/aggregate';
import { runRollup, type RollupReport } from '../../analytics/rollup';
import { DAY_MS, HOUR_MS } from '../../analytics/segments';
import { breakdown, summary } from '../../analytics/summary';
import { timeseries } from '../../analytics/timeseries';
import { writeRequestLog } from '../../proxy/request-log/writer';
import { callRecord, rawOnly } from './analytics-helpers';
import { env } from './harness';
import type { RequestRecord } from '../../proxy/core/request-record';

const NOW = Math.floor(Date.now() / HOUR_MS) * HOUR_MS;
const ROLLED_AT = NOW + 5 * 60_000;
const MIDNIGHT = Math.floor(NOW / DAY_MS) * DAY_MS;
/** Three whole days inside the raw retention, and one beyond it (35 days by default). */
const recent = { from: MIDNIGHT - 3 * DAY_MS, to: MIDNIGHT };
const yesterday = { from: MIDNIGHT - DAY_MS, to: MIDNIGHT };
const OLD_DAY = MIDNIGHT - 40 * DAY_MS;
const oldDay = { from: OLD_DAY, to: OLD_DAY + DAY_MS };

/** Per hour: a success, and in turn a tenant-limit refusal, an upstream 502 after retries, a cache hit, a 499. */
function hourOfCalls(start: number, prefix: string, i: number): RequestRecord[] {
  const ts = start + i * HOUR_MS + 7 * 60_000;
  const failed = { costNano: 0, usage: { promptTokens: 30, completionTokens: 0, cachedTokens: 0, cacheWriteTokens: 0 } };
  const other: Partial<RequestRecord>[] = [
    { status: 429, errorType: 'rate_limit_exceeded', attempts: 0, ...failed },
    { status: 502, errorType: 'upstream_error', attempts: 3, model: 'openai/gpt-4o-mini', provider: 'openai', ...failed },
    { cache: 'HIT', attempts: 0, costNano: 0, savedNano: 1_000_000 },
    { status: 499, errorType: 'client_closed', attempts: 1, ...failed },
  ];
  return [
    callRecord({ id: `req_${prefix}_ok_${i}`, ts, tenantId: i % 2 ? 'ten_a' : 'ten_b', costNano: 1_000_000 + i }),
    callRecord({ id: `req_${prefix}_other_${i}`, ts: ts + 60_000, ...other[i % other.length] }),
  ];
}
const records = [
  ...Array.from({ length: 24 }, (_, i) => hourOfCalls(OLD_DAY, 'old', i)).flat(),
  ...Array.from({ length: 72 }, (_, i) => hourOfCalls(recent.from, 'recent', i)).flat(),
];

/** The views on-call reads, over a window. */
const views = (window: { from: number; to: number }) =>
  Promise.all([
    summary(env.DB, window),
    breakdown(env.DB, window, 'provider'),
    timeseries(env.DB, window, 'hour', 'provider'),
    timeseries(env.DB, window, 'day', 'tenant'),
  ]);
const rollupRows = async (table: string, from: number) =>
  (await env.DB.prepare(`SELECT * FROM ${table} WHERE bucket_start >= ? ORDER BY dims, bucket_start, tenant_id, model, tier`).bind(from).all()).results;
const lateHours = async () =>
  (await env.DB.prepare('SELECT bucket_start FROM rollup_late_hours ORDER BY 1').all<{ bucket_start: number }>()).results.map((r) => r.bucket_start);

async function catchUp(): Promise<void> {
  let report: RollupReport;
  do report = await runRollup(env, ROLLED_AT);
  while (report.rolledUntil < NOW);
}

/** What migration 0011 does to rollups built before it: the new columns read 0, then its marking statement runs. */
async function migrateRollupsBuiltBefore0011(): Promise<void> {
  await env.DB.batch(['rollup_hourly', 'rollup_daily'].map((table) => env.DB.prepare(`UPDATE ${table} SET upstream_calls = 0, upstream_errors = 0`)));
  const migration = env.TEST_MIGRATIONS.find((m) => m.name.startsWith('0011_'))!;
  const marking = migration.queries.filter((q) => q.includes('rollup_late_hours'));
  expect(marking).toHaveLength(1);
  await env.DB.prepare(marking[0]).run();
}

let reference: Awaited<ReturnType<typeof views>>;
let oldReference: Awaited<ReturnType<typeof summary>>;
let hourlyBefore: unknown[];
let dailyBefore: unknown[];

beforeAll(async () => {
  for (const record of records) await writeRequestLog(env, record);
  await catchUp();
  reference = await views(recent);
  oldReference = await summary(env.DB, oldDay);
  hourlyBefore = await rollupRows('rollup_hourly', recent.from);
  dailyBefore = await rollupRows('rollup_daily', recent.from);
});

describe('rollups built before migration 0011', () => {
  it('are rebuilt with upstream counters for every hour whose raw rows are kept, newest first', async () => {
    // The day beyond the retention was rolled up while its raw rows were there, then purged.
    const { rawFrom } = await analyticsState(env.DB);
    expect(rawFrom).toBeGreaterThan(oldDay.to);
    expect(oldReference).toMatchObject({ requests: 48, upstream_calls: 36, upstream_errors: 6 });
    expect(reference[0]).toMatchObject({ requests: 144, errors: 54, upstream_calls: 108, upstream_errors: 18, upstream_error_rate: 18 / 108 });

    await migrateRollupsBuiltBefore0011();
    const marked = await lateHours();
    expect(marked).toHaveLength(72);
    expect(marked.every((h) => h >= rawFrom)).toBe(true);
    expect((await summary(env.DB, recent)).upstream_calls).toBe(0);

    // One run: the newest 24 hours (yesterday, a whole day, so its daily row too) are right.
    expect(await runRollup(env, ROLLED_AT)).toMatchObject({ hours: 0, lateHours: 24 });
    expect(await views(yesterday)).toEqual(await rawOnly(() => views(yesterday)));
    const partly = await summary(env.DB, recent);
    expect(partly.upstream_calls).toBe(36);
    // Every other counter was right all along.
    expect({ ...partly, upstream_calls: 0, upstream_errors: 0, upstream_error_rate: null }).toEqual({
      ...reference[0],
      upstream_calls: 0,
      upstream_errors: 0,
      upstream_error_rate: null,
    });

    // The next runs finish; the tables are as a rollup that had the counters from the start left them.
    expect((await runRollup(env, ROLLED_AT)).lateHours).toBe(24);
    expect((await runRollup(env, ROLLED_AT)).lateHours).toBe(24);
    expect(await lateHours()).toEqual([]);
    expect(await views(recent)).toEqual(reference);
    expect(await rollupRows('rollup_hourly', recent.from)).toEqual(hourlyBefore);
    expect(await rollupRows('rollup_daily', recent.from)).toEqual(dailyBefore);
  });

  it('keep 0 calls and 0 errors upstream (no rate) for days older than the raw retention, every other counter as it was', async () => {
    expect(await summary(env.DB, oldDay)).toEqual({ ...oldReference, upstream_calls: 0, upstream_errors: 0, upstream_error_rate: null });
  });
});
