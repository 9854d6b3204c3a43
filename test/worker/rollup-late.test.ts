/**
 * Rows that reach the request log after their hour was rolled up (a queue backlog, a
 * dead-letter replay, a D1 outage drained late) are counted once the next run has rebuilt it.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { spendCsv } from '../../analytics/finance';
import { runRollup, type RollupReport } from '../../analytics/rollup';
import { DAY_MS, HOUR_MS } from '../../analytics/segments';
import { breakdown, summary } from '../../analytics/summary';
import { timeseries } from '../../analytics/timeseries';
import { writeRequestLog } from '../../proxy/request-log/writer';
import { callRecord, rawOnly, rollupTables } from './analytics-helpers';
import { env } from './harness';

const NOW = Math.floor(Date.now() / HOUR_MS) * HOUR_MS;
const ROLLED_AT = NOW + 5 * 60_000;
// Hour-aligned but not day-aligned: whole days come from daily rows, the rest from hourly ones.
const scope = { from: NOW - 5 * DAY_MS, to: NOW };

const onTime = Array.from({ length: 120 }, (_, i) =>
  callRecord({
    id: `req_ontime_${i}`,
    ts: scope.from + i * 59 * 60_000 + 1234,
    tenantId: i % 2 ? 'ten_a' : 'ten_b',
    costNano: 1_000_000 + i,
    latencyMs: 100 + i,
  }),
);
const fiveHoursLate = callRecord({
  id: 'req_late_5h',
  ts: NOW - 5 * HOUR_MS + 17 * 60_000,
  tenantId: 'ten_b',
  model: 'mock/mock-large',
  tier: 'expensive',
  endpoint: 'responses',
  usage: { promptTokens: 100, completionTokens: 400, cachedTokens: 0, cacheWriteTokens: 0, reasoningTokens: 300 },
  costNano: 123_456_789,
  latencyMs: 4321,
  stream: true,
  ttftMs: 77,
});
const threeDaysLate = callRecord({
  id: 'req_late_3d',
  ts: NOW - 3 * DAY_MS + 42 * 60_000,
  tenantId: 'ten_c',
  endpoint: 'messages',
  costNano: 987_654_321,
  latencyMs: 9000,
});

/** Every report that reads rollups, over the window. */
const reports = () =>
  Promise.all([
    summary(env.DB, scope),
    spendCsv(env.DB, scope),
    timeseries(env.DB, scope, 'day', 'tenant'),
    timeseries(env.DB, scope, 'hour', 'model'),
    breakdown(env.DB, scope, 'tenant'),
    breakdown(env.DB, scope, 'endpoint'),
    timeseries(env.DB, scope, 'hour', 'endpoint'),
    breakdown(env.DB, { ...scope, tenant: 'ten_c' }, 'endpoint'),
  ]);

const lateHours = async () =>
  (await env.DB.prepare('SELECT bucket_start FROM rollup_late_hours ORDER BY 1').all<{ bucket_start: number }>()).results.map((r) => r.bucket_start);

beforeAll(async () => {
  for (const record of onTime) await writeRequestLog(env, record);
  let report: RollupReport;
  do report = await runRollup(env, ROLLED_AT);
  while (report.rolledUntil < NOW);
});

describe('rows logged after their hour was rolled up', () => {
  it('are recorded by hour when they land, and not before rolled_until', async () => {
    expect(await lateHours()).toEqual([]);
    await writeRequestLog(env, fiveHoursLate);
    await writeRequestLog(env, threeDaysLate);
    // The current hour is not rolled up yet: its rows are not late.
    await writeRequestLog(env, callRecord({ id: 'req_current_hour', ts: NOW + 60_000 }));
    expect(await lateHours()).toEqual([NOW - 3 * DAY_MS, NOW - 5 * HOUR_MS]);
    // Until the job runs, the rollups do not have them.
    expect((await summary(env.DB, scope)).requests).toBe(onTime.length);
  });

  it('are counted by the next run: summary, CSV, daily and hourly series as from raw rows', async () => {
    const report = await runRollup(env, ROLLED_AT);
    expect(report).toMatchObject({ hours: 0, lateHours: 2, rolledUntil: NOW });
    expect(await lateHours()).toEqual([]);

    const rolled = await reports();
    expect(rolled).toEqual(await rawOnly(reports));
    const all = [...onTime, fiveHoursLate, threeDaysLate];
    expect(rolled[0]).toMatchObject({ requests: all.length, cost_nano: all.reduce((t, r) => t + r.costNano, 0) });
    // Each in its endpoint's group.
    expect(rolled[5].data.map((g) => [g.key, g.requests])).toEqual([
      ['messages', 1],
      ['responses', 1],
      ['chat', onTime.length],
    ]);
    // The three-day-old row is inside a whole day: its daily row was rebuilt from the hours.
    const daily = await env.DB.prepare("SELECT bucket_start, requests, cost_nano FROM rollup_daily WHERE dims = 'tenant' AND tenant_id = 'ten_c'").all();
    expect(daily.results).toEqual([{ bucket_start: Math.floor(threeDaysLate.ts / DAY_MS) * DAY_MS, requests: 1, cost_nano: threeDaysLate.costNano }]);
  });

  it('are counted once when written again (a redelivered row is ignored and marks nothing)', async () => {
    const before = await summary(env.DB, scope);
    await writeRequestLog(env, threeDaysLate);
    expect(await lateHours()).toEqual([]);
    await runRollup(env, ROLLED_AT);
    expect(await summary(env.DB, scope)).toEqual(before);
  });

  it('leave the job idempotent: rebuilding hours whose rows did not change gives identical tables', async () => {
    const before = await rollupTables();
    // Mark a day's worth of unchanged hours (ending at yesterday's midnight, so a daily row is rebuilt too) as late.
    const midnight = Math.floor(NOW / DAY_MS) * DAY_MS;
    const hours = Array.from({ length: 24 }, (_, i) => midnight - (i + 1) * HOUR_MS);
    await env.DB.batch(hours.map((h) => env.DB.prepare('INSERT INTO rollup_late_hours (bucket_start) VALUES (?)').bind(h)));
    expect((await runRollup(env, ROLLED_AT)).lateHours).toBe(24);
    expect(await rollupTables()).toEqual(before);
  });
});
