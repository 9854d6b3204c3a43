/**
 * Reports by user, key and tag once the raw rows of their window are purged: read from the
 * attribute rollups (analytics/attribute-rollup.ts), they equal, to the nano-dollar, what the raw
 * rows said before the purge, late rows included; latency percentiles are null where rolled-up
 * calls are part of a point; what the per-attribute rollups cannot answer is refused.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { analyticsState, STATE_KEYS, type Scope } from '../../analytics/aggregate';
import { spendCsv } from '../../analytics/finance';
import { runRollup, type RollupReport } from '../../analytics/rollup';
import { DAY_MS, HOUR_MS } from '../../analytics/segments';
import { breakdown, summary } from '../../analytics/summary';
import { timeseries } from '../../analytics/timeseries';
import type { GroupBy } from '../../analytics/types';
import type { Env } from '../../proxy/core/env';
import type { RequestRecord } from '../../proxy/core/request-record';
import { writeRequestLog } from '../../proxy/request-log/writer';
import { callRecord } from './analytics-helpers';
import { callAdmin, env } from './harness';

/** Without the ARCHIVE bucket, so the purge follows RETENTION_DAYS alone. */
const noArchive: Env = { ...env, ARCHIVE: undefined };
const NOW = Math.floor(Date.now() / HOUR_MS) * HOUR_MS;
const ROLLED_AT = NOW + 5 * 60_000;
const TODAY = Math.floor(NOW / DAY_MS) * DAY_MS;
const FROM = TODAY - 5 * DAY_MS;
/** Whole days whose raw rows a 2-day retention purges. */
const PURGED: Scope = { from: FROM, to: TODAY - 2 * DAY_MS };
/** Whole hours, from purged ones (within the hourly attribute rows' two days before raw_from) into the raw rows kept. */
const ACROSS: Scope = { from: TODAY - 4 * DAY_MS + 3 * HOUR_MS, to: NOW };

let seed = 11;
const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)];

function record(i: number, prefix: string, ts: number): RequestRecord {
  const tags: Record<string, string> = {};
  if (random() < 0.7) tags.team = pick(['search', 'ads']);
  if (random() < 0.5) tags.feature = pick(['rag', 'chat']);
  const failed = random() < 0.1;
  return callRecord({
    id: `${prefix}_${String(i).padStart(4, '0')}`,
    ts,
    tenantId: pick(['ten_r1', 'ten_r2']),
    keyId: pick(['key_1', 'key_2']),
    user: pick(['alice', 'bob', null]),
    tags: Object.keys(tags).length ? tags : null,
    status: failed ? 502 : 200,
    costNano: failed ? 0 : 1 + Math.floor(random() * 9_000_000),
    usage: { promptTokens: 10 + Math.floor(random() * 900), completionTokens: Math.floor(random() * 300), cachedTokens: 0, cacheWriteTokens: 0 },
    latencyMs: 20 + Math.floor(random() * 3000),
    cache: pick(['HIT', 'MISS', 'BYPASS'] as const),
  });
}

const GROUPINGS: GroupBy[] = ['user', 'key', 'tag:team', 'tag:feature'];
const FILTERS: Array<Pick<Scope, 'tenant' | 'user' | 'tag'>> = [
  { user: 'alice' },
  { tag: { key: 'team', value: 'search' } },
  { tenant: 'ten_r1', user: 'bob' },
  { user: 'nobody' },
];

/** Every report the attribute rollups answer, over purged days and across the retention. */
const reports = () =>
  Promise.all([
    ...[PURGED, ACROSS].flatMap((window) => [
      ...GROUPINGS.map((groupBy) => breakdown(env.DB, window, groupBy)),
      ...GROUPINGS.map((groupBy) => breakdown(env.DB, { ...window, tenant: 'ten_r2' }, groupBy)),
      ...FILTERS.map((filter) => summary(env.DB, { ...window, ...filter })),
      ...FILTERS.map((filter) => breakdown(env.DB, { ...window, ...filter }, 'tenant')),
      timeseries(env.DB, window, 'day', 'user'),
      timeseries(env.DB, { ...window, tag: { key: 'feature', value: 'rag' } }, 'day'),
    ]),
    // Hour detail before raw_from is kept for two days: ACROSS starts in them.
    timeseries(env.DB, ACROSS, 'hour', 'tag:team'),
    ...(['user', 'key', 'tag:team', 'tag:feature'] as const).map((groupBy) => spendCsv(env.DB, PURGED, groupBy)),
  ]);
type Reports = Awaited<ReturnType<typeof reports>>;

const PERCENTILE = /^(latency|ttft)/;
/** The reports without their latency percentiles: a rolled-up point has none. */
const withoutPercentiles = (answers: Reports) => JSON.parse(JSON.stringify(answers, (key, value: unknown) => (PERCENTILE.test(key) ? undefined : value)));

async function catchUp(runEnv: Env): Promise<RollupReport> {
  let report: RollupReport;
  do report = await runRollup(runEnv, ROLLED_AT);
  while (report.rolledUntil < NOW || report.lateHours > 0);
  return report;
}

const count = async (sql: string) => (await env.DB.prepare(sql).first<{ n: number }>())!.n;
let beforePurge: Reports;

beforeAll(async () => {
  await env.DB.prepare(
    "INSERT INTO tenants (id, name, routing, cache_ttl_s, created_at, updated_at) VALUES ('ten_r1', 'Rolled One', 'passthrough', 3600, 0, 0)",
  ).run();
  for (let i = 0; i < 400; i++) await writeRequestLog(env, record(i, 'req_ar', FROM + Math.floor(random() * (NOW - FROM))));
  await catchUp({ ...noArchive, RETENTION_DAYS: '200' });
  // Late rows for rolled-up hours, of a new user and tag value: their hours are rebuilt.
  for (let i = 0; i < 20; i++) {
    await writeRequestLog(env, { ...record(i, 'req_late', FROM + Math.floor(random() * (PURGED.to - FROM))), user: 'dave', tags: { team: 'late' } });
  }
  expect(await count('SELECT COUNT(*) AS n FROM rollup_late_hours')).toBeGreaterThan(0);
  await catchUp({ ...noArchive, RETENTION_DAYS: '200' });
  // Nothing is purged yet: these are the raw rows' answers.
  beforePurge = await reports();
  // A run rolls up at most MAX_HOURS_PER_RUN hours of rows into the attribute rollups as it purges them.
  let purged = 0;
  for (let report = await runRollup({ ...noArchive, RETENTION_DAYS: '2' }, ROLLED_AT); report.purged > 0;) {
    purged += report.purged;
    report = await runRollup({ ...noArchive, RETENTION_DAYS: '2' }, ROLLED_AT);
  }
  expect(purged).toBeGreaterThan(0);
});

describe('reports by user, key and tag over purged raw rows', () => {
  it('the raw rows of the purged days are gone, and the attribute rollups hold the late rows', async () => {
    expect((await analyticsState(env.DB)).rawFrom).toBe(NOW - 2 * DAY_MS);
    expect(await count(`SELECT COUNT(*) AS n FROM requests WHERE ts < ${PURGED.to}`)).toBe(0);
    expect(await count(`SELECT SUM(requests) AS n FROM rollup_attribute_daily WHERE dimension = 'user' AND value = 'dave'`)).toBe(20);
  });

  it('equal what the raw rows said, to the nano-dollar: groupings, filters, series and the CSV', async () => {
    const after = await reports();
    expect(withoutPercentiles(after)).toEqual(withoutPercentiles(beforePurge));
    // Not vacuous: the purged days have calls of every user, the late ones too.
    expect((await breakdown(env.DB, PURGED, 'user')).data.map((g) => g.key).sort()).toEqual(['alice', 'bob', 'dave', null].sort());
    expect(after.at(-4)).toContain(',dave,');
  });

  it('groups the calls with no user, or without the tag, under null: the tenant rollup less the dimension', async () => {
    const byTeam = await breakdown(env.DB, PURGED, 'tag:team');
    expect(byTeam.data.map((g) => g.key).sort()).toEqual(['ads', 'late', 'search', null].sort());
    const byNothing = await breakdown(env.DB, PURGED, 'tag:nobody');
    const whole = await summary(env.DB, PURGED);
    expect(byNothing.data.map((g) => [g.key, g.requests, g.cost_nano])).toEqual([[null, whole.requests, whole.cost_nano]]);
    // Every call has a key: no null group.
    expect((await breakdown(env.DB, PURGED, 'key')).data.map((g) => g.key)).toEqual(expect.not.arrayContaining([null]));
  });

  it('have no latency percentiles where rolled-up calls are part of a point, and keep those of raw points', async () => {
    const byUser = await breakdown(env.DB, ACROSS, 'user');
    expect(byUser.data.every((g) => g.latency_ms.p50 === null && g.ttft_ms.p50 === null)).toBe(true);
    const hourly = await timeseries(env.DB, ACROSS, 'hour', 'user');
    const alice = hourly.series.find((s) => s.key === 'alice')!.points;
    const rawFrom = NOW - 2 * DAY_MS;
    expect(alice.filter((p) => Date.parse(p.ts) < rawFrom).every((p) => p.latency_p50 === null)).toBe(true);
    expect(alice.some((p) => Date.parse(p.ts) >= rawFrom && p.latency_p50 !== null)).toBe(true);
  });

  it('refuse what one attribute at a time cannot answer before the raw rows kept, with a 400 naming the filter', async () => {
    const window = (scope: Scope) => `from=${new Date(scope.from).toISOString()}&to=${new Date(scope.to).toISOString()}`;
    for (const [query, param] of [
      ['summary?user=alice&tag=team=search', 'tag'],
      ['breakdown?group_by=model&user=alice', 'user'],
      ['breakdown?group_by=user&tag=team=ads', 'tag'],
      ['timeseries?interval=day&group_by=key&tag=team=ads', 'tag'],
    ]) {
      const refused = await callAdmin(`/admin/analytics/${query}&${window(PURGED)}`);
      expect(refused.response.status, query).toBe(400);
      expect(await refused.response.json(), query).toMatchObject({ error: { param, code: 'beyond_retention' } });
      // Within the raw rows kept, the same query is answered from them.
      const recent = await callAdmin(`/admin/analytics/${query}&${window({ from: NOW - DAY_MS, to: NOW })}`);
      expect(recent.response.status, query).toBe(200);
      await recent.response.text();
    }
  });

  it('refuse hour detail older than the hourly attribute rows (two days before raw_from), as hourly detail is refused', async () => {
    const state = await analyticsState(env.DB);
    expect(state.attributeHourlyFrom).toBe(TODAY - 4 * DAY_MS);
    expect(await count(`SELECT COUNT(*) AS n FROM rollup_attribute_hourly WHERE bucket_start < ${state.attributeHourlyFrom}`)).toBe(0);
    const older: Scope = { from: FROM + 3 * HOUR_MS, to: NOW };
    const call = await callAdmin(
      `/admin/analytics/timeseries?interval=hour&group_by=user&from=${new Date(older.from).toISOString()}&to=${new Date(NOW).toISOString()}`,
    );
    expect(call.response.status).toBe(400);
    const body = (await call.response.json()) as { error: { param: string; code: string; message: string } };
    expect(body.error).toMatchObject({ param: 'interval', code: 'beyond_retention' });
    expect(body.error.message).toContain('use interval=day');
    // A window there not starting at a UTC midnight needs hours too: refused, naming from.
    await expect(breakdown(env.DB, older, 'tag:team')).rejects.toMatchObject({ param: 'from', code: 'beyond_retention' });
    // By day, from a midnight, it is answered: whole days from the daily rows.
    const byDay = await timeseries(env.DB, { ...older, from: FROM }, 'day', 'user');
    expect(byDay.series.length).toBeGreaterThan(0);
  });

  it('refuse a window starting or ending inside a purged hour, and one before the attribute rollups begin', async () => {
    await expect(breakdown(env.DB, { from: PURGED.from + 60_000, to: PURGED.to }, 'user')).rejects.toMatchObject({ param: 'from', code: 'beyond_retention' });
    await expect(summary(env.DB, { from: PURGED.from, to: PURGED.to - 60_000, user: 'alice' })).rejects.toMatchObject({
      param: 'to',
      code: 'beyond_retention',
    });
    const setAttributesFrom = (value: number) =>
      env.DB.prepare('INSERT INTO analytics_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value')
        .bind(STATE_KEYS.attributesFrom, value)
        .run();
    await setAttributesFrom(FROM + DAY_MS);
    try {
      await expect(breakdown(env.DB, PURGED, 'tag:team')).rejects.toMatchObject({ param: 'from', code: 'beyond_retention' });
      expect((await breakdown(env.DB, { ...PURGED, from: FROM + DAY_MS }, 'tag:team')).data.length).toBeGreaterThan(0);
    } finally {
      await setAttributesFrom(0);
    }
  });

  it('serve GET /admin/export.csv?group_by= of a purged month as before', async () => {
    const call = await callAdmin(`/admin/export.csv?group_by=tag:team&from=${new Date(PURGED.from).toISOString()}&to=${new Date(PURGED.to).toISOString()}`);
    expect(call.response.status).toBe(200);
    expect(await call.response.text()).toBe(beforePurge.at(-2));
  });
});
