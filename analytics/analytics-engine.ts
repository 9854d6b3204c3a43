/**
 * Summary and timeseries from the Analytics Engine SQL API, for deployments where that is
 * configured (CF_ACCOUNT_ID, CF_API_TOKEN): AE keeps every call for three months at no D1
 * cost, sampled at high volume, so every sum is weighted by `_sample_interval` and percentiles
 * use quantileExactWeighted. The answers have the same shape as the D1 ones.
 *
 * The data point layout is the one proxy/request-log/data-point.ts writes: index1 = tenant; blob1 tenant,
 * blob2 model, blob3 provider, blob4 tier, blob5 status, blob6 cache, blob7 endpoint; double1
 * prompt tokens, double2 completion, double3 cached, double5 cost (nano-USD), double6 saved
 * (nano-USD), double7 latency ms, double8 TTFT ms (-1 = none), double10 status, double11 upstream
 * attempts (0: a response-cache hit or a call refused before any; points written before the field
 * existed read 0, so they count as no upstream call), double12 reasoning tokens (points written
 * before it read 0, as those calls' rows do in D1), blob10 key id, blob12 end user, blob13 tags
 * (canonical JSON; both '' when none). Reports by user, key or tag, and the user and tag filters,
 * are answered by D1 alone: exact, where these points are sampled.
 */
import type { Env } from '../proxy/core/env';
import { invalidRequest, ProxyError } from '../proxy/core/errors';
import type { Scope } from './aggregate';
import { bucketGrid } from './timeseries';
import type { DimensionGroupBy, Interval, Point, Summary, Timeseries } from './types';
import { TENANT_ID_PATTERN, TENANT_ID_RULE } from '../proxy/core/ids';

export const DEFAULT_AE_DATASET = 'ai_proxy_requests';

export interface AnalyticsEngineConfig {
  url: string;
  token: string;
  dataset: string;
}

/** The SQL API's configuration, or null when the deployment has none (D1 then serves). */
export function analyticsEngineConfig(env: Env): AnalyticsEngineConfig | null {
  if (!env.CF_ACCOUNT_ID || !env.CF_API_TOKEN) return null;
  return {
    url: env.AE_SQL_URL || `https://api.cloudflare.com/client/v4/accounts/${env.CF_ACCOUNT_ID}/analytics_engine/sql`,
    token: env.CF_API_TOKEN,
    dataset: /^\w+$/.test(env.AE_DATASET ?? '') ? env.AE_DATASET! : DEFAULT_AE_DATASET,
  };
}

async function query<T>(config: AnalyticsEngineConfig, sql: string): Promise<T[]> {
  const response = await fetch(config.url, { method: 'POST', headers: { authorization: `Bearer ${config.token}` }, body: sql });
  if (!response.ok) {
    throw new ProxyError(502, `The Analytics Engine SQL API answered ${response.status}: ${(await response.text()).slice(0, 300)}`, {
      type: 'upstream_error',
      code: 'analytics_engine_failed',
    });
  }
  return ((await response.json()) as { data: T[] }).data;
}

/**
 * The SQL API takes no bound parameters, so the tenant id goes into the SQL text: the admin
 * query schema has already refused anything but a tenant id, and this check keeps any other
 * caller from passing SQL through.
 */
function whereClause(scope: Scope): string {
  const seconds = (ms: number) => Math.floor(ms / 1000);
  const clauses = [`timestamp >= toDateTime(${seconds(scope.from)})`, `timestamp < toDateTime(${seconds(scope.to)})`];
  if (scope.tenant !== undefined) {
    if (!TENANT_ID_PATTERN.test(scope.tenant)) throw invalidRequest(`Invalid value for 'tenant': ${TENANT_ID_RULE}.`, 'tenant', 'invalid_value');
    clauses.push(`index1 = '${scope.tenant}'`);
  }
  return clauses.join(' AND ');
}

const SUMS = `SUM(_sample_interval) AS requests,
  SUM(IF(double10 >= 400, _sample_interval, 0)) AS errors,
  SUM(IF(double11 > 0, _sample_interval, 0)) AS upstream_calls,
  SUM(IF(double10 >= 400 AND double10 != 499 AND double11 > 0, _sample_interval, 0)) AS upstream_errors,
  SUM(_sample_interval * double1) AS prompt_tokens,
  SUM(_sample_interval * double2) AS completion_tokens,
  SUM(_sample_interval * double12) AS reasoning_tokens,
  SUM(_sample_interval * double3) AS cached_tokens,
  SUM(_sample_interval * double5) AS cost_nano,
  SUM(_sample_interval * double6) AS saved_nano,
  SUM(IF(blob6 = 'HIT', _sample_interval, 0)) AS cache_hits,
  SUM(IF(blob6 = 'MISS', _sample_interval, 0)) AS cache_misses,
  SUM(IF(blob4 = 'cheap' AND blob6 != 'HIT', _sample_interval * (double1 + double2), 0)) AS cheap_tokens,
  SUM(IF(blob4 != '' AND blob6 != 'HIT', _sample_interval * (double1 + double2), 0)) AS tiered_tokens`;

/**
 * How many points each percentile set has: latency is over successful calls, TTFT over streams
 * with a first chunk, as in D1. Over no points the API still answers a quantile (0, not null),
 * so a set without points is reported null, as D1 reports it.
 */
const SAMPLES = `countIf(double10 = 200) AS latency_samples, countIf(double8 >= 0) AS ttft_samples`;

interface SumsRow {
  requests: number;
  errors: number;
  upstream_calls: number;
  upstream_errors: number;
  prompt_tokens: number;
  completion_tokens: number;
  reasoning_tokens: number;
  cached_tokens: number;
  cost_nano: number;
  saved_nano: number;
  cache_hits: number;
  cache_misses: number;
  cheap_tokens: number;
  tiered_tokens: number;
}

interface SampleCounts {
  latency_samples: number;
  ttft_samples: number;
}

interface QuantileRow {
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

const quantiles = (column: string) =>
  `quantileExactWeighted(0.5)(${column}, _sample_interval) AS p50, quantileExactWeighted(0.95)(${column}, _sample_interval) AS p95, quantileExactWeighted(0.99)(${column}, _sample_interval) AS p99`;

const ratio = (part: number, whole: number) => (whole > 0 ? part / whole : null);
const num = (value: unknown) => Number(value ?? 0);
const round = (value: unknown) => (value === null || value === undefined ? null : Math.round(Number(value)));

export async function summaryFromAnalyticsEngine(config: AnalyticsEngineConfig, scope: Scope): Promise<Summary> {
  const where = whereClause(scope);
  const [[sums], [latency], [ttft]] = await Promise.all([
    query<SumsRow & SampleCounts>(config, `SELECT ${SUMS}, ${SAMPLES} FROM ${config.dataset} WHERE ${where}`),
    query<QuantileRow>(config, `SELECT ${quantiles('double7')} FROM ${config.dataset} WHERE ${where} AND double10 = 200`),
    query<QuantileRow>(config, `SELECT ${quantiles('double8')} FROM ${config.dataset} WHERE ${where} AND double8 >= 0`),
  ]);
  const requests = num(sums?.requests);
  const errors = num(sums?.errors);
  return {
    from: new Date(scope.from).toISOString(),
    to: new Date(scope.to).toISOString(),
    requests,
    errors,
    error_rate: ratio(errors, requests) ?? 0,
    upstream_calls: num(sums?.upstream_calls),
    upstream_errors: num(sums?.upstream_errors),
    upstream_error_rate: ratio(num(sums?.upstream_errors), num(sums?.upstream_calls)),
    prompt_tokens: num(sums?.prompt_tokens),
    completion_tokens: num(sums?.completion_tokens),
    reasoning_tokens: num(sums?.reasoning_tokens),
    cached_tokens: num(sums?.cached_tokens),
    cost_usd: num(sums?.cost_nano) / 1e9,
    cost_nano: Math.round(num(sums?.cost_nano)),
    saved_usd: num(sums?.saved_nano) / 1e9,
    saved_nano: Math.round(num(sums?.saved_nano)),
    cheap_token_share: ratio(num(sums?.cheap_tokens), num(sums?.tiered_tokens)),
    cache_hit_rate: ratio(num(sums?.cache_hits), num(sums?.cache_hits) + num(sums?.cache_misses)),
    latency_ms: num(sums?.latency_samples)
      ? { p50: round(latency?.p50), p95: round(latency?.p95), p99: round(latency?.p99) }
      : { p50: null, p95: null, p99: null },
    ttft_ms: num(sums?.ttft_samples) ? { p50: round(ttft?.p50), p95: round(ttft?.p95) } : { p50: null, p95: null },
  };
}

const GROUP_COLUMN: Record<DimensionGroupBy, string> = { tenant: 'blob1', model: 'blob2', tier: 'blob4', provider: 'blob3', endpoint: 'blob7' };

export async function timeseriesFromAnalyticsEngine(
  config: AnalyticsEngineConfig,
  scope: Scope,
  interval: Interval,
  groupBy?: DimensionGroupBy,
): Promise<Timeseries> {
  const { first, step, count } = bucketGrid(scope, interval);
  const seconds = step / 1000;
  const key = groupBy ? GROUP_COLUMN[groupBy] : "'all'";
  const grouped = (select: string, extraWhere = '') =>
    `SELECT intDiv(toUInt32(timestamp), ${seconds}) * ${seconds} AS bucket, ${key} AS key, ${select}
     FROM ${config.dataset} WHERE ${whereClause(scope)}${extraWhere} GROUP BY bucket, key ORDER BY bucket`;
  type Keyed = { bucket: number; key: string };
  const [sums, latency, ttft] = await Promise.all([
    query<SumsRow & Keyed>(config, grouped(SUMS)),
    query<QuantileRow & Keyed>(config, grouped(quantiles('double7'), ' AND double10 = 200')),
    query<QuantileRow & Keyed>(config, grouped(quantiles('double8'), ' AND double8 >= 0')),
  ]);
  const byKey = (rows: Array<QuantileRow & Keyed>) => new Map(rows.map((r) => [`${r.bucket}\u0000${r.key}`, r]));
  const latencyOf = byKey(latency);
  const ttftOf = byKey(ttft);
  const empty = (i: number): Point => ({
    ts: new Date(first + i * step).toISOString(),
    requests: 0,
    errors: 0,
    error_rate: 0,
    upstream_calls: 0,
    upstream_errors: 0,
    upstream_error_rate: null,
    prompt_tokens: 0,
    completion_tokens: 0,
    reasoning_tokens: 0,
    cached_tokens: 0,
    cost_usd: 0,
    saved_usd: 0,
    cache_hits: 0,
    latency_p50: null,
    latency_p95: null,
    latency_p99: null,
    ttft_p50: null,
    ttft_p95: null,
  });
  const series = new Map<string, Point[]>();
  for (const row of sums) {
    const name = String(row.key || '(none)');
    let points = series.get(name);
    if (!points) series.set(name, (points = Array.from({ length: count }, (_, i) => empty(i))));
    const index = Math.floor((num(row.bucket) * 1000 - first) / step);
    if (index < 0 || index >= count) continue;
    const requests = num(row.requests);
    points[index] = {
      ...points[index],
      requests,
      errors: num(row.errors),
      error_rate: ratio(num(row.errors), requests) ?? 0,
      upstream_calls: num(row.upstream_calls),
      upstream_errors: num(row.upstream_errors),
      upstream_error_rate: ratio(num(row.upstream_errors), num(row.upstream_calls)),
      prompt_tokens: num(row.prompt_tokens),
      completion_tokens: num(row.completion_tokens),
      reasoning_tokens: num(row.reasoning_tokens),
      cached_tokens: num(row.cached_tokens),
      cost_usd: num(row.cost_nano) / 1e9,
      saved_usd: num(row.saved_nano) / 1e9,
      cache_hits: num(row.cache_hits),
      latency_p50: round(latencyOf.get(`${row.bucket}\u0000${row.key}`)?.p50),
      latency_p95: round(latencyOf.get(`${row.bucket}\u0000${row.key}`)?.p95),
      latency_p99: round(latencyOf.get(`${row.bucket}\u0000${row.key}`)?.p99),
      ttft_p50: round(ttftOf.get(`${row.bucket}\u0000${row.key}`)?.p50),
      ttft_p95: round(ttftOf.get(`${row.bucket}\u0000${row.key}`)?.p95),
    };
  }
  return {
    interval,
    group_by: groupBy ?? null,
    series: [...series.entries()].map(([k, points]) => ({ key: k, points })).sort((a, b) => a.key.localeCompare(b.key)),
  };
}
