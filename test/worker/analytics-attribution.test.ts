/**
 * Reports by end user, API key and tag, and the user and tag filters: every group adds up to the
 * request log's own rows exactly (nano-USD), whatever the rollups hold, calls with no user or no
 * such tag group under null, and the finance CSV groups the same way.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { STATE_KEYS } from '../../analytics/aggregate';
import { spendCsv, usdString } from '../../analytics/finance';
import { runRollup } from '../../analytics/rollup';
import { DAY_MS, HOUR_MS } from '../../analytics/segments';
import { breakdown, summary } from '../../analytics/summary';
import { timeseries } from '../../analytics/timeseries';
import type { GroupBy } from '../../analytics/types';
import type { RequestRecord } from '../../proxy/core/request-record';
import { writeRequestLog } from '../../proxy/request-log/writer';
import { callRecord } from './analytics-helpers';
import { callAdmin, env } from './harness';

// Three whole days in the past, rolled up, raw rows kept: the reports by attribute read the raw rows.
const NOW = Math.floor(Date.now() / HOUR_MS) * HOUR_MS;
const FROM = NOW - 3 * DAY_MS;
const scope = { from: FROM, to: NOW };
/** A window cutting hours and days in odd places. */
const ODD = { from: FROM + 90 * 60_000 + 7, to: NOW - DAY_MS - 7 * 60_000 };

let seed = 7;
const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)];

const records: RequestRecord[] = Array.from({ length: 300 }, (_, i) => {
  const tags: Record<string, string> = {};
  if (random() < 0.7) tags.team = pick(['search', 'ads']);
  if (random() < 0.5) tags.feature = pick(['rag', 'chat', 'summarize']);
  const failed = random() < 0.1;
  return callRecord({
    id: `req_attr_${String(i).padStart(4, '0')}`,
    ts: FROM + Math.floor(random() * 3 * DAY_MS),
    tenantId: pick(['ten_u1', 'ten_u2']),
    keyId: pick(['key_1', 'key_2', 'key_3']),
    user: pick(['alice', 'bob', 'carol', null]),
    tags: Object.keys(tags).length ? tags : null,
    status: failed ? 502 : 200,
    costNano: failed ? 0 : 1 + Math.floor(random() * 9_000_000),
    usage: { promptTokens: 10 + Math.floor(random() * 900), completionTokens: Math.floor(random() * 300), cachedTokens: 0, cacheWriteTokens: 0 },
    latencyMs: 20 + Math.floor(random() * 3000),
    cache: pick(['HIT', 'MISS', 'BYPASS'] as const),
  });
});

beforeAll(async () => {
  await env.DB.prepare(
    "INSERT INTO tenants (id, name, routing, cache_ttl_s, created_at, updated_at) VALUES ('ten_u1', 'Users One', 'passthrough', 3600, 0, 0)",
  ).run();
  for (const record of records) await writeRequestLog(env, record);
  // Rolled up to NOW (the job works off at most 48 new hours a run).
  for (let i = 0; i < 3; i++) await runRollup(env, NOW + 5 * 60_000);
});

interface RawGroup {
  key: string | null;
  requests: number;
  errors: number;
  prompt_tokens: number;
  cost_nano: number;
  saved_nano: number;
}

/** The request log's own sums per group, straight from its rows: `column` is SQL over a row. */
async function rawGroups(column: string, window: { from: number; to: number }, where = '', params: unknown[] = []): Promise<RawGroup[]> {
  const { results } = await env.DB.prepare(
    `SELECT ${column} AS key, COUNT(*) AS requests, SUM(status >= 400) AS errors, SUM(prompt_tokens) AS prompt_tokens, SUM(cost_nano) AS cost_nano,
       SUM(saved_nano) AS saved_nano FROM requests WHERE ts >= ? AND ts < ?${where} GROUP BY 1`,
  )
    .bind(window.from, window.to, ...params)
    .all<RawGroup>();
  return results;
}

const COLUMN: Record<string, string> = {
  user: 'user',
  key: 'key_id',
  'tag:team': `json_extract(tags, '$."team"')`,
  'tag:feature': `json_extract(tags, '$."feature"')`,
};
const byKey = <T extends { key: string | null }>(groups: T[]) => [...groups].sort((a, b) => String(a.key).localeCompare(String(b.key)));

describe('reports by user, key and tag', () => {
  it('have rolled-up hours under them, so that reading a rollup would show', async () => {
    const rolled = await env.DB.prepare('SELECT COUNT(*) AS n FROM rollup_hourly').first<{ n: number }>();
    expect(rolled!.n).toBeGreaterThan(0);
  });

  for (const groupBy of ['user', 'key', 'tag:team', 'tag:feature'] as const) {
    it(`group_by=${groupBy}: each group is the sums of its own rows, to the nano-dollar, over a whole and an odd window`, async () => {
      for (const window of [scope, ODD]) {
        const report = await breakdown(env.DB, window, groupBy);
        expect(report.group_by).toBe(groupBy);
        const raw = await rawGroups(COLUMN[groupBy], window);
        expect(
          byKey(report.data).map((g) => ({
            key: g.key,
            requests: g.requests,
            errors: g.errors,
            prompt_tokens: g.prompt_tokens,
            cost_nano: g.cost_nano,
            saved_nano: g.saved_nano,
          })),
        ).toEqual(byKey(raw));
        // Together, every call once.
        const whole = await summary(env.DB, window);
        expect(report.data.reduce((t, g) => t + g.cost_nano, 0)).toBe(whole.cost_nano);
        expect(report.data.reduce((t, g) => t + g.requests, 0)).toBe(whole.requests);
      }
    });
  }

  it('groups the calls with no user, and those without the tag, under null', async () => {
    const byUser = await breakdown(env.DB, scope, 'user');
    const noUser = records.filter((r) => r.user === null);
    expect(byUser.data.find((g) => g.key === null)).toMatchObject({ requests: noUser.length, cost_nano: noUser.reduce((t, r) => t + r.costNano, 0) });
    const byTeam = await breakdown(env.DB, scope, 'tag:team');
    expect(byTeam.data.map((g) => g.key).sort()).toEqual(['ads', 'search', null].sort());
    expect(byTeam.data.find((g) => g.key === null)!.requests).toBe(records.filter((r) => r.tags?.team === undefined).length);
    // A tag no call has: one null group of every call.
    const byNothing = await breakdown(env.DB, scope, 'tag:nobody');
    expect(byNothing.data.map((g) => [g.key, g.requests])).toEqual([[null, records.length]]);
  });

  it('per hour and per day, the series of each group add up to its breakdown group', async () => {
    for (const interval of ['hour', 'day'] as const) {
      const series = await timeseries(env.DB, scope, interval, 'tag:feature');
      const groups = await breakdown(env.DB, scope, 'tag:feature');
      expect(series.series.map((s) => s.key)).toEqual(['chat', 'rag', 'summarize', null]);
      for (const s of series.series) {
        const group = groups.data.find((g) => g.key === s.key)!;
        expect(
          s.points.reduce((t, p) => t + p.requests, 0),
          `${interval} ${s.key}`,
        ).toBe(group.requests);
        expect(s.points.reduce((t, p) => t + p.cost_usd, 0)).toBeCloseTo(group.cost_usd, 9);
      }
    }
  });

  it('with one tenant: that tenant’s rows only', async () => {
    const report = await breakdown(env.DB, { ...scope, tenant: 'ten_u1' }, 'key');
    expect(byKey(report.data).map((g) => ({ key: g.key, requests: g.requests, cost_nano: g.cost_nano }))).toEqual(
      byKey(await rawGroups('key_id', scope, ' AND tenant_id = ?', ['ten_u1'])).map(({ key, requests, cost_nano }) => ({ key, requests, cost_nano })),
    );
  });
});

describe('the user and tag filters', () => {
  it('narrow the summary, breakdowns and series to the matching rows, exactly', async () => {
    const cases: Array<[string, { user?: string; tag?: { key: string; value: string } }, string, unknown[]]> = [
      ['one user', { user: 'alice' }, ' AND user = ?', ['alice']],
      ['one tag', { tag: { key: 'team', value: 'search' } }, ` AND json_extract(tags, '$."team"') = ?`, ['search']],
      ['both', { user: 'bob', tag: { key: 'feature', value: 'rag' } }, ` AND user = ? AND json_extract(tags, '$."feature"') = ?`, ['bob', 'rag']],
    ];
    for (const [what, filters, where, params] of cases) {
      const [raw] = await rawGroups("'all'", ODD, where, params);
      const filtered = await summary(env.DB, { ...ODD, ...filters });
      expect({ requests: filtered.requests, errors: filtered.errors, prompt_tokens: filtered.prompt_tokens, cost_nano: filtered.cost_nano }, what).toEqual({
        requests: raw.requests,
        errors: raw.errors,
        prompt_tokens: raw.prompt_tokens,
        cost_nano: raw.cost_nano,
      });
      const byModel = await breakdown(env.DB, { ...ODD, ...filters }, 'model');
      expect(
        byModel.data.reduce((t, g) => t + g.cost_nano, 0),
        what,
      ).toBe(raw.cost_nano);
      const daily = await timeseries(env.DB, { ...ODD, ...filters }, 'day', 'key');
      expect(
        daily.series.flatMap((s) => s.points).reduce((t, p) => t + p.requests, 0),
        what,
      ).toBe(raw.requests);
    }
  });

  it('are answered by D1 even where Analytics Engine is configured: exact, where its points are sampled', async () => {
    // An Analytics Engine SQL API that cannot answer: a report that asked it would fail.
    const ae = { CF_ACCOUNT_ID: 'acct', CF_API_TOKEN: 'token', AE_SQL_URL: 'http://127.0.0.1:9/unreachable' };
    const window = `from=${new Date(scope.from).toISOString()}&to=${new Date(scope.to).toISOString()}`;
    for (const query of [
      'analytics/summary?user=alice',
      'analytics/timeseries?group_by=user',
      'analytics/timeseries?tag=team=ads',
      'analytics/timeseries?group_by=key',
    ]) {
      const call = await callAdmin(`/admin/${query}&${window}`, {}, ae);
      expect(call.response.status, query).toBe(200);
      expect(call.response.headers.get('x-analytics-source'), query).toBe('d1');
      await call.response.text();
    }
  });
});

describe('the finance CSV grouped', () => {
  const parse = (csv: string) =>
    csv
      .trim()
      .split('\n')
      .map((line) => line.split(','));

  it('keeps its default columns: day, tenant, model, endpoint', async () => {
    const [header] = parse(await spendCsv(env.DB, scope));
    expect(header).toEqual([
      'day',
      'tenant_id',
      'tenant_name',
      'model',
      'endpoint',
      'requests',
      'prompt_tokens',
      'completion_tokens',
      'cached_tokens',
      'cost_usd',
      'saved_usd',
    ]);
  });

  for (const groupBy of ['user', 'key', 'tag:team'] as const) {
    it(`group_by=${groupBy}: a line per day, tenant and ${groupBy}, adding up to the rows`, async () => {
      const [header, ...lines] = parse(await spendCsv(env.DB, ODD, groupBy));
      expect(header.slice(0, 4)).toEqual(['day', 'tenant_id', 'tenant_name', groupBy]);
      const raw = await rawGroups(`strftime('%Y-%m-%d', ts / 1000, 'unixepoch') || ',' || tenant_id || ',' || COALESCE(${COLUMN[groupBy]}, '')`, ODD);
      const fromCsv = lines.map(([day, tenant, , group, requests, , , , cost]) => ({ key: `${day},${tenant},${group}`, requests: Number(requests), cost }));
      expect(byKey(fromCsv)).toEqual(byKey(raw.map((g) => ({ key: g.key, requests: g.requests, cost: usdString(g.cost_nano) }))));
      expect(lines.find(([, tenant]) => tenant === 'ten_u1')![2]).toBe('Users One');
    });
  }

  it('is served by GET /admin/export.csv?group_by=', async () => {
    const window = `from=${new Date(ODD.from).toISOString()}&to=${new Date(ODD.to).toISOString()}`;
    const call = await callAdmin(`/admin/export.csv?group_by=tag:feature&${window}`);
    expect(call.response.status).toBe(200);
    expect(await call.response.text()).toBe(await spendCsv(env.DB, ODD, 'tag:feature'));
  });
});

describe('the admin API', () => {
  it.each([
    ['breakdown?group_by=tag:Team', 'group_by'],
    ['breakdown?group_by=tag:', 'group_by'],
    [`breakdown?group_by=tag:${'k'.repeat(33)}`, 'group_by'],
    ['breakdown?group_by=users', 'group_by'],
    ['breakdown?group_by=user&tag=team', 'tag'],
    ['breakdown?group_by=user&tag==search', 'tag'],
    [`timeseries?user=${'u'.repeat(65)}`, 'user'],
    ['summary?tag=team=a,b', 'tag'],
    ['export.csv?group_by=tag:Bad', 'group_by'],
  ])('refuses %s: 400 naming %s', async (query, param) => {
    const call = await callAdmin(`/admin/${query.startsWith('export') ? '' : 'analytics/'}${query}`);
    expect(call.response.status).toBe(400);
    expect(await call.response.json()).toMatchObject({ error: { param } });
  });

  it('refuses a report by user, key or tag reaching before the attribute rollups begin, rather than answering in part', async () => {
    const attributesFrom = FROM + DAY_MS;
    const setState = (key: string, value: number) =>
      env.DB.prepare('INSERT INTO analytics_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').bind(key, value).run();
    // Raw rows purged before NOW (as far as reports know), and attribute rollups from a day later than FROM.
    await Promise.all([setState(STATE_KEYS.rawFrom, NOW), setState(STATE_KEYS.attributesFrom, attributesFrom)]);
    try {
      const window = (from: number) => `from=${new Date(from).toISOString()}&to=${new Date(NOW).toISOString()}`;
      for (const query of ['breakdown?group_by=user', 'timeseries?interval=day&group_by=tag:team', 'summary?user=alice']) {
        const refused = await callAdmin(`/admin/analytics/${query}&${window(FROM)}`);
        expect(refused.response.status, query).toBe(400);
        expect(await refused.response.json(), query).toMatchObject({ error: { param: 'from', code: 'beyond_retention' } });
        const within = await callAdmin(`/admin/analytics/${query}&${window(attributesFrom)}`);
        expect(within.response.status, query).toBe(200);
        await within.response.text();
      }
      // Reports by a dimension the rollups keep still answer for the whole window.
      const byModel = await callAdmin(`/admin/analytics/breakdown?group_by=model&${window(FROM)}`);
      expect(byModel.response.status).toBe(200);
      await byModel.response.text();
    } finally {
      await Promise.all([setState(STATE_KEYS.rawFrom, 0), setState(STATE_KEYS.attributesFrom, 0)]);
    }
  });

  it('serves a breakdown by user with null for the calls with no user', async () => {
    const window = `from=${new Date(scope.from).toISOString()}&to=${new Date(scope.to).toISOString()}`;
    const call = await callAdmin(`/admin/analytics/breakdown?group_by=user&${window}`);
    const body = (await call.response.json()) as { group_by: GroupBy; data: Array<{ key: string | null }> };
    expect(body.group_by).toBe('user');
    expect(body.data.map((g) => g.key).sort()).toEqual(['alice', 'bob', 'carol', null].sort());
  });
});
