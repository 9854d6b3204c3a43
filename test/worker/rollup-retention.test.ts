/**
 * What the rollup job deletes, and how reports answer afterwards: raw rows past RETENTION_DAYS,
 * hourly rows and shadow evaluations past HOURLY_RETENTION_DAYS (daily rows and the monthly
 * evaluation spend are kept for ever), hourly attribute rows past ATTRIBUTE_HOURLY_TAIL_DAYS
 * before raw_from and daily ones past ATTRIBUTE_RETENTION_DAYS. Without the ARCHIVE
 * bucket, so raw rows are purged at the retention alone; with it, the purge also waits for the
 * archive (archive.test.ts).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { analyticsState } from '../../analytics/aggregate';
import { spendCsv } from '../../analytics/finance';
import { ATTRIBUTE_HOURLY_TAIL_DAYS, DEFAULT_ATTRIBUTE_RETENTION_DAYS, HOURLY_RETENTION_DAYS, runRollup, type RollupReport } from '../../analytics/rollup';
import { DAY_MS, HOUR_MS } from '../../analytics/segments';
import { breakdown, summary } from '../../analytics/summary';
import { timeseries } from '../../analytics/timeseries';
import type { Env } from '../../proxy/core/env';
import { insertEvaluation } from '../../proxy/evaluation/store';
import { writeRequestLog } from '../../proxy/request-log/writer';
import { callRecord } from './analytics-helpers';
import { callAdmin, env } from './harness';

/** The deployment without the ARCHIVE bucket. */
const noArchive: Env = { ...env, ARCHIVE: undefined };
const NOW = Math.floor(Date.now() / HOUR_MS) * HOUR_MS;
const ROLLED_AT = NOW + 5 * 60_000;
/** Three whole UTC days, older than the hourly retention. */
const OLD_DAY = Math.floor((NOW - 100 * DAY_MS) / DAY_MS) * DAY_MS;
const oldDays = { from: OLD_DAY, to: OLD_DAY + 3 * DAY_MS };
/** A day inside the raw retention. */
const recentDays = { from: Math.floor((NOW - 3 * DAY_MS) / DAY_MS) * DAY_MS, to: Math.floor((NOW - DAY_MS) / DAY_MS) * DAY_MS };

const records = [
  ...Array.from({ length: 72 }, (_, i) =>
    callRecord({ id: `req_old_${i}`, ts: OLD_DAY + i * HOUR_MS + 7 * 60_000, tenantId: i % 3 ? 'ten_a' : 'ten_b', costNano: 1000 + i, latencyMs: 50 + i * 10 }),
  ),
  ...Array.from({ length: 48 }, (_, i) => callRecord({ id: `req_recent_${i}`, ts: recentDays.from + i * HOUR_MS + 11 * 60_000, costNano: 2000 + i })),
];

/** Shadow evaluations of calls made 100 days ago (past the hourly retention), 40 (past the raw one only) and 3. */
const evaluationAges = { eval_old: 100, eval_past_raw: 40, eval_recent: 3 };
const insertEvaluations = () =>
  Promise.all(
    Object.entries(evaluationAges).map(([id, days]) =>
      insertEvaluation(env, {
        id,
        requestId: `req_${id}`,
        ts: NOW - days * DAY_MS,
        evaluatedAt: NOW - days * DAY_MS,
        tenantId: 'ten_a',
        task: 'summarize',
        servedTier: 'cheap',
        sampleRate: 0.1,
        cheapModel: 'mock/mock-mini',
        expensiveModel: 'mock/mock-large',
        cheapCostNano: 100,
        expensiveCostNano: 1000,
        shadow: { costNano: 1000, promptTokens: 10, completionTokens: 10 },
        judgeModel: 'mock/mock-large',
        judge: { costNano: 500, promptTokens: 20, completionTokens: 5 },
        cheapPosition: 'A',
        verdict: 'same',
        reason: 'fixture',
      }),
    ),
  );

async function catchUp(runEnv: Env): Promise<RollupReport> {
  let report: RollupReport;
  do report = await runRollup(runEnv, ROLLED_AT);
  while (report.rolledUntil < NOW);
  return report;
}

/** Runs until the purge is done (a run rolls up at most MAX_HOURS_PER_RUN hours of rows into the attribute rollups), with what they deleted summed. */
async function purgeAll(runEnv: Env): Promise<RollupReport> {
  let total = await runRollup(runEnv, ROLLED_AT);
  for (let report = total; report.purged > 0;) {
    report = await runRollup(runEnv, ROLLED_AT);
    total = {
      ...report,
      ...Object.fromEntries((['purged', 'prunedHourly', 'purgedEvaluations', 'prunedAttributes'] as const).map((k) => [k, total[k] + report[k]])),
    };
  }
  return total;
}

const count = async (sql: string) => (await env.DB.prepare(sql).first<{ n: number }>())!.n;
const views = (window: { from: number; to: number }) =>
  Promise.all([summary(env.DB, window), timeseries(env.DB, window, 'day', 'tenant'), spendCsv(env.DB, window)]);
let rawOld: Awaited<ReturnType<typeof views>>;
let rawRecent: Awaited<ReturnType<typeof views>>;

beforeAll(async () => {
  for (const record of records) await writeRequestLog(env, record);
  await insertEvaluations();
  // Nothing is rolled up yet: these are the raw rows' answers.
  [rawOld, rawRecent] = await Promise.all([views(oldDays), views(recentDays)]);
});

describe('retention of raw and hourly rows', () => {
  it('keeps hourly rows as long as raw rows are kept, even past HOURLY_RETENTION_DAYS', async () => {
    const report = await catchUp({ ...noArchive, RETENTION_DAYS: '200' });
    expect(report).toMatchObject({ purged: 0, prunedHourly: 0, purgedEvaluations: 0 });
    expect(await count(`SELECT COUNT(*) AS n FROM rollup_hourly WHERE bucket_start < ${oldDays.to}`)).toBeGreaterThan(0);
  });

  it('purges raw rows past RETENTION_DAYS and prunes hourly rows past HOURLY_RETENTION_DAYS, on day boundaries', async () => {
    const report = await purgeAll(noArchive);
    expect(report.purged).toBe(72);
    expect(report.purgedEvaluations).toBe(1);
    expect(report.prunedHourly).toBeGreaterThan(0);
    const state = await analyticsState(env.DB);
    expect(state.rawFrom).toBe(Math.floor((ROLLED_AT - 35 * DAY_MS) / HOUR_MS) * HOUR_MS);
    expect(state.hourlyFrom).toBe(Math.floor((ROLLED_AT - HOURLY_RETENTION_DAYS * DAY_MS) / DAY_MS) * DAY_MS);
    expect(await count(`SELECT COUNT(*) AS n FROM rollup_hourly WHERE bucket_start < ${state.hourlyFrom}`)).toBe(0);
    expect(await count(`SELECT COUNT(*) AS n FROM rollup_hourly_histograms WHERE bucket_start < ${state.hourlyFrom}`)).toBe(0);
    expect(await count(`SELECT COUNT(*) AS n FROM rollup_daily WHERE bucket_start < ${state.hourlyFrom}`)).toBeGreaterThan(0);
    // The attribute rollups (here of each call's key) hold the purged calls: hourly rows for a
    // short tail before raw_from only, daily rows (ATTRIBUTE_RETENTION_DAYS, 400 by default) of every day.
    expect(state.attributeHourlyFrom).toBe(Math.floor((state.rawFrom - ATTRIBUTE_HOURLY_TAIL_DAYS * DAY_MS) / DAY_MS) * DAY_MS);
    expect(await count(`SELECT COUNT(*) AS n FROM rollup_attribute_hourly WHERE bucket_start < ${state.attributeHourlyFrom}`)).toBe(0);
    expect(await count(`SELECT SUM(requests) AS n FROM rollup_attribute_daily WHERE dimension = 'key' AND bucket_start < ${oldDays.to}`)).toBe(72);
    expect(state.attributesFrom).toBe(Math.floor((ROLLED_AT - DEFAULT_ATTRIBUTE_RETENTION_DAYS * DAY_MS) / DAY_MS) * DAY_MS);
    // None for the calls still kept raw: reports read those from their rows.
    expect(await count(`SELECT COUNT(*) AS n FROM rollup_attribute_hourly WHERE bucket_start >= ${state.rawFrom}`)).toBe(0);
  });

  it('prunes daily attribute rows past ATTRIBUTE_RETENTION_DAYS, never after the hourly cut, and refuses reports by key before', async () => {
    const tooShort = await runRollup({ ...noArchive, ATTRIBUTE_RETENTION_DAYS: '1' }, ROLLED_AT);
    const state = await analyticsState(env.DB);
    // The cut stops at the hourly attribute rows' (a shorter retention would leave hours no rows answer).
    expect(state.attributesFrom).toBe(state.attributeHourlyFrom);
    expect(tooShort.prunedAttributes).toBeGreaterThan(0);
    expect(await count(`SELECT COUNT(*) AS n FROM rollup_attribute_daily WHERE bucket_start < ${state.attributesFrom}`)).toBe(0);
    await expect(breakdown(env.DB, oldDays, 'key')).rejects.toMatchObject({ status: 400, param: 'from', code: 'beyond_retention' });
    // The ungrouped reports still answer from the rollups.
    expect(await views(oldDays)).toEqual(rawOld);
  });

  it('keeps shadow evaluations as long as hourly rows, past the raw retention, and the monthly evaluation spend for ever', async () => {
    // The previous run deleted the one past the hourly retention; the one past the raw retention only is kept.
    const ids = (await env.DB.prepare('SELECT id FROM evaluations ORDER BY ts').all<{ id: string }>()).results.map((r) => r.id);
    expect(ids).toEqual(['eval_past_raw', 'eval_recent']);
    const spend = await count('SELECT SUM(spent_nano) AS n FROM eval_spend');
    expect(spend).toBe(3 * 1500);
    // Until the cut moves, a run deletes nothing more.
    expect(await runRollup(noArchive, ROLLED_AT)).toMatchObject({ purgedEvaluations: 0 });
  });

  it('answers whole days older than the hourly retention from daily rows, as the raw rows did', async () => {
    expect(rawOld[0].requests).toBe(72);
    expect(await views(oldDays)).toEqual(rawOld);
    expect(await views(recentDays)).toEqual(rawRecent);
  });

  it('refuses, with an OpenAI-shaped 400, windows that need hours or minutes it no longer keeps', async () => {
    const oddStart = { from: OLD_DAY + 5 * HOUR_MS, to: oldDays.to };
    await expect(summary(env.DB, oddStart)).rejects.toMatchObject({ status: 400, param: 'from', code: 'beyond_retention' });
    await expect(summary(env.DB, { from: OLD_DAY, to: OLD_DAY + 30 * HOUR_MS })).rejects.toMatchObject({ status: 400, param: 'to' });
    await expect(timeseries(env.DB, oldDays, 'hour')).rejects.toMatchObject({ status: 400, param: 'interval' });
    await expect(timeseries(env.DB, { from: NOW - 40 * DAY_MS, to: NOW - 40 * DAY_MS + HOUR_MS }, 'minute')).rejects.toMatchObject({
      status: 400,
      param: 'interval',
    });

    const call = await callAdmin(`/admin/analytics/summary?from=${new Date(oddStart.from).toISOString()}&to=${new Date(oddStart.to).toISOString()}`);
    expect(call.response.status).toBe(400);
    const body = (await call.response.json()) as { error: { type: string; param: string; message: string } };
    expect(body.error).toMatchObject({ type: 'invalid_request_error', param: 'from' });
    expect(body.error.message).toContain(new Date((await analyticsState(env.DB)).hourlyFrom).toISOString());
  });

  it('drops a late row whose hour has been purged instead of rebuilding that hour from it alone', async () => {
    const before = await views(oldDays);
    await writeRequestLog(env, callRecord({ id: 'req_too_late', ts: OLD_DAY + 30 * 60_000, costNano: 999_999 }));
    const report = await runRollup(noArchive, ROLLED_AT);
    expect(report).toMatchObject({ lateHours: 0, purged: 1 });
    expect(await count('SELECT COUNT(*) AS n FROM rollup_late_hours')).toBe(0);
    expect(await views(oldDays)).toEqual(before);
  });
});
