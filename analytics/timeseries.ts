/** GET /admin/analytics/timeseries: the numbers per minute, hour or day, optionally per group. */
import { emptyCounters, type Scope } from './aggregate';
import { compareGroupKeys, dimensionOf, groupKeyOf, NO_PERCENTILES, queryPoints, type PointRow } from './aggregate-query';
import { DAY_MS, HOUR_MS, MINUTE_MS } from './segments';
import type { GroupBy, Interval, Point, Timeseries } from './types';

export const INTERVAL_MS: Record<Interval, number> = { minute: MINUTE_MS, hour: HOUR_MS, day: DAY_MS };
/** More points than a chart can show: ask for a coarser interval. */
export const MAX_POINTS = 2000;

/** A bucket where nothing happened (only ever read). */
const EMPTY_POINT: PointRow = {
  ...emptyCounters(),
  bucket_start: 0,
  tenant_id: '',
  model: '',
  tier: '',
  endpoint: '',
  attribute: null,
  latency: NO_PERCENTILES,
  ttft: NO_PERCENTILES,
};

function point(ts: number, t: PointRow): Point {
  return {
    ts: new Date(ts).toISOString(),
    requests: t.requests,
    errors: t.errors,
    error_rate: t.requests ? t.errors / t.requests : 0,
    upstream_calls: t.upstream_calls,
    upstream_errors: t.upstream_errors,
    upstream_error_rate: t.upstream_calls ? t.upstream_errors / t.upstream_calls : null,
    prompt_tokens: t.prompt_tokens,
    completion_tokens: t.completion_tokens,
    reasoning_tokens: t.reasoning_tokens,
    cached_tokens: t.cached_tokens,
    cost_usd: t.cost_nano / 1e9,
    saved_usd: t.saved_nano / 1e9,
    cache_hits: t.cache_hits,
    latency_p50: t.latency.p50,
    latency_p95: t.latency.p95,
    latency_p99: t.latency.p99,
    ttft_p50: t.ttft.p50,
    ttft_p95: t.ttft.p95,
  };
}

/** The buckets of a window: the first bucket's start, the step and how many. */
export function bucketGrid(scope: Scope, interval: Interval): { first: number; step: number; count: number } {
  const step = INTERVAL_MS[interval];
  const first = Math.floor(scope.from / step) * step;
  const count = Math.ceil((scope.to - first) / step);
  if (count > MAX_POINTS) throw new RangeError(`${count} ${interval} buckets is more than ${MAX_POINTS}: choose a coarser interval or a shorter window.`);
  return { first, step, count };
}

/** Every bucket of the window appears in every series (zeros where nothing happened), so charts line up. */
export async function timeseries(db: D1Database, scope: Scope, interval: Interval, groupBy?: GroupBy): Promise<Timeseries> {
  const { first, step, count } = bucketGrid(scope, interval);

  const rows = await queryPoints(db, scope, interval, groupBy ? [dimensionOf(groupBy)] : [], { percentiles: true });
  const groups = new Map<string | null, PointRow[]>();
  for (const row of rows) {
    const key = groupKeyOf(row, groupBy);
    let buckets = groups.get(key);
    if (!buckets) groups.set(key, (buckets = new Array<PointRow>(count).fill(EMPTY_POINT)));
    const index = Math.floor((row.bucket_start - first) / step);
    if (index >= 0 && index < count) buckets[index] = row;
  }
  const series = [...groups.entries()]
    .map(([key, buckets]) => ({ key, points: buckets.map((t, i) => point(first + i * step, t)) }))
    .sort((a, b) => compareGroupKeys(a.key, b.key));
  return { interval, group_by: groupBy ?? null, series };
}
