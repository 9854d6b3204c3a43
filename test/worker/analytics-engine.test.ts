import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Env } from '../../proxy/core/env';
import { writeRequestLog } from '../../proxy/request-log/writer';
import { AE_FIXTURE } from '../support/analytics-engine-fixture';
import { callRecord } from './analytics-helpers';
import { callAdmin, env, upstreamRequests, upstreamUrl } from './harness';
import { toDataPoint } from '../../proxy/request-log/data-point';

const aeEnv = () => ({
  CF_ACCOUNT_ID: 'acct123',
  CF_API_TOKEN: 'ae-test-token',
  AE_SQL_URL: `${upstreamUrl()}/client/v4/accounts/acct123/analytics_engine/sql`,
});
const window = 'from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00Z';

type Row = Record<string, number | string>;
/**
 * The SQL API answered inside the test (the shared stand-in answers fixed numbers whatever the
 * SQL): `sums` for the counters query, `latency` and `ttft` for the quantile queries. Returns
 * the SQL sent.
 */
function answerSqlApi(sums: Row, latency: Row, ttft: Row): { sql: string; authorization: string | null }[] {
  const sent: { sql: string; authorization: string | null }[] = [];
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (_input, init) => {
    const sql = String(init?.body);
    sent.push({ sql, authorization: new Headers(init?.headers).get('authorization') });
    const row = !sql.includes('quantile') ? sums : sql.includes('double8') ? ttft : latency;
    return Response.json({ meta: [], data: [row], rows: 1 });
  });
  return sent;
}
afterEach(() => vi.restoreAllMocks());

const summaryOf = async (query: string, overrides: Partial<Env> = aeEnv()) => {
  const call = await callAdmin(`/admin/analytics/summary?${query}`, {}, overrides);
  return {
    status: call.response.status,
    source: call.response.headers.get('x-analytics-source'),
    body: (await call.response.json()) as Record<string, unknown>,
  };
};

describe('analytics from the Analytics Engine SQL API', () => {
  it('serves the summary in the D1 shape, weighting by _sample_interval', async () => {
    const sent = answerSqlApi({ ...AE_FIXTURE.sums, latency_samples: 800, ttft_samples: 300 }, AE_FIXTURE.latency, AE_FIXTURE.ttft);
    const { status, source, body } = await summaryOf(`${window}&tenant=ten_ae1`);
    expect([status, source]).toEqual([200, 'analytics-engine']);
    const d1 = (await summaryOf(window, {})).body;
    expect(Object.keys(body).sort()).toEqual(Object.keys(d1).sort());
    const s = AE_FIXTURE.sums;
    expect(body).toMatchObject({
      requests: s.requests,
      errors: s.errors,
      error_rate: s.errors / s.requests,
      cost_nano: s.cost_nano,
      cost_usd: s.cost_nano / 1e9,
      upstream_calls: s.upstream_calls,
      upstream_errors: s.upstream_errors,
      upstream_error_rate: s.upstream_errors / s.upstream_calls,
      cheap_token_share: s.cheap_tokens / s.tiered_tokens,
      cache_hit_rate: s.cache_hits / (s.cache_hits + s.cache_misses),
      latency_ms: { p50: 412, p95: 1831, p99: 4200 },
      ttft_ms: { p50: 180, p95: 640 },
    });

    expect(sent).toHaveLength(3);
    for (const { sql, authorization } of sent) {
      expect(authorization).toBe('Bearer ae-test-token');
      expect(sql).toContain("index1 = 'ten_ae1'");
      expect(sql).toContain(`toDateTime(${Date.parse('2026-11-01T00:00:00Z') / 1000})`);
      expect(sql).toMatch(/_sample_interval/);
      expect(sql).toContain('FROM ai_proxy_requests');
    }
    expect(sent.some((r) => r.sql.includes('quantileExactWeighted(0.95)(double7, _sample_interval)'))).toBe(true);
    expect(sent.some((r) => r.sql.includes('countIf(double10 = 200) AS latency_samples, countIf(double8 >= 0) AS ttft_samples'))).toBe(true);
    // Upstream errors: status (double10) >= 400 but not 499, among calls with upstream attempts (double11).
    expect(sent[0].sql).toContain('SUM(IF(double11 > 0, _sample_interval, 0)) AS upstream_calls');
    expect(sent[0].sql).toContain('SUM(IF(double10 >= 400 AND double10 != 499 AND double11 > 0, _sample_interval, 0)) AS upstream_errors');
  });

  it("writes points that carry what the upstream-error sums read: the status as double10, the call's upstream attempts as double11", () => {
    const doubles = (fields: Parameters<typeof callRecord>[0]) => toDataPoint(callRecord(fields)).doubles!;
    // A tenant over its own limit (no attempt), an upstream 502 after two retries, a cache hit.
    expect(doubles({ id: 'req_ae_limit', ts: 0, status: 429, attempts: 0 }).slice(9, 11)).toEqual([429, 0]);
    expect(doubles({ id: 'req_ae_502', ts: 0, status: 502, attempts: 3 }).slice(9, 11)).toEqual([502, 3]);
    expect(doubles({ id: 'req_ae_hit', ts: 0, cache: 'HIT', attempts: 0 }).slice(9, 11)).toEqual([200, 0]);
  });

  it('sums reasoning tokens from double12, and groups series by endpoint from blob7', async () => {
    const sent = answerSqlApi(
      {
        ...AE_FIXTURE.sums,
        reasoning_tokens: 7000,
        latency_samples: 800,
        ttft_samples: 300,
        bucket: Date.parse('2026-11-01T03:00:00Z') / 1000,
        key: 'responses',
      },
      { ...AE_FIXTURE.latency, bucket: Date.parse('2026-11-01T03:00:00Z') / 1000, key: 'responses' },
      { ...AE_FIXTURE.ttft, bucket: Date.parse('2026-11-01T03:00:00Z') / 1000, key: 'responses' },
    );
    expect((await summaryOf(window)).body).toMatchObject({ reasoning_tokens: 7000, completion_tokens: AE_FIXTURE.sums.completion_tokens });
    expect(sent[0].sql).toContain('SUM(_sample_interval * double12) AS reasoning_tokens');

    const call = await callAdmin(`/admin/analytics/timeseries?${window}&interval=hour&group_by=endpoint`, {}, aeEnv());
    expect([call.response.status, call.response.headers.get('x-analytics-source')]).toEqual([200, 'analytics-engine']);
    const body = (await call.response.json()) as { group_by: string; series: { key: string; points: { requests: number; reasoning_tokens: number }[] }[] };
    expect(body.group_by).toBe('endpoint');
    expect(body.series.map((s) => s.key)).toEqual(['responses']);
    expect(body.series[0].points[3]).toMatchObject({ requests: AE_FIXTURE.sums.requests, reasoning_tokens: 7000 });
    expect(body.series[0].points[2]).toMatchObject({ requests: 0, reasoning_tokens: 0 });
    // After the summary's three queries, the series' three.
    const series = sent.slice(3);
    expect(series).toHaveLength(3);
    for (const { sql } of series) expect(sql).toMatch(/, blob7 AS key,[\s\S]*GROUP BY bucket, key/);
  });

  it('writes points that carry what the endpoint and reasoning figures read: the endpoint as blob7, reasoning tokens as double12', () => {
    const usage = { promptTokens: 10, completionTokens: 900, cachedTokens: 0, cacheWriteTokens: 0, reasoningTokens: 640 };
    const point = toDataPoint(callRecord({ id: 'req_ae_reasoning', ts: 0, endpoint: 'responses', usage }));
    expect([point.blobs![6], point.doubles![1], point.doubles![11]]).toEqual(['responses', 900, 640]);
    // A call without reasoning (an embeddings call) writes 0, as its D1 row does.
    const embedding = toDataPoint(
      callRecord({ id: 'req_ae_embedding', ts: 0, endpoint: 'embeddings', usage: { ...usage, completionTokens: 0, reasoningTokens: 0 } }),
    );
    expect([embedding.blobs![6], embedding.doubles![11]]).toEqual(['embeddings', 0]);
  });

  it('reports no upstream error rate when no call reached an upstream, as D1 does', async () => {
    answerSqlApi({ ...AE_FIXTURE.sums, upstream_calls: 0, upstream_errors: 0, latency_samples: 5, ttft_samples: 5 }, AE_FIXTURE.latency, AE_FIXTURE.ttft);
    expect((await summaryOf(window)).body).toMatchObject({ upstream_calls: 0, upstream_errors: 0, upstream_error_rate: null });
  });

  it('reports no percentiles for a set without points, as D1 does: calls but none successful, or no streams', async () => {
    // D1: one failed, non-streamed call in the window.
    await writeRequestLog(
      env,
      callRecord({ id: 'req_ae_failed', ts: Date.parse('2026-11-01T05:00:00Z'), status: 502, errorType: 'upstream_error', costNano: 0 }),
    );
    const d1 = (await summaryOf(window, {})).body;
    expect(d1).toMatchObject({ requests: 1, latency_ms: { p50: null, p95: null, p99: null }, ttft_ms: { p50: null, p95: null } });

    // The SQL API answers a quantile of 0 over no points.
    const zeros = { p50: 0, p95: 0, p99: 0 };
    answerSqlApi({ ...AE_FIXTURE.sums, requests: 1, latency_samples: 0, ttft_samples: 0 }, zeros, zeros);
    const ae = (await summaryOf(window)).body;
    expect([ae.requests, ae.latency_ms, ae.ttft_ms]).toEqual([1, d1.latency_ms, d1.ttft_ms]);

    vi.restoreAllMocks();
    answerSqlApi({ ...AE_FIXTURE.sums, latency_samples: 5, ttft_samples: 0 }, AE_FIXTURE.latency, zeros);
    expect((await summaryOf(window)).body).toMatchObject({ latency_ms: { p50: 412, p95: 1831, p99: 4200 }, ttft_ms: { p50: null, p95: null } });
  });

  it('serves timeseries in the D1 shape, every bucket present', async () => {
    const call = await callAdmin(`/admin/analytics/timeseries?${window}&interval=hour`, {}, aeEnv());
    const body = (await call.response.json()) as { interval: string; series: { key: string; points: { requests: number; latency_p95: number | null }[] }[] };
    expect(body.interval).toBe('hour');
    expect(body.series).toHaveLength(1);
    expect(body.series[0].points).toHaveLength(24);
    const s = AE_FIXTURE.sums;
    expect(body.series[0].points[0]).toMatchObject({
      requests: s.requests,
      upstream_calls: s.upstream_calls,
      upstream_errors: s.upstream_errors,
      upstream_error_rate: s.upstream_errors / s.upstream_calls,
      latency_p95: 1831,
    });
    expect(body.series[0].points[1]).toMatchObject({ requests: 0, upstream_calls: 0, upstream_errors: 0, upstream_error_rate: null });
    await writeRequestLog(env, callRecord({ id: 'req_ae_series', ts: Date.parse('2026-11-01T06:00:00Z') }));
    const d1 = (await (await callAdmin(`/admin/analytics/timeseries?${window}&interval=hour`)).response.json()) as typeof body;
    expect(Object.keys(body.series[0].points[0]).sort()).toEqual(Object.keys(d1.series[0].points[0]).sort());
  });

  it('refuses what is not a tenant id the same way from either source, before any SQL is sent', async () => {
    const sqlSent = async () => (await upstreamRequests('FROM ai_proxy_requests')).length;
    const before = await sqlSent();
    for (const tenant of ['a-b', "x'%20OR%201=1", 'ten_a-b']) {
      for (const source of [aeEnv(), {}]) {
        const { status, body } = await summaryOf(`${window}&tenant=${tenant}`, source);
        expect(status).toBe(400);
        expect(body.error).toMatchObject({ type: 'invalid_request_error', param: 'tenant', code: 'invalid_value' });
      }
    }
    const series = await callAdmin(`/admin/analytics/timeseries?${window}&tenant=a-b`, {}, aeEnv());
    expect(series.response.status).toBe(400);
    expect(await sqlSent()).toBe(before);
    // A real tenant id goes through (three queries), so the count above would have seen any.
    expect((await summaryOf(`${window}&tenant=ten_Zq3ae1`)).status).toBe(200);
    expect(await sqlSent()).toBe(before + 3);
  });

  it('reports API failures, and uses D1 without configuration', async () => {
    const wrongToken = await callAdmin(`/admin/analytics/summary?${window}`, {}, { ...aeEnv(), CF_API_TOKEN: 'nope' });
    expect(wrongToken.response.status).toBe(502);
    expect(((await wrongToken.response.json()) as { error: { code: string } }).error.code).toBe('analytics_engine_failed');
    expect((await callAdmin(`/admin/analytics/summary?${window}`)).response.headers.get('x-analytics-source')).toBe('d1');
  });
});
