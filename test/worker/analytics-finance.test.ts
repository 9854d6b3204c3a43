/** What finance reads: the spend CSV (safe to open in a spreadsheet) and the month-end forecast. */
import { beforeAll, describe, expect, it } from 'vitest';
import { spendCsv, tenantSpend } from '../../analytics/finance';
import { writeRequestLog } from '../../proxy/request-log/writer';
import { callRecord } from './analytics-helpers';
import { callAdmin, env } from './harness';

const at = (iso: string) => Date.parse(iso);
const usd = (amount: number) => Math.round(amount * 1e9);

const TENANTS: [id: string, name: string, budgetUsd: number | null][] = [
  ['ten_formula', '=HYPERLINK("x")', null],
  ['ten_at', '@SUM(1)', null],
  ['ten_punct', 'Quote "and", comma', null],
  ['ten_first', 'First of the month', null],
  ['ten_mid', 'Mid-month', 100],
  ['ten_last', 'Last day', null],
];

// Each forecast case has its own tenant, with calls only before that case's `now`, as in life.
const calls = [
  ['ten_formula', '2026-09-10T10:00:00Z', 1],
  ['ten_at', '2026-09-10T11:00:00Z', 2],
  ['ten_punct', '2026-09-10T12:00:00Z', 3],
  // now = 2026-10-01T00:06Z: the last 7 days start 2026-09-24T00:06Z, in the previous month.
  ['ten_first', '2026-09-20T12:00:00Z', 100],
  ['ten_first', '2026-09-24T00:05:00Z', 1],
  ['ten_first', '2026-09-25T10:00:00Z', 7],
  ['ten_first', '2026-09-30T20:00:00Z', 13.3],
  ['ten_first', '2026-10-01T00:02:00Z', 0.7],
  // now = 2026-10-15T12:00Z: the last 7 days start 2026-10-08T12:00Z.
  ['ten_mid', '2026-10-01T08:00:00Z', 40],
  ['ten_mid', '2026-10-08T11:59:00Z', 2],
  ['ten_mid', '2026-10-08T12:00:00Z', 3.5],
  ['ten_mid', '2026-10-12T00:00:00Z', 10.5],
  // now = 2026-10-31T23:00Z: one hour of the month left.
  ['ten_last', '2026-09-30T23:00:00Z', 500],
  ['ten_last', '2026-10-24T23:00:00Z', 7],
  ['ten_last', '2026-10-31T22:30:00Z', 14],
] as const;

beforeAll(async () => {
  await env.DB.batch(
    TENANTS.map(([id, name, budget]) =>
      env.DB.prepare(
        "INSERT INTO tenants (id, name, routing, cache_ttl_s, monthly_budget_nano, created_at, updated_at) VALUES (?, ?, 'passthrough', 3600, ?, 0, 0)",
      ).bind(id, name, budget === null ? null : usd(budget)),
    ),
  );
  for (const [i, [tenantId, iso, cost]] of calls.entries())
    await writeRequestLog(env, callRecord({ id: `req_finance_${i}`, ts: at(iso), tenantId, costNano: usd(cost) }));
});

describe('the spend CSV', () => {
  it('neutralises cells a spreadsheet would run as formulas, and quotes commas and quotes', async () => {
    const csv = await spendCsv(env.DB, { from: at('2026-09-10T00:00:00Z'), to: at('2026-09-11T00:00:00Z') });
    expect(csv.trim().split('\n').slice(1)).toEqual([
      `2026-09-10,ten_at,'@SUM(1),mock/mock-mini,chat,1,100,20,0,2.000000000,0.000000000`,
      `2026-09-10,ten_formula,"'=HYPERLINK(""x"")",mock/mock-mini,chat,1,100,20,0,1.000000000,0.000000000`,
      `2026-09-10,ten_punct,"Quote ""and"", comma",mock/mock-mini,chat,1,100,20,0,3.000000000,0.000000000`,
    ]);
  });

  it('has a line per day, tenant, model and endpoint', async () => {
    // One tenant's calls of one model through three APIs on one day, and one the next day.
    const day = at('2026-09-12T00:00:00Z');
    const through = (i: number, endpoint: 'chat' | 'responses' | 'messages', hour: number, cost: number) =>
      writeRequestLog(
        env,
        callRecord({ id: `req_finance_endpoint_${i}`, ts: day + hour * 3_600_000, tenantId: 'ten_endpoints', endpoint, costNano: usd(cost) }),
      );
    await through(0, 'chat', 1, 1);
    await through(1, 'responses', 2, 2);
    await through(2, 'responses', 3, 0.5);
    await through(3, 'messages', 4, 4);
    await through(4, 'chat', 25, 8);
    const csv = await spendCsv(env.DB, { from: day, to: day + 2 * 86_400_000 });
    // A tenant without a tenants row (deleted) has an empty name.
    expect(csv.trim().split('\n').slice(1)).toEqual([
      `2026-09-12,ten_endpoints,,mock/mock-mini,chat,1,100,20,0,1.000000000,0.000000000`,
      `2026-09-12,ten_endpoints,,mock/mock-mini,messages,1,100,20,0,4.000000000,0.000000000`,
      `2026-09-12,ten_endpoints,,mock/mock-mini,responses,2,200,40,0,2.500000000,0.000000000`,
      `2026-09-13,ten_endpoints,,mock/mock-mini,chat,1,100,20,0,8.000000000,0.000000000`,
    ]);
  });
});

describe('the month-end forecast', () => {
  const spendOf = async (tenantId: string, now: string) => {
    const spend = await tenantSpend(env.DB, at(now));
    expect(spend.month).toBe(now.slice(0, 7));
    return spend.data.find((t) => t.tenant_id === tenantId)!;
  };

  it('on the 1st at 00:06, runs the rate over the last 7 days of the previous month, not the 6 minutes of this one', async () => {
    const s = await spendOf('ten_first', '2026-10-01T00:06:00Z');
    expect(s).toMatchObject({ month: '2026-10', month_to_date_usd: 0.7, daily_run_rate_usd: 3 });
    // (7 + 13.3 + 0.7) / 7 = 3 a day, for the 31 days less 6 minutes left.
    expect(s.forecast_usd).toBeCloseTo(0.7 + 3 * (31 - 6 / 1440), 9);
  });

  it('mid-month, adds the rate times the days left to the month to date', async () => {
    const s = await spendOf('ten_mid', '2026-10-15T12:00:00Z');
    expect(s).toMatchObject({ month_to_date_usd: 56, daily_run_rate_usd: 2, monthly_budget_usd: 100, budget_used: 0.56 });
    expect(s.forecast_usd).toBeCloseTo(56 + 2 * 16.5, 9);
  });

  it('on the last day at 23:00, forecasts one hour of spend beyond the month to date', async () => {
    const s = await spendOf('ten_last', '2026-10-31T23:00:00Z');
    expect(s).toMatchObject({ month_to_date_usd: 21, daily_run_rate_usd: 3 });
    expect(s.forecast_usd).toBeCloseTo(21 + 3 / 24, 9);
  });

  it('is served at /admin/analytics/spend for the current month', async () => {
    const call = await callAdmin('/admin/analytics/spend');
    const body = (await call.response.json()) as { month: string; data: { tenant_id: string }[] };
    expect(body.month).toBe(new Date().toISOString().slice(0, 7));
    // Ordered by name (binary: '=' and '@' sort before letters).
    expect(body.data.map((t) => t.tenant_id)).toEqual(['ten_formula', 'ten_at', 'ten_first', 'ten_last', 'ten_mid', 'ten_punct']);
  });
});
