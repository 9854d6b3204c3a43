import { createScheduledController } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { ENDPOINTS } from '../../analytics/endpoints';
import { spendCsv, usdString } from '../../analytics/finance';
import { analyticsState } from '../../analytics/aggregate';
import { bucketOf, bucketUpperBound } from '../../analytics/histogram';
import { runRollup } from '../../analytics/rollup';
import { DAY_MS, HOUR_MS } from '../../analytics/segments';
import { breakdown, summary } from '../../analytics/summary';
import { timeseries } from '../../analytics/timeseries';
import { writeRequestLog } from '../../proxy/request-log/writer';
import { callRecord, rawOnly } from './analytics-helpers';
import { callAdmin, env } from './harness';
import type { RequestRecord } from '../../proxy/core/request-record';

// A fixed, hour-aligned window in the past: three days of known calls.
const NOW = Math.floor(Date.now() / HOUR_MS) * HOUR_MS;
const FROM = NOW - 3 * DAY_MS;
const scope = { from: FROM, to: NOW };

let seed = 42;
const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
const pick = <T>(items: T[]) => items[Math.floor(random() * items.length)];

const randomRecords: RequestRecord[] = Array.from({ length: 400 }, (_, i) => {
  const endpoint = pick([...ENDPOINTS]);
  const tier = random() < 0.7 ? 'cheap' : 'expensive';
  const cache = pick(['HIT', 'MISS', 'BYPASS', 'BYPASS'] as const);
  const status = random() < 0.1 ? pick([429, 502, 503]) : 200;
  const stream = random() < 0.4;
  const promptTokens = 50 + Math.floor(random() * 2000);
  const completionTokens = status === 200 ? Math.floor(random() * 500) : 0;
  const cost = status === 200 && cache !== 'HIT' ? 1000 + Math.floor(random() * 5_000_000) : 0;
  // Hidden reasoning is a part of the completion, on the APIs of models that reason.
  const reasoningTokens = ['chat', 'responses', 'messages'].includes(endpoint) && random() < 0.5 ? Math.floor(completionTokens * random()) : 0;
  return {
    id: `req_analytics_${String(i).padStart(4, '0')}`,
    ts: FROM + Math.floor(random() * 3 * DAY_MS),
    tenantId: pick(['ten_a', 'ten_b', 'ten_c']),
    keyId: 'key_x',
    endpoint,
    modelRequested: 'auto',
    model: tier === 'cheap' ? 'mock/mock-mini' : 'mock/mock-large',
    provider: 'mock',
    tier,
    routeReason: 'rule:default',
    status,
    errorType: status === 200 ? null : 'upstream_error',
    errorMessage: null,
    usage: { promptTokens, completionTokens, cachedTokens: Math.floor(promptTokens / 3), cacheWriteTokens: 0, reasoningTokens },
    usageEstimated: false,
    costNano: cost,
    savedNano: cache === 'HIT' ? 2_000_000 : 0,
    latencyMs: 20 + Math.floor(random() ** 2 * 6000),
    ttftMs: stream ? 5 + Math.floor(random() * 900) : null,
    stream,
    cache,
    // No upstream for a cache hit, nor for half the 429s (the tenant's own limit); retries before a 5xx.
    attempts: cache === 'HIT' ? 0 : status === 429 && i % 2 ? 0 : status >= 500 ? 1 + (i % 3) : 1,
    failedAttempts: [],
  };
});

/**
 * Calls whose errors are the proxy's, the client's or an upstream's, in hours of their own. The
 * proxy routes before it admits, so a refusal carries the model (and provider) it would have used.
 */
const hourOf = (n: number) => FROM + n * HOUR_MS + 13 * 60_000;
const failed = (status: number, errorType: string) => ({
  status,
  errorType,
  costNano: 0,
  usage: { promptTokens: 40, completionTokens: 0, cachedTokens: 0, cacheWriteTokens: 0 },
});
const attempt = (n: number, model: string, status: number) => ({
  attempt: n,
  ts: hourOf(5),
  model,
  provider: model.split('/')[0],
  tier: 'cheap',
  status,
  errorType: 'upstream_error',
  errorMessage: 'failed',
  latencyMs: 30,
});
const OPENAI = { model: 'openai/gpt-4o-mini', provider: 'openai', tenantId: 'ten_e' };
const scenarios = {
  // A tenant hitting its own rpm limit, as in the demo: refused before any upstream call.
  tenantLimit: Array.from({ length: 6 }, (_, i) =>
    callRecord({ id: `req_scn_limit_${i}`, ts: hourOf(2) + i * 1000, ...OPENAI, tenantId: 'ten_d', ...failed(429, 'rate_limit_exceeded'), attempts: 0 }),
  ),
  budget: callRecord({ id: 'req_scn_budget', ts: hourOf(3), ...OPENAI, tenantId: 'ten_d', ...failed(429, 'insufficient_quota'), attempts: 0 }),
  badRequest: callRecord({
    id: 'req_scn_bad',
    ts: hourOf(4),
    tenantId: 'ten_d',
    model: null,
    provider: null,
    tier: null,
    routeReason: null,
    ...failed(400, 'invalid_value'),
    attempts: 0,
  }),
  upstream502: callRecord({
    id: 'req_scn_502',
    ts: hourOf(5),
    ...OPENAI,
    ...failed(502, 'upstream_error'),
    attempts: 3,
    failedAttempts: [attempt(1, OPENAI.model, 502), attempt(2, OPENAI.model, 502)],
  }),
  upstream429: callRecord({ id: 'req_scn_429', ts: hourOf(6), ...OPENAI, ...failed(429, 'rate_limit_exceeded'), attempts: 1 }),
  streamCut: callRecord({ id: 'req_scn_cut', ts: hourOf(7), ...OPENAI, ...failed(502, 'upstream_stream_incomplete'), stream: true, ttftMs: 90, attempts: 1 }),
  clientGone: callRecord({ id: 'req_scn_499', ts: hourOf(8), ...OPENAI, ...failed(499, 'client_closed'), attempts: 1 }),
  clientGoneEarly: callRecord({ id: 'req_scn_499_early', ts: hourOf(8) + 1000, ...OPENAI, ...failed(499, 'client_closed'), attempts: 0 }),
  cacheHit: callRecord({ id: 'req_scn_hit', ts: hourOf(9), ...OPENAI, cache: 'HIT', costNano: 0, savedNano: 500_000, attempts: 0 }),
  // The openai model failed twice, the fallback answered: a 200 of the fallback's model.
  fallback: callRecord({
    id: 'req_scn_fallback',
    ts: hourOf(10),
    tenantId: 'ten_e',
    model: 'mock/mock-large',
    provider: 'mock',
    tier: 'expensive',
    routeReason: 'fallback:openai/gpt-4o-mini',
    attempts: 3,
    failedAttempts: [attempt(1, OPENAI.model, 503), attempt(2, OPENAI.model, 503)],
  }),
  success: callRecord({ id: 'req_scn_ok', ts: hourOf(11), ...OPENAI, attempts: 1 }),
};
const scenarioRecords = Object.values(scenarios).flat();
const reachedUpstream = (r: RequestRecord) => r.attempts > 0;
const upstreamFailed = (r: RequestRecord) => r.status >= 400 && r.status !== 499 && r.attempts > 0;

/** A window that cuts hours and days in odd places, so it mixes all three sources once rolled up. */
const ODD = { from: FROM + 90 * 60_000 + 7, to: NOW - 7 * 60_000 };
// A call after ODD.to but inside the same (rolled-up) hour: reading that hour's rollup row would count it.
const afterOddEnd: RequestRecord = {
  ...randomRecords[0],
  id: 'req_analytics_after_odd_end',
  ts: NOW - 3 * 60_000,
  status: 200,
  errorType: null,
  costNano: 777_000_000,
};
const records = [...randomRecords, ...scenarioRecords, afterOddEnd];

function nearestRank(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return bucketUpperBound(bucketOf(sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1]));
}

beforeAll(async () => {
  await env.DB.batch([
    env.DB.prepare("INSERT INTO tenants (id, name, routing, cache_ttl_s, created_at, updated_at) VALUES ('ten_a', 'Acme, Inc.', 'passthrough', 3600, 0, 0)"),
    env.DB.prepare("INSERT INTO tenants (id, name, routing, cache_ttl_s, created_at, updated_at) VALUES ('ten_b', 'Beta', 'passthrough', 3600, 0, 0)"),
  ]);
  for (const record of records) await writeRequestLog(env, record);
});

describe('analytics from raw rows, rollups and both', () => {
  let raw: Awaited<ReturnType<typeof summary>>;

  it('sums the rows exactly, to the nano-dollar', async () => {
    raw = await summary(env.DB, scope);
    const sum = (f: (r: RequestRecord) => number) => records.reduce((total, r) => total + f(r), 0);
    expect(raw.requests).toBe(records.length);
    expect(raw.errors).toBe(records.filter((r) => r.status >= 400).length);
    expect(raw.upstream_calls).toBe(records.filter(reachedUpstream).length);
    expect(raw.upstream_errors).toBe(records.filter(upstreamFailed).length);
    expect(raw.upstream_error_rate).toBeCloseTo(raw.upstream_errors / raw.upstream_calls, 12);
    expect(raw.upstream_errors).toBeGreaterThan(0);
    expect(raw.prompt_tokens).toBe(sum((r) => r.usage.promptTokens));
    expect(raw.completion_tokens).toBe(sum((r) => r.usage.completionTokens));
    expect(raw.reasoning_tokens).toBe(sum((r) => r.usage.reasoningTokens ?? 0));
    expect(raw.reasoning_tokens).toBeGreaterThan(0);
    expect(raw.cached_tokens).toBe(sum((r) => r.usage.cachedTokens));
    expect(raw.cost_nano).toBe(sum((r) => r.costNano));
    expect(raw.saved_nano).toBe(sum((r) => r.savedNano));
    const upstream = records.filter((r) => r.cache !== 'HIT' && r.tier !== null);
    const tokens = (r: RequestRecord) => r.usage.promptTokens + r.usage.completionTokens;
    expect(raw.cheap_token_share).toBeCloseTo(
      upstream.filter((r) => r.tier === 'cheap').reduce((t, r) => t + tokens(r), 0) / upstream.reduce((t, r) => t + tokens(r), 0),
      12,
    );
    const hits = records.filter((r) => r.cache === 'HIT').length;
    expect(raw.cache_hit_rate).toBeCloseTo(hits / (hits + records.filter((r) => r.cache === 'MISS').length), 12);
  });

  it('computes percentiles as a direct computation does, on the histogram grid', () => {
    const latencies = records.filter((r) => r.status === 200).map((r) => r.latencyMs);
    const ttfts = records.filter((r) => r.ttftMs !== null).map((r) => r.ttftMs!);
    expect(raw.latency_ms).toEqual({ p50: nearestRank(latencies, 50), p95: nearestRank(latencies, 95), p99: nearestRank(latencies, 99) });
    expect(raw.ttft_ms).toEqual({ p50: nearestRank(ttfts, 50), p95: nearestRank(ttfts, 95) });
  });

  it('breaks the summary down per group, each group equal to its own summary', async () => {
    const byTenant = await breakdown(env.DB, scope, 'tenant');
    expect(byTenant.data.map((g) => g.key).sort()).toEqual(['ten_a', 'ten_b', 'ten_c', 'ten_d', 'ten_e']);
    for (const group of byTenant.data) {
      const { from: _from, to: _to, ...own } = await summary(env.DB, { ...scope, tenant: group.key! });
      expect(group).toEqual({ key: group.key, ...own });
    }
    const byModel = await breakdown(env.DB, scope, 'model');
    expect(byModel.data.map((g) => g.key).sort()).toEqual(['(none)', 'mock/mock-large', 'mock/mock-mini', 'openai/gpt-4o-mini']);
    expect(byModel.data.reduce((t, g) => t + g.cost_nano, 0)).toBe(raw.cost_nano);
    expect(byModel.data.find((g) => g.key === 'mock/mock-mini')!.cheap_token_share).toBe(1);
    const byProvider = await breakdown(env.DB, scope, 'provider');
    expect(byProvider.data.map((g) => g.key).sort()).toEqual(['(none)', 'mock', 'openai']);
    const providerOf = (r: RequestRecord) => r.model?.split('/')[0] ?? '(none)';
    for (const group of byProvider.data) {
      const own = records.filter((r) => providerOf(r) === group.key);
      expect(group, String(group.key)).toMatchObject({
        requests: own.length,
        errors: own.filter((r) => r.status >= 400).length,
        upstream_calls: own.filter(reachedUpstream).length,
        upstream_errors: own.filter(upstreamFailed).length,
      });
    }
    for (const field of ['requests', 'errors', 'upstream_calls', 'upstream_errors', 'cost_nano'] as const) {
      expect(
        byProvider.data.reduce((t, g) => t + g[field], 0),
        field,
      ).toBe(raw[field]);
    }
  });

  it('breaks the summary down per endpoint, each group the sums of its own calls', async () => {
    const byEndpoint = await breakdown(env.DB, scope, 'endpoint');
    expect(byEndpoint.group_by).toBe('endpoint');
    expect(byEndpoint.data.map((g) => g.key).sort()).toEqual([...ENDPOINTS].sort());
    for (const group of byEndpoint.data) {
      const own = records.filter((r) => r.endpoint === group.key);
      const sum = (f: (r: RequestRecord) => number) => own.reduce((t, r) => t + f(r), 0);
      expect(group, String(group.key)).toMatchObject({
        requests: own.length,
        errors: own.filter((r) => r.status >= 400).length,
        upstream_calls: own.filter(reachedUpstream).length,
        upstream_errors: own.filter(upstreamFailed).length,
        prompt_tokens: sum((r) => r.usage.promptTokens),
        completion_tokens: sum((r) => r.usage.completionTokens),
        reasoning_tokens: sum((r) => r.usage.reasoningTokens ?? 0),
        cost_nano: sum((r) => r.costNano),
      });
      const latencies = own.filter((r) => r.status === 200).map((r) => r.latencyMs);
      expect(group.latency_ms.p95, String(group.key)).toBe(nearestRank(latencies, 95));
    }
    // Largest spend first.
    const costs = byEndpoint.data.map((g) => g.cost_nano);
    expect(costs).toEqual([...costs].sort((a, b) => b - a));
    // Embeddings have no reasoning.
    expect(byEndpoint.data.find((g) => g.key === 'embeddings')!.reasoning_tokens).toBe(0);

    // The series say the same: per endpoint, the buckets add up to the group.
    const daily = await timeseries(env.DB, scope, 'day', 'endpoint');
    expect(daily.group_by).toBe('endpoint');
    expect(daily.series.map((s) => s.key)).toEqual([...ENDPOINTS].sort());
    for (const series of daily.series) {
      const group = byEndpoint.data.find((g) => g.key === series.key)!;
      expect(series.points.reduce((t, p) => t + p.requests, 0)).toBe(group.requests);
      expect(series.points.reduce((t, p) => t + p.reasoning_tokens, 0)).toBe(group.reasoning_tokens);
    }
    // One tenant by endpoint: that tenant's calls only.
    const tenantA = await breakdown(env.DB, { ...scope, tenant: 'ten_a' }, 'endpoint');
    for (const group of tenantA.data)
      expect(group.requests, String(group.key)).toBe(records.filter((r) => r.tenantId === 'ten_a' && r.endpoint === group.key).length);
  });

  it("blames an upstream only for calls that reached it and failed, never the proxy's refusals", async () => {
    const byProvider = await breakdown(env.DB, scope, 'provider');
    const openai = byProvider.data.find((g) => g.key === 'openai')!;
    // Refused (limit, budget), the client gone (twice), an upstream 502, 429 and cut stream.
    expect(openai).toMatchObject({ requests: 14, errors: 12, upstream_calls: 5, upstream_errors: 3, upstream_error_rate: 3 / 5 });
    // The request that named no model, refused by the proxy: an error, nothing sent upstream.
    expect(byProvider.data.find((g) => g.key === '(none)')).toMatchObject({
      requests: 1,
      errors: 1,
      upstream_calls: 0,
      upstream_errors: 0,
      upstream_error_rate: null,
    });
    // The tenant hitting its own limits has errors only, and no upstream errors (no rate: nothing went upstream).
    const tenantD = (await breakdown(env.DB, scope, 'tenant')).data.find((g) => g.key === 'ten_d')!;
    expect(tenantD).toMatchObject({ requests: 8, errors: 8, error_rate: 1, upstream_calls: 0, upstream_errors: 0, upstream_error_rate: null });
    // The fallback that answered is a success of the model that answered; its failed attempts count no error.
    const mockLarge = (await breakdown(env.DB, { from: hourOf(10) - 60_000, to: hourOf(10) + 60_000, tenant: 'ten_e' }, 'model')).data;
    expect(mockLarge).toEqual([
      expect.objectContaining({ key: 'mock/mock-large', requests: 1, errors: 0, upstream_calls: 1, upstream_errors: 0, upstream_error_rate: 0 }),
    ]);
    // The series say the same per point.
    const hourly = await timeseries(env.DB, { from: hourOf(2) - 13 * 60_000, to: hourOf(9) - 13 * 60_000 }, 'hour', 'provider');
    const openaiPoints = hourly.series.find((s) => s.key === 'openai')!.points;
    // Hours 2 to 8 of the window: the limit, the budget, the bad request (no provider), the 502, 429 and cut stream, the 499s.
    expect(openaiPoints.map((p) => [p.errors, p.upstream_calls, p.upstream_errors, p.upstream_error_rate])).toEqual([
      [6, 0, 0, null],
      [1, 0, 0, null],
      [0, 0, 0, null],
      [1, 1, 1, 1],
      [1, 1, 1, 1],
      [1, 1, 1, 1],
      [2, 1, 0, 0],
    ]);
  });

  it('answers exactly the same from rollups, for the summary, hourly and daily series, and the CSV', async () => {
    const rawHourly = await timeseries(env.DB, scope, 'hour', 'tenant');
    const rawDaily = await timeseries(env.DB, scope, 'day', 'tier');
    const rawCsv = await spendCsv(env.DB, scope);
    const rawByModel = await breakdown(env.DB, scope, 'model');
    // Providers fold the model projection's rows: the on-call view of upstream errors.
    const rawByProvider = await Promise.all([
      breakdown(env.DB, scope, 'provider'),
      timeseries(env.DB, scope, 'hour', 'provider'),
      timeseries(env.DB, scope, 'day', 'provider'),
    ]);
    // One tenant's views read the tenant+… projections.
    const oneTenant = { ...scope, tenant: 'ten_a' };
    const rawTenantViews = await Promise.all([
      summary(env.DB, oneTenant),
      timeseries(env.DB, oneTenant, 'day', 'provider'),
      breakdown(env.DB, oneTenant, 'tier'),
      timeseries(env.DB, oneTenant, 'hour'),
    ]);
    const rawOdd = await Promise.all([summary(env.DB, ODD), timeseries(env.DB, ODD, 'hour'), spendCsv(env.DB, ODD)]);
    // The endpoint projections: all tenants, one tenant, and (in the CSV) per tenant and model.
    const endpointViews = (window: typeof scope) =>
      Promise.all([
        breakdown(env.DB, window, 'endpoint'),
        timeseries(env.DB, window, 'hour', 'endpoint'),
        timeseries(env.DB, window, 'day', 'endpoint'),
        breakdown(env.DB, { ...window, tenant: 'ten_b' }, 'endpoint'),
        timeseries(env.DB, { ...window, tenant: 'ten_b' }, 'day', 'endpoint'),
      ]);
    const rawEndpointViews = await Promise.all([endpointViews(scope), endpointViews(ODD)]);

    let report;
    do report = await runRollup(env, NOW + 5 * 60_000);
    while (report.hours > 0 && report.rolledUntil < NOW);
    expect(report.rolledUntil).toBe(NOW);
    const rolledHours = await env.DB.prepare('SELECT COUNT(DISTINCT bucket_start) AS n FROM rollup_hourly').first<{ n: number }>();
    expect(rolledHours!.n).toBeGreaterThan(24);

    expect(await summary(env.DB, scope)).toEqual(raw);
    expect(await timeseries(env.DB, scope, 'hour', 'tenant')).toEqual(rawHourly);
    expect(await timeseries(env.DB, scope, 'day', 'tier')).toEqual(rawDaily);
    expect(await spendCsv(env.DB, scope)).toBe(rawCsv);
    expect(await breakdown(env.DB, scope, 'model')).toEqual(rawByModel);
    expect(
      await Promise.all([breakdown(env.DB, scope, 'provider'), timeseries(env.DB, scope, 'hour', 'provider'), timeseries(env.DB, scope, 'day', 'provider')]),
    ).toEqual(rawByProvider);
    expect(rawByProvider[0].data.find((g) => g.key === 'openai')).toMatchObject({ upstream_calls: 5, upstream_errors: 3 });
    expect(
      await Promise.all([
        summary(env.DB, oneTenant),
        timeseries(env.DB, oneTenant, 'day', 'provider'),
        breakdown(env.DB, oneTenant, 'tier'),
        timeseries(env.DB, oneTenant, 'hour'),
      ]),
    ).toEqual(rawTenantViews);
    const expected = records.filter((r) => r.ts >= ODD.from && r.ts < ODD.to);
    expect(rawOdd[0].requests).toBe(expected.length);
    expect(rawOdd[0].cost_nano).toBe(expected.reduce((t, r) => t + r.costNano, 0));
    expect(await Promise.all([summary(env.DB, ODD), timeseries(env.DB, ODD, 'hour'), spendCsv(env.DB, ODD)])).toEqual(rawOdd);
    expect(await Promise.all([endpointViews(scope), endpointViews(ODD)])).toEqual(rawEndpointViews);
    // The rollups do keep the endpoint projections (rather than answering from raw rows).
    const endpointRows = await env.DB.prepare(
      "SELECT dims, COUNT(DISTINCT endpoint) AS n FROM rollup_daily WHERE dims IN ('endpoint', 'tenant+endpoint', 'tenant+model+endpoint') GROUP BY dims ORDER BY dims",
    ).all<{ dims: string; n: number }>();
    expect(endpointRows.results).toEqual([
      { dims: 'endpoint', n: ENDPOINTS.length },
      { dims: 'tenant+endpoint', n: ENDPOINTS.length },
      { dims: 'tenant+model+endpoint', n: ENDPOINTS.length },
    ]);
  });

  it('answers by endpoint from rollups exactly as from raw rows, whatever the edges of the window', async () => {
    // Seeded windows whose edges fall on and off minutes, hours and days, each checked against
    // the raw rows alone (nothing rolled up): every source mix of planSegments, per endpoint.
    let windowSeed = 11;
    const next = () => (windowSeed = (windowSeed * 16807) % 2147483647) / 2147483647;
    const edge = () => {
      const t = FROM - 2 * HOUR_MS + Math.floor(next() * (NOW - FROM + 4 * HOUR_MS));
      const snap = next();
      return snap < 0.2 ? Math.floor(t / DAY_MS) * DAY_MS : snap < 0.45 ? Math.floor(t / HOUR_MS) * HOUR_MS : snap < 0.7 ? Math.floor(t / 60_000) * 60_000 : t;
    };
    const views = (window: typeof scope) =>
      Promise.all([
        breakdown(env.DB, window, 'endpoint'),
        timeseries(env.DB, window, 'hour', 'endpoint'),
        timeseries(env.DB, window, 'day', 'endpoint'),
        breakdown(env.DB, { ...window, tenant: 'ten_c' }, 'endpoint'),
        spendCsv(env.DB, window),
      ]);
    const sources = new Set<string>();
    for (let i = 0; i < 24; i++) {
      const [a, b] = [edge(), edge()].sort((x, y) => x - y);
      const window = { from: a, to: b > a ? b : a + 1 };
      const rolled = await views(window);
      expect(rolled, `${new Date(window.from).toISOString()} – ${new Date(window.to).toISOString()}`).toEqual(await rawOnly(() => views(window)));
      const total = rolled[0].data.reduce((t, g) => t + g.requests, 0);
      expect(total).toBe(records.filter((r) => r.ts >= window.from && r.ts < window.to).length);
      const midnight = window.from % DAY_MS === 0 ? 'day-aligned' : window.from % HOUR_MS === 0 ? 'hour-aligned' : 'unaligned';
      sources.add(`${midnight} ${window.to - window.from > DAY_MS ? 'long' : 'short'}`);
    }
    // The seed gives windows of every kind.
    expect(sources.size).toBeGreaterThanOrEqual(5);
  }, 120_000);

  it('keeps answering from rollups after raw rows are purged', async () => {
    const purged = await runRollup({ ...env, RETENTION_DAYS: '1' }, NOW + 5 * 60_000);
    expect(purged.purged).toBeGreaterThan(0);
    const left = await env.DB.prepare('SELECT COUNT(*) AS n FROM requests').first<{ n: number }>();
    expect(left!.n).toBeLessThan(records.length);
    expect(await summary(env.DB, scope)).toEqual(raw);
  });

  it('produces a finance CSV that adds up to the summary', async () => {
    const csv = await spendCsv(env.DB, scope);
    const [header, ...lines] = csv.trim().split('\n');
    expect(header).toBe('day,tenant_id,tenant_name,model,endpoint,requests,prompt_tokens,completion_tokens,cached_tokens,cost_usd,saved_usd');
    expect(csv).toContain('"Acme, Inc."');
    // Amounts are exact decimals: read them back as integer nano-USD. Columns are counted from
    // the end because a quoted tenant name may contain commas.
    const nano = (usd: string) => Number(usd.replace('.', ''));
    const costColumn = lines.map((line) => line.split(',').at(-2)!);
    expect(costColumn.reduce((t, usd) => t + nano(usd), 0)).toBe(raw.cost_nano);
    expect(lines.reduce((t, line) => t + Number(line.split(',').at(-6)), 0)).toBe(raw.requests);
    // One line per day, tenant, model and endpoint: each endpoint's lines add up to its calls.
    for (const endpoint of ENDPOINTS) {
      const own = lines.filter((line) => line.split(',').at(-7) === endpoint);
      expect(
        own.reduce((t, line) => t + Number(line.split(',').at(-6)), 0),
        endpoint,
      ).toBe(records.filter((r) => r.endpoint === endpoint).length);
    }
    const keys = lines.map((line) => line.split(',').slice(0, 2).concat(line.split(',').slice(-8, -6)).join(','));
    expect(new Set(keys).size).toBe(lines.length);
    expect(usdString(1_234_567_890)).toBe('1.234567890');
    expect(usdString(5)).toBe('0.000000005');
  });
});

describe('the analytics API', () => {
  it('serves the summary, series, spend and CSV to the admin, with the default window', async () => {
    const q = `from=${new Date(FROM).toISOString()}&to=${new Date(NOW).toISOString()}`;
    const body = (await (await callAdmin(`/admin/analytics/summary?${q}`)).response.json()) as { requests: number; latency_ms: object };
    expect(body.requests).toBe(records.length);
    const series = (await (await callAdmin(`/admin/analytics/timeseries?${q}&interval=day&group_by=model`)).response.json()) as {
      series: { key: string; points: unknown[] }[];
    };
    expect(series.series.map((s) => s.key)).toEqual(['(none)', 'mock/mock-large', 'mock/mock-mini', 'openai/gpt-4o-mini']);
    // Every UTC day the window touches is a point: a window of three days not starting at midnight touches four.
    expect(series.series[0].points).toHaveLength(Math.ceil((NOW - Math.floor(FROM / DAY_MS) * DAY_MS) / DAY_MS));
    const byTier = (await (await callAdmin(`/admin/analytics/breakdown?${q}&group_by=tier`)).response.json()) as {
      group_by: string;
      data: { key: string; requests: number }[];
    };
    expect(byTier.group_by).toBe('tier');
    expect(byTier.data.reduce((t, g) => t + g.requests, 0)).toBe(records.length);
    const byEndpoint = (await (await callAdmin(`/admin/analytics/breakdown?${q}&group_by=endpoint`)).response.json()) as {
      group_by: string;
      data: { key: string; requests: number; reasoning_tokens: number }[];
    };
    expect(byEndpoint.group_by).toBe('endpoint');
    expect(byEndpoint.data.map((g) => g.key).sort()).toEqual([...ENDPOINTS].sort());
    expect(byEndpoint.data.find((g) => g.key === 'responses')!.requests).toBe(records.filter((r) => r.endpoint === 'responses').length);
    const endpointSeries = (await (await callAdmin(`/admin/analytics/timeseries?${q}&interval=day&group_by=endpoint`)).response.json()) as {
      group_by: string;
      series: { key: string; points: { reasoning_tokens: number }[] }[];
    };
    expect([endpointSeries.group_by, endpointSeries.series.map((s) => s.key)]).toEqual(['endpoint', [...ENDPOINTS].sort()]);
    const messagesReasoning = endpointSeries.series.find((s) => s.key === 'messages')!.points.reduce((t, p) => t + p.reasoning_tokens, 0);
    expect(messagesReasoning).toBe(records.filter((r) => r.endpoint === 'messages').reduce((t, r) => t + (r.usage.reasoningTokens ?? 0), 0));
    expect(messagesReasoning).toBeGreaterThan(0);
    const csv = await callAdmin(`/admin/export.csv?${q}`);
    expect(csv.response.headers.get('content-type')).toContain('text/csv');
    expect((await csv.response.text()).split('\n')[0]).toContain(',model,endpoint,');
    const spend = (await (await callAdmin('/admin/analytics/spend')).response.json()) as { month: string; data: { tenant_id: string }[] };
    expect(spend.data.map((t) => t.tenant_id)).toEqual(['ten_a', 'ten_b']);
    // The default window is the last 24 hours.
    expect(((await (await callAdmin('/admin/analytics/summary')).response.json()) as { requests: number }).requests).toBeLessThan(records.length);
  });

  it("filters the request log by endpoint, and shows each call's endpoint and reasoning tokens", async () => {
    const q = `from=${new Date(FROM).toISOString()}&to=${new Date(NOW).toISOString()}&limit=500`;
    // Every call: the retention test above purged the older ones from D1, after archiving them to R2.
    const { rawFrom } = await analyticsState(env.DB);
    expect(records.some((r) => r.ts < rawFrom)).toBe(true);
    const kept = records.filter((r) => r.ts >= rawFrom);
    for (const endpoint of ENDPOINTS) {
      // Pages that read the archive may be short: the cursor is followed to the end.
      const page: { data: { id: string; endpoint: string; completion_tokens: number; reasoning_tokens: number }[] } = { data: [] };
      let cursor: string | null = '';
      do {
        const next = (await (await callAdmin(`/admin/requests?${q}&endpoint=${endpoint}${cursor ? `&cursor=${cursor}` : ''}`)).response.json()) as {
          data: typeof page.data;
          next_cursor: string | null;
        };
        page.data.push(...next.data);
        cursor = next.next_cursor;
      } while (cursor);
      const expected = records.filter((r) => r.endpoint === endpoint && r.ts >= FROM && r.ts < NOW);
      expect(expected.length, endpoint).toBeGreaterThan(0);
      expect(page.data.map((r) => r.id).sort(), endpoint).toEqual(expected.map((r) => r.id).sort());
      expect(new Set(page.data.map((r) => r.endpoint))).toEqual(new Set([endpoint]));
      for (const row of page.data) expect(row.reasoning_tokens).toBe(expected.find((r) => r.id === row.id)!.usage.reasoningTokens ?? 0);
    }
    const reasoned = kept.find((r) => (r.usage.reasoningTokens ?? 0) > 0)!;
    const detail = (await (await callAdmin(`/admin/requests/${reasoned.id}`)).response.json()) as Record<string, unknown>;
    expect(detail).toMatchObject({
      endpoint: reasoned.endpoint,
      completion_tokens: reasoned.usage.completionTokens,
      reasoning_tokens: reasoned.usage.reasoningTokens,
    });
  });

  it.each([
    ['/admin/requests?endpoint=completions', 'endpoint', 'invalid_value'],
    ['/admin/requests?endpoint=CHAT', 'endpoint', 'invalid_value'],
    ['/admin/analytics/summary?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z', 'from', 'invalid_value'],
    ['/admin/analytics/summary?from=2026-01-02&to=2026-01-02', 'from', 'invalid_value'],
    ['/admin/analytics/summary?from=yesterday', 'from', 'invalid_value'],
    ['/admin/analytics/summary?to=2026-02-30', 'to', 'invalid_value'],
    ['/admin/export.csv?from=2026-11-01T00:00', 'from', 'invalid_value'],
    ['/admin/analytics/summary?tenant=a-b', 'tenant', 'invalid_value'],
    ['/admin/analytics/timeseries?interval=minute&from=2025-01-01T00:00:00Z&to=2026-01-01T00:00:00Z', 'interval', 'too_many_points'],
    ['/admin/analytics/timeseries?interval=week', 'interval', 'invalid_value'],
    ['/admin/analytics/breakdown', 'group_by', 'invalid_value'],
    ['/admin/analytics/breakdown?group_by=colour', 'group_by', 'invalid_value'],
  ])('rejects %s with an OpenAI-shaped 400 naming %s', async (path, param, code) => {
    const { response } = await callAdmin(path);
    expect(response.status).toBe(400);
    const { error } = (await response.json()) as { error: { type: string; param: string; code: string; message: string } };
    expect(error).toMatchObject({ type: 'invalid_request_error', param, code });
    expect(error.message).toContain(param);
  });

  it('takes plain dates for from and to, as UTC midnights', async () => {
    const day = new Date(FROM + DAY_MS).toISOString().slice(0, 10);
    const next = new Date(FROM + 2 * DAY_MS).toISOString().slice(0, 10);
    const { response } = await callAdmin(`/admin/analytics/summary?from=${day}&to=${next}`);
    const body = (await response.json()) as { from: string; to: string; requests: number };
    const [from, to] = [Date.parse(`${day}T00:00:00Z`), Date.parse(`${next}T00:00:00Z`)];
    expect(body).toMatchObject({
      from: `${day}T00:00:00.000Z`,
      to: `${next}T00:00:00.000Z`,
      requests: records.filter((r) => r.ts >= from && r.ts < to).length,
    });
    expect(body.requests).toBeGreaterThan(0);
    const csv = await (await callAdmin(`/admin/export.csv?from=${day}&to=${next}`)).response.text();
    expect(
      new Set(
        csv
          .trim()
          .split('\n')
          .slice(1)
          .map((line) => line.slice(0, 10)),
      ),
    ).toEqual(new Set([day]));
  });

  it('runs the rollup from the cron trigger', async () => {
    const worker = (await import('../../proxy/index')).default;
    const { createExecutionContext, waitOnExecutionContext } = await import('cloudflare:test');
    const ctx = createExecutionContext();
    await worker.scheduled!(createScheduledController({ scheduledTime: Date.now(), cron: '*/10 * * * *' }), env, ctx);
    await waitOnExecutionContext(ctx);
    const state = await env.DB.prepare("SELECT value FROM analytics_state WHERE key = 'rolled_until'").first<{ value: number }>();
    expect(state!.value).toBeGreaterThanOrEqual(NOW);
  });
});
