/**
 * Aggregates of the request log per time bucket, tenant, model and tier, with latencies as
 * histograms: what the rollup job computes from raw rows and stores, and reads back to build
 * daily rows. The reports query through aggregate-query.ts instead, which does the same sums
 * inside D1.
 */
import { addValue, mergeInto, type Histogram } from './histogram';

export const COUNTERS = [
  'requests', 'errors', 'cache_hits', 'cache_misses', 'prompt_tokens', 'completion_tokens', 'cached_tokens',
  'cache_write_tokens', 'hit_tokens', 'cost_nano', 'saved_nano',
] as const;

export type Counters = Record<(typeof COUNTERS)[number], number>;

export interface Totals extends Counters {
  latency: Histogram;
  ttft: Histogram;
}

export interface AggregateRow extends Totals {
  bucket_start: number;
  tenant_id: string;
  model: string;
  tier: string;
}

export interface Scope {
  from: number;
  to: number;
  tenant?: string;
}

export const emptyCounters = (): Counters => Object.fromEntries(COUNTERS.map((c) => [c, 0])) as Counters;
export const emptyTotals = (): Totals => ({ ...emptyCounters(), latency: {}, ttft: {} });

export function addInto<T extends Totals>(target: T, row: Totals): T {
  for (const c of COUNTERS) target[c] += row[c];
  mergeInto(target.latency, row.latency);
  mergeInto(target.ttft, row.ttft);
  return target;
}

const RAW_COUNTERS = `COUNT(*) AS requests, SUM(status >= 400) AS errors, SUM(cache = 'HIT') AS cache_hits,
  SUM(cache = 'MISS') AS cache_misses, SUM(prompt_tokens) AS prompt_tokens, SUM(completion_tokens) AS completion_tokens,
  SUM(cached_tokens) AS cached_tokens, SUM(cache_write_tokens) AS cache_write_tokens,
  SUM(CASE WHEN cache = 'HIT' THEN prompt_tokens + completion_tokens ELSE 0 END) AS hit_tokens,
  SUM(cost_nano) AS cost_nano, SUM(saved_nano) AS saved_nano`;
const RAW_GROUP = `(ts / ?1) * ?1 AS bucket_start, tenant_id, COALESCE(model, '') AS model, COALESCE(tier, '') AS tier`;

const groupKey = (r: { bucket_start: number; tenant_id: string; model: string; tier: string }) => `${r.bucket_start}\u0000${r.tenant_id}\u0000${r.model}\u0000${r.tier}`;

/** Aggregates straight from the request log, in buckets of `bucketMs`. Three queries, one round trip. */
export async function rawAggregates(db: D1Database, scope: Scope, bucketMs: number): Promise<AggregateRow[]> {
  const tenantFilter = scope.tenant ? ' AND tenant_id = ?4' : '';
  const params = [bucketMs, scope.from, scope.to, ...(scope.tenant ? [scope.tenant] : [])];
  const where = `ts >= ?2 AND ts < ?3${tenantFilter}`;
  const [sums, latencies, ttfts] = await db.batch<Record<string, number | string>>([
    db.prepare(`SELECT ${RAW_GROUP}, ${RAW_COUNTERS} FROM requests WHERE ${where} GROUP BY 1, 2, 3, 4`).bind(...params),
    db.prepare(`SELECT ${RAW_GROUP}, latency_ms AS value, COUNT(*) AS n FROM requests WHERE ${where} AND status = 200 GROUP BY 1, 2, 3, 4, 5`).bind(...params),
    db.prepare(`SELECT ${RAW_GROUP}, ttft_ms AS value, COUNT(*) AS n FROM requests WHERE ${where} AND ttft_ms IS NOT NULL GROUP BY 1, 2, 3, 4, 5`).bind(...params),
  ]);
  const rows = new Map<string, AggregateRow>();
  for (const r of sums.results) {
    const row = { ...emptyTotals(), bucket_start: Number(r.bucket_start), tenant_id: String(r.tenant_id), model: String(r.model), tier: String(r.tier) };
    for (const c of COUNTERS) row[c] = Number(r[c] ?? 0);
    rows.set(groupKey(row), row);
  }
  const addHistogram = (results: Array<Record<string, number | string>>, field: 'latency' | 'ttft') => {
    for (const r of results) {
      const row = rows.get(groupKey({ bucket_start: Number(r.bucket_start), tenant_id: String(r.tenant_id), model: String(r.model), tier: String(r.tier) }));
      if (row) addValue(row[field], Number(r.value), Number(r.n));
    }
  };
  addHistogram(latencies.results, 'latency');
  addHistogram(ttfts.results, 'ttft');
  return [...rows.values()];
}

type RollupTable = 'rollup_hourly' | 'rollup_daily';

export async function rollupAggregates(db: D1Database, table: RollupTable, scope: Scope): Promise<AggregateRow[]> {
  const { results } = await db
    .prepare(`SELECT * FROM ${table} WHERE bucket_start >= ? AND bucket_start < ?${scope.tenant ? ' AND tenant_id = ?' : ''}`)
    .bind(scope.from, scope.to, ...(scope.tenant ? [scope.tenant] : []))
    .all<AggregateRow & { latency_hist: string; ttft_hist: string }>();
  return results.map(({ latency_hist, ttft_hist, ...row }) => ({ ...row, latency: JSON.parse(latency_hist), ttft: JSON.parse(ttft_hist) }));
}

export async function rolledUntil(db: D1Database): Promise<number> {
  const row = await db.prepare("SELECT value FROM analytics_state WHERE key = 'rolled_until'").first<{ value: number }>();
  return row?.value ?? 0;
}
