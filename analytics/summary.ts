/** GET /admin/analytics/summary: the headline numbers of a window. */
import { emptyCounters, type Counters, type Scope } from './aggregate';
import { NO_PERCENTILES, queryPoints, type Percentiles } from './aggregate-query';

export interface Summary {
  from: string;
  to: string;
  requests: number;
  errors: number;
  error_rate: number;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  cost_usd: number;
  /** Exact cost, integer nano-USD: cost_usd is this / 1e9. */
  cost_nano: number;
  saved_usd: number;
  saved_nano: number;
  /** Share of upstream tokens (response-cache hits excluded) served by the cheap tier. */
  cheap_token_share: number | null;
  /** Hits over cacheable calls (hits + misses). */
  cache_hit_rate: number | null;
  /** Successful calls (status 200). */
  latency_ms: { p50: number | null; p95: number | null; p99: number | null };
  /** Streamed calls, to the first chunk. */
  ttft_ms: { p50: number | null; p95: number | null };
}

const ratio = (part: number, whole: number) => (whole > 0 ? part / whole : null);

export function summarize(scope: Scope, totals: Counters & { latency: Percentiles; ttft: Percentiles }, cheapTokens: number, tieredTokens: number): Summary {
  return {
    from: new Date(scope.from).toISOString(),
    to: new Date(scope.to).toISOString(),
    requests: totals.requests,
    errors: totals.errors,
    error_rate: ratio(totals.errors, totals.requests) ?? 0,
    prompt_tokens: totals.prompt_tokens,
    completion_tokens: totals.completion_tokens,
    cached_tokens: totals.cached_tokens,
    cost_usd: totals.cost_nano / 1e9,
    cost_nano: totals.cost_nano,
    saved_usd: totals.saved_nano / 1e9,
    saved_nano: totals.saved_nano,
    cheap_token_share: ratio(cheapTokens, tieredTokens),
    cache_hit_rate: ratio(totals.cache_hits, totals.cache_hits + totals.cache_misses),
    latency_ms: totals.latency,
    ttft_ms: { p50: totals.ttft.p50, p95: totals.ttft.p95 },
  };
}

export async function summary(db: D1Database, scope: Scope): Promise<Summary> {
  const [[whole], byTier] = await Promise.all([
    queryPoints(db, scope, 'window', [], { percentiles: true }),
    queryPoints(db, scope, 'window', ['tier'], { percentiles: false }),
  ]);
  let cheapTokens = 0;
  let tieredTokens = 0;
  for (const row of byTier) {
    if (!row.tier) continue;
    const upstreamTokens = row.prompt_tokens + row.completion_tokens - row.hit_tokens;
    tieredTokens += upstreamTokens;
    if (row.tier === 'cheap') cheapTokens += upstreamTokens;
  }
  return summarize(scope, whole ?? { ...emptyCounters(), latency: NO_PERCENTILES, ttft: NO_PERCENTILES }, cheapTokens, tieredTokens);
}
