/**
 * The analytics reports' one query path: counters and latency percentiles per point, computed
 * inside D1 over whichever sources answer each part of the window (raw rows, hourly and daily
 * rollups; see segments.ts). Histograms from the sources are merged in SQL (json_each for the
 * rollups, the same bucket arithmetic as histogram.ts for raw rows), and percentiles are taken
 * with window functions, so the Worker receives one small row per point however many rows and
 * buckets lie behind it.
 */
import { COUNTERS, rolledUntil, type Counters, type Scope } from './aggregate';
import { bucketUpperBound } from './histogram';
import { DAY_MS, HOUR_MS, MINUTE_MS, planSegments } from './segments';
import type { GroupBy } from './types';

/** What points are split by; `provider` is read from the model's `provider/` prefix (reported in `model`). */
export type Dimension = 'tenant_id' | 'model' | 'tier' | 'provider';
/** The dimension behind each of the API's group_by values. */
export const GROUP_DIMENSION: Record<GroupBy, Dimension> = { tenant: 'tenant_id', model: 'model', tier: 'tier', provider: 'provider' };

/** A point's value of the grouped dimension (the provider dimension is reported in the model column). */
export function groupKeyOf(row: PointRow, groupBy: GroupBy | undefined): string {
  if (groupBy === 'tenant') return row.tenant_id;
  if (groupBy === 'tier') return row.tier || '(none)';
  if (groupBy === 'model' || groupBy === 'provider') return row.model || '(none)';
  return 'all';
}

/** The size of a point: a minute, hour or day, or the whole window as one point. */
export type Resolution = 'minute' | 'hour' | 'day' | 'window';

export interface Percentiles {
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export interface PointRow extends Counters {
  bucket_start: number;
  tenant_id: string;
  model: string;
  tier: string;
  latency: Percentiles;
  ttft: Percentiles;
}

const RESOLUTION_MS: Record<Exclude<Resolution, 'window'>, number> = { minute: MINUTE_MS, hour: HOUR_MS, day: DAY_MS };

/** The point a row belongs to, in SQL. */
const bucketStart = (resolution: Resolution, column: string) =>
  resolution === 'window' ? '0' : `(${column} / ${RESOLUTION_MS[resolution]}) * ${RESOLUTION_MS[resolution]}`;

/** histogram.ts's bucketOf, in SQL: exact below 128, then 32 buckets per power of two. */
export function bucketSql(column: string): string {
  const exponent = `CASE ${Array.from({ length: 24 }, (_, i) => `WHEN ${column} < ${2 ** (i + 8)} THEN ${i + 7}`).join(' ')} ELSE 31 END`;
  return `CASE WHEN ${column} < 128 THEN MAX(${column}, 0) ELSE 128 + ((${exponent}) - 7) * 32 + (((${column} - (1 << (${exponent}))) * 32) >> (${exponent})) END`;
}

interface Fragment {
  sql: string;
  params: unknown[];
}

const RAW_COUNTER_COLUMNS = `1 AS requests, (status >= 400) AS errors, (cache = 'HIT') AS cache_hits, (cache = 'MISS') AS cache_misses,
  prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens,
  CASE WHEN cache = 'HIT' THEN prompt_tokens + completion_tokens ELSE 0 END AS hit_tokens, cost_nano, saved_nano`;

/** The fragments (one per segment of the window) that yield counters, or histogram entries, per row. */
function fragments(scope: Scope, resolution: Resolution, watermark: number, kind: 'counters' | 'latency' | 'ttft'): Fragment[] {
  const segments = resolution === 'minute'
    ? [{ source: 'raw' as const, start: scope.from, end: scope.to }]
    : planSegments(scope.from, scope.to, watermark, resolution === 'hour' ? 'hour' : 'day');
  return segments.map((segment) => {
    const tenant = scope.tenant === undefined ? '' : ' AND tenant_id = ?';
    const params = [segment.start, segment.end, ...(scope.tenant === undefined ? [] : [scope.tenant])];
    if (segment.source === 'raw') {
      const head = `SELECT ${bucketStart(resolution, 'ts')} AS bucket_start, tenant_id, COALESCE(model, '') AS model, COALESCE(tier, '') AS tier`;
      const where = `FROM requests WHERE ts >= ? AND ts < ?${tenant}`;
      if (kind === 'counters') return { sql: `${head}, ${RAW_COUNTER_COLUMNS} ${where}`, params };
      if (kind === 'latency') return { sql: `${head}, ${bucketSql('latency_ms')} AS b, 1 AS n ${where} AND status = 200`, params };
      return { sql: `${head}, ${bucketSql('ttft_ms')} AS b, 1 AS n ${where} AND ttft_ms IS NOT NULL`, params };
    }
    const table = segment.source === 'day' ? 'rollup_daily' : 'rollup_hourly';
    const head = `SELECT ${bucketStart(resolution, 'r.bucket_start')} AS bucket_start, r.tenant_id, r.model, r.tier`;
    const where = `WHERE r.bucket_start >= ? AND r.bucket_start < ?${tenant.replace('tenant_id', 'r.tenant_id')}`;
    if (kind === 'counters') return { sql: `${head}, ${COUNTERS.map((c) => `r.${c}`).join(', ')} FROM ${table} r ${where}`, params };
    const column = kind === 'latency' ? 'latency_hist' : 'ttft_hist';
    return { sql: `${head}, CAST(j.key AS INTEGER) AS b, j.value AS n FROM ${table} r, json_each(r.${column}) j ${where}`, params };
  });
}

const union = (parts: Fragment[]) => ({ sql: parts.map((p) => p.sql).join(' UNION ALL '), params: parts.flatMap((p) => p.params) });

const PROVIDER_OF_MODEL = "CASE WHEN instr(model, '/') > 0 THEN substr(model, 1, instr(model, '/') - 1) ELSE '' END";

/** The point key's three columns: chosen dimensions as they are, the others ''. */
function keyProjection(dimensions: Dimension[]): string {
  const has = (d: Dimension) => dimensions.includes(d);
  const model = has('provider') ? PROVIDER_OF_MODEL : has('model') ? 'model' : "''";
  return `${has('tenant_id') ? 'tenant_id' : "''"} AS tenant_id, ${model} AS model, ${has('tier') ? 'tier' : "''"} AS tier`;
}

const KEY = 'bucket_start, tenant_id, model, tier';

function percentileQuery(source: Fragment, dimensions: Dimension[]): Fragment {
  // Nearest rank: the first bucket whose running count reaches ceil(p% of the total).
  const pick = (p: number) => `MIN(CASE WHEN cum * 100 >= total * ${p} THEN b END) AS p${p}`;
  return {
    sql: `WITH keyed AS (SELECT bucket_start, ${keyProjection(dimensions)}, b, n FROM (${source.sql})),
      h AS (SELECT ${KEY}, b, SUM(n) AS n FROM keyed GROUP BY ${KEY}, b),
      c AS (SELECT *, SUM(n) OVER (PARTITION BY ${KEY} ORDER BY b ROWS UNBOUNDED PRECEDING) AS cum,
                      SUM(n) OVER (PARTITION BY ${KEY}) AS total FROM h)
      SELECT ${KEY}, ${pick(50)}, ${pick(95)}, ${pick(99)} FROM c GROUP BY ${KEY}`,
    params: source.params,
  };
}

const keyOf = (r: { bucket_start: number; tenant_id: string; model: string; tier: string }) => `${r.bucket_start}\u0000${r.tenant_id}\u0000${r.model}\u0000${r.tier}`;
export const NO_PERCENTILES: Percentiles = { p50: null, p95: null, p99: null };
const upper = (bucket: number | null | undefined) => (bucket === null || bucket === undefined ? null : bucketUpperBound(Number(bucket)));

/**
 * One row per (bucket of `resolution`, chosen dimensions): counters and, when asked, latency
 * and TTFT percentiles. Dimensions not chosen are ''.
 */
export async function queryPoints(
  db: D1Database,
  scope: Scope,
  resolution: Resolution,
  dimensions: Dimension[],
  options: { percentiles: boolean },
): Promise<PointRow[]> {
  const watermark = resolution === 'minute' ? 0 : await rolledUntil(db);
  const counters = union(fragments(scope, resolution, watermark, 'counters'));
  const statements = [
    db.prepare(
      `SELECT ${KEY}, ${COUNTERS.map((c) => `SUM(${c}) AS ${c}`).join(', ')}
       FROM (SELECT bucket_start, ${keyProjection(dimensions)}, ${COUNTERS.join(', ')} FROM (${counters.sql})) GROUP BY ${KEY}`,
    ).bind(...counters.params),
  ];
  if (options.percentiles) {
    for (const kind of ['latency', 'ttft'] as const) {
      const q = percentileQuery(union(fragments(scope, resolution, watermark, kind)), dimensions);
      statements.push(db.prepare(q.sql).bind(...q.params));
    }
  }
  const [sums, latency, ttft] = await db.batch<Record<string, number | string | null>>(statements);
  const percentilesOf = (result: D1Result<Record<string, number | string | null>> | undefined) =>
    new Map((result?.results ?? []).map((r) => [keyOf(r as never), { p50: upper(r.p50 as number), p95: upper(r.p95 as number), p99: upper(r.p99 as number) }]));
  const latencies = percentilesOf(latency);
  const ttfts = percentilesOf(ttft);
  return sums.results.map((r) => {
    const row = { bucket_start: Number(r.bucket_start), tenant_id: String(r.tenant_id), model: String(r.model), tier: String(r.tier) } as PointRow;
    for (const c of COUNTERS) row[c] = Number(r[c] ?? 0);
    row.latency = latencies.get(keyOf(row)) ?? NO_PERCENTILES;
    row.ttft = ttfts.get(keyOf(row)) ?? NO_PERCENTILES;
    return row;
  });
}
