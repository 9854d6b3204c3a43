/** GET /admin/analytics/summary and /breakdown: the headline numbers of a window, whole or per group. */
import { emptyCounters, type Counters, type Scope } from './aggregate';
import { compareGroupKeys, dimensionOf, groupKeyOf, NO_PERCENTILES, queryPoints, type Percentiles } from './aggregate-query';
import type { Breakdown, GroupBy, Summary } from './types';

const ratio = (part: number, whole: number) => (whole > 0 ? part / whole : null);

function summarize(scope: Scope, totals: Counters & { latency: Percentiles; ttft: Percentiles }): Summary {
  return {
    from: new Date(scope.from).toISOString(),
    to: new Date(scope.to).toISOString(),
    requests: totals.requests,
    errors: totals.errors,
    error_rate: ratio(totals.errors, totals.requests) ?? 0,
    upstream_calls: totals.upstream_calls,
    upstream_errors: totals.upstream_errors,
    upstream_error_rate: ratio(totals.upstream_errors, totals.upstream_calls),
    prompt_tokens: totals.prompt_tokens,
    completion_tokens: totals.completion_tokens,
    reasoning_tokens: totals.reasoning_tokens,
    cached_tokens: totals.cached_tokens,
    cost_usd: totals.cost_nano / 1e9,
    cost_nano: totals.cost_nano,
    saved_usd: totals.saved_nano / 1e9,
    saved_nano: totals.saved_nano,
    cheap_token_share: ratio(totals.cheap_tokens, totals.tiered_tokens),
    cache_hit_rate: ratio(totals.cache_hits, totals.cache_hits + totals.cache_misses),
    latency_ms: totals.latency,
    ttft_ms: { p50: totals.ttft.p50, p95: totals.ttft.p95 },
  };
}

/** The summary of each group of a window (one group, 'all', without `groupBy`), largest spend first. */
async function summariesBy(db: D1Database, scope: Scope, groupBy: GroupBy | undefined): Promise<{ key: string | null; summary: Summary }[]> {
  const groups = await queryPoints(db, scope, 'window', groupBy ? [dimensionOf(groupBy)] : [], { percentiles: true });
  return groups
    .map((row) => ({ key: groupKeyOf(row, groupBy), summary: summarize(scope, row) }))
    .sort((a, b) => b.summary.cost_nano - a.summary.cost_nano || b.summary.requests - a.summary.requests || compareGroupKeys(a.key, b.key));
}

export async function summary(db: D1Database, scope: Scope): Promise<Summary> {
  const [whole] = await summariesBy(db, scope, undefined);
  return whole?.summary ?? summarize(scope, { ...emptyCounters(), latency: NO_PERCENTILES, ttft: NO_PERCENTILES });
}

/** GET /admin/analytics/breakdown: the summary per tenant, model, tier, provider, endpoint, user, key or tag value, side by side. */
export async function breakdown(db: D1Database, scope: Scope, groupBy: GroupBy): Promise<Breakdown> {
  const groups = await summariesBy(db, scope, groupBy);
  return {
    from: new Date(scope.from).toISOString(),
    to: new Date(scope.to).toISOString(),
    group_by: groupBy,
    data: groups.map(({ key, summary: { from: _from, to: _to, ...numbers } }) => ({ key, ...numbers })),
  };
}
