import { describe, expect, it } from 'vitest';
import { AE_FIXTURE } from '../support/analytics-engine-fixture';
import { callAdmin, upstreamRequests, upstreamUrl } from './harness';

const aeEnv = () => ({ CF_ACCOUNT_ID: 'acct123', CF_API_TOKEN: 'ae-test-token', AE_SQL_URL: `${upstreamUrl()}/client/v4/accounts/acct123/analytics_engine/sql` });
const window = 'from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00Z';

describe('analytics from the Analytics Engine SQL API', () => {
  it('serves the summary in the D1 shape, weighting by _sample_interval', async () => {
    const call = await callAdmin(`/admin/analytics/summary?${window}&tenant=ten_ae1`, {}, aeEnv());
    expect(call.response.status).toBe(200);
    expect(call.response.headers.get('x-analytics-source')).toBe('analytics-engine');
    const body = (await call.response.json()) as Record<string, unknown>;
    const d1 = (await (await callAdmin(`/admin/analytics/summary?${window}`)).response.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(Object.keys(d1).sort());
    const s = AE_FIXTURE.sums;
    expect(body).toMatchObject({
      requests: s.requests, errors: s.errors, error_rate: s.errors / s.requests, cost_nano: s.cost_nano, cost_usd: s.cost_nano / 1e9,
      cheap_token_share: s.cheap_tokens / s.tiered_tokens, cache_hit_rate: s.cache_hits / (s.cache_hits + s.cache_misses),
      latency_ms: { p50: 412, p95: 1831, p99: 4200 }, ttft_ms: { p50: 180, p95: 640 },
    });

    const sent = (await upstreamRequests('ten_ae1')).filter((r) => r.path.endsWith('/analytics_engine/sql'));
    expect(sent).toHaveLength(3);
    expect(sent[0].headers.authorization).toBe('Bearer ae-test-token');
    for (const request of sent) {
      expect(request.rawBody).toContain("index1 = 'ten_ae1'");
      expect(request.rawBody).toContain(`toDateTime(${Date.parse('2026-11-01T00:00:00Z') / 1000})`);
      expect(request.rawBody).toMatch(/_sample_interval/);
      expect(request.rawBody).toContain('FROM ai_proxy_requests');
    }
    expect(sent.some((r) => r.rawBody.includes('quantileExactWeighted(0.95)(double7, _sample_interval)'))).toBe(true);
  });

  it('serves timeseries in the D1 shape, every bucket present', async () => {
    const call = await callAdmin(`/admin/analytics/timeseries?${window}&interval=hour`, {}, aeEnv());
    const body = (await call.response.json()) as { interval: string; series: { key: string; points: { requests: number; latency_p95: number | null }[] }[] };
    expect(body.interval).toBe('hour');
    expect(body.series).toHaveLength(1);
    expect(body.series[0].points).toHaveLength(24);
    expect(body.series[0].points[0]).toMatchObject({ requests: AE_FIXTURE.sums.requests, latency_p95: 1831 });
    expect(body.series[0].points[1].requests).toBe(0);
  });

  it('refuses a tenant id that could not have come from the proxy, reports API failures, and uses D1 without configuration', async () => {
    expect((await callAdmin(`/admin/analytics/summary?${window}&tenant=x'%20OR%201=1`, {}, aeEnv())).response.status).toBe(400);
    const wrongToken = await callAdmin(`/admin/analytics/summary?${window}`, {}, { ...aeEnv(), CF_API_TOKEN: 'nope' });
    expect(wrongToken.response.status).toBe(502);
    expect(((await wrongToken.response.json()) as { error: { code: string } }).error.code).toBe('analytics_engine_failed');
    expect((await callAdmin(`/admin/analytics/summary?${window}`)).response.headers.get('x-analytics-source')).toBe('d1');
  });
});
