/**
 * The analytics reports' one query path: counters and latency percentiles per point, computed
 * inside D1 over whichever sources answer each part of the window (raw rows, hourly and daily
 * rollups; see segments.ts), so the Worker receives one small row per point.
 *
 * Rollup rows are read from the projection that keeps exactly the dimensions asked for, so a
 * point is usually one rollup row, whose stored percentiles are the answer. Only points that
 * span several rows (a window, a day made of hours, raw rows at the edges) merge histograms,
 * with json_each and window functions in SQLite's C code.
 *
 * Points split by what a call is attributed to (its user, key or a tag: an Attribute), or
 * filtered by user or tag, are read from raw rows where they are kept (from raw_from on) and
 * from the attribute rollups (attribute-rollup.ts) for the whole hours and days before: exact
 * either way. Those keep one attribute at a time, per tenant, with no latency histograms, so a
 * point with rolled-up calls has no percentiles, and a query that needs two attributes, or one
 * and another dimension than the tenant, is refused before raw_from rather than answered in part.
 */
import { tagPath } from '../proxy/core/attribution';
import { invalidRequest } from '../proxy/core/errors';
import {
  analyticsState,
  COUNTERS,
  projectionFor,
  RAW_COUNTER_SQL,
  ROLLUP_DIMENSIONS,
  type AnalyticsState,
  type Attribute,
  type Counters,
  type Dimension,
  type Scope,
} from './aggregate';
import { attributeRows } from './attribute-rollup';
import { bucketUpperBound, mergeInto, percentileBucket, type Histogram } from './histogram';
import { bucketSql, histogramJsonSql } from './histogram-sql';
import { DAY_MS, HOUR_MS, MINUTE_MS, planSegments, type Segment } from './segments';
import type { DimensionGroupBy, GroupBy } from './types';

export type { Dimension };

/** The dimension behind a group_by value of the API. */
export function dimensionOf(groupBy: GroupBy): Dimension {
  if (groupBy === 'tenant') return 'tenant_id';
  if (groupBy === 'key') return 'key_id';
  return groupBy;
}

const isAttribute = (d: Dimension): d is Attribute => d === 'user' || d === 'key_id' || d.startsWith('tag:');

/** Whether a group_by is a dimension (or none), not an attribute: one the rollups and Analytics Engine keep. */
export const isDimensionGroupBy = (groupBy: GroupBy | undefined): groupBy is DimensionGroupBy | undefined =>
  groupBy === undefined || !isAttribute(dimensionOf(groupBy));

/** Group keys in order, null (calls with no user, or no such tag) last. */
export const compareGroupKeys = (a: string | null, b: string | null) => (a === null ? (b === null ? 0 : 1) : b === null ? -1 : a.localeCompare(b));

/**
 * The group of calls whose endpoint is not known: those rolled up before migration 0012, whose raw
 * rows were purged before their hours could be rebuilt with the endpoint (rollup rows with endpoint '').
 */
const UNKNOWN_ENDPOINT = '(unknown)';

/**
 * A point's value of the grouped dimension (the provider dimension is reported in the model
 * column, an attribute in `attribute`): null for calls with no user, or no tag of the key asked.
 */
export function groupKeyOf(row: PointRow, groupBy: GroupBy | undefined): string | null {
  if (!isDimensionGroupBy(groupBy)) return row.attribute;
  if (groupBy === 'tenant') return row.tenant_id;
  if (groupBy === 'tier') return row.tier || '(none)';
  if (groupBy === 'model' || groupBy === 'provider') return row.model || '(none)';
  if (groupBy === 'endpoint') return row.endpoint || UNKNOWN_ENDPOINT;
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
  endpoint: string;
  /** The user, key or tag value of the point's calls, when split by one; else null. */
  attribute: string | null;
  latency: Percentiles;
  ttft: Percentiles;
}

const RESOLUTION_MS: Record<Exclude<Resolution, 'window'>, number> = { minute: MINUTE_MS, hour: HOUR_MS, day: DAY_MS };

/** The point a row belongs to, in SQL. */
const bucketStart = (resolution: Resolution, column: string) =>
  resolution === 'window' ? '0' : `(${column} / ${RESOLUTION_MS[resolution]}) * ${RESOLUTION_MS[resolution]}`;

interface Fragment {
  sql: string;
  params: unknown[];
}

/** Which histogram a percentile query reads, and which raw rows have a value for it. */
const HISTOGRAM_OF = {
  latency: { column: 'latency_ms', rawFilter: 'status = 200' },
  ttft: { column: 'ttft_ms', rawFilter: 'ttft_ms IS NOT NULL' },
} as const;
type HistogramName = keyof typeof HISTOGRAM_OF;

const PROVIDER_OF_MODEL = "CASE WHEN instr(model, '/') > 0 THEN substr(model, 1, instr(model, '/') - 1) ELSE '' END";

/** An attribute's value of a raw row, in SQL: a tag's is its value in the row's tags (NULL when it has none). */
const attributeSql = (a: Attribute) => (a.startsWith('tag:') ? `json_extract(tags, '${tagPath(a.slice(4))}')` : a);

/**
 * The point key's dimension columns of a source: chosen dimensions as they are, the others ''
 * (the attribute NULL). The attribute rollups hold the attribute in a column of its own.
 */
function keyProjection(dimensions: Dimension[], source: Source): string {
  const has = (d: Dimension) => dimensions.includes(d);
  const model = has('provider') ? PROVIDER_OF_MODEL : has('model') ? 'model' : "''";
  const as = (d: 'tenant_id' | 'tier' | 'endpoint') => `${has(d) ? d : "''"} AS ${d}`;
  const attribute = dimensions.find(isAttribute);
  const attributeColumn = attribute === undefined ? 'NULL' : source.kind === 'attributes' ? 'attribute' : attributeSql(attribute);
  return `${as('tenant_id')}, ${model} AS model, ${as('tier')}, ${as('endpoint')}, ${attributeColumn} AS attribute`;
}

const KEY = `bucket_start, ${ROLLUP_DIMENSIONS.join(', ')}, attribute`;

/** The request-log columns the reports read, model and tier never NULL (as in the rollups). */
const RAW_COLUMNS = `ts, tenant_id, key_id, user, tags, COALESCE(model, '') AS model, COALESCE(tier, '') AS tier, endpoint, status, attempts, cache,
  prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens, reasoning_tokens, cost_nano, saved_nano, latency_ms, ttft_ms`;

/** The raw rows of a scope's filters, in SQL, with their parameters. */
function rawFilters(scope: Scope): Fragment {
  const where: string[] = [];
  const params: unknown[] = [];
  if (scope.tenant !== undefined) (where.push('tenant_id = ?'), params.push(scope.tenant));
  if (scope.user !== undefined) (where.push('user = ?'), params.push(scope.user));
  if (scope.tag !== undefined) (where.push('json_extract(tags, ?) = ?'), params.push(tagPath(scope.tag.key), scope.tag.value));
  return { sql: where.map((w) => ` AND ${w}`).join(''), params };
}

/** An attribute a query is split by (no value) or filtered by (a value), and the parameter that asked for it. */
interface AttributeRead {
  attribute: Attribute;
  value?: string;
  param: 'group_by' | 'user' | 'tag';
}

/** What a query splits or filters by among users, keys and tags. */
function attributeReads(scope: Scope, dimensions: Dimension[]): AttributeRead[] {
  return [
    ...dimensions.filter(isAttribute).map((attribute): AttributeRead => ({ attribute, param: 'group_by' })),
    ...(scope.user === undefined ? [] : [{ attribute: 'user', value: scope.user, param: 'user' } as const]),
    ...(scope.tag === undefined ? [] : [{ attribute: `tag:${scope.tag.key}`, value: scope.tag.value, param: 'tag' } as const]),
  ];
}

/** The one read the attribute rollups can answer: a single attribute, split by nothing else than the tenant. */
const rollupRead = (reads: AttributeRead[], dimensions: Dimension[]) =>
  reads.length === 1 && dimensions.every((d) => d === 'tenant_id' || isAttribute(d)) ? reads[0] : undefined;

interface Source {
  /** A table expression with the columns the fragment reads (raw rows with model and tier never NULL). */
  from: string;
  /** For rollups: the same rows of the histograms table. */
  histograms?: string;
  /** Its time column. */
  time: string;
  params: unknown[];
  /** Where the rows come from: raw rows, the rollups, or the attribute rollups (attributeRows: no histograms). */
  kind: 'raw' | 'day' | 'hour' | 'attributes';
  end: number;
}

/**
 * Refuses a window that needs detail the job has deleted, rather than answering zeros for it:
 * minute series read raw rows, and hourly rows are kept for HOURLY_RETENTION_DAYS (hourly attribute
 * rows for ATTRIBUTE_HOURLY_TAIL_DAYS before raw_from), before which daily rows answer for whole UTC
 * days only. (The partial hours at the edges of an hourly or
 * daily window are read from raw rows, so they count nothing once purged: see the README.)
 */
function refuseDeletedDetail(
  state: AnalyticsState,
  scope: Scope,
  resolution: Resolution,
  segments: Segment[],
  reads: AttributeRead[],
  dimensions: Dimension[],
): void {
  const since = (t: number) => new Date(t).toISOString();
  if (reads.length && segments.some((s) => s.source !== 'raw')) {
    if (!rollupRead(reads, dimensions)) {
      throw invalidRequest(
        `Before ${since(state.rawFrom)} (RETENTION_DAYS) users, keys and tags are kept one at a time, per tenant: a user or tag filter there cannot be combined with the other filter or with a grouping other than tenant. Start the window there or later, or drop one of them.`,
        reads.at(-1)!.param,
        'beyond_retention',
      );
    }
    if (scope.from < state.attributesFrom) {
      throw invalidRequest(
        `Reports by user, key or tag, and the user and tag filters, cover the calls from ${since(state.attributesFrom)} on only (ATTRIBUTE_RETENTION_DAYS): start the window there or later.`,
        'from',
        'beyond_retention',
      );
    }
    const purged = segments.find((s) => s.source === 'raw' && s.start < state.rawFrom);
    if (purged) {
      throw invalidRequest(
        `Before ${since(state.rawFrom)} (RETENTION_DAYS) users, keys and tags are kept per whole hour: start and end the window on an hour there.`,
        purged.start === scope.from ? 'from' : 'to',
        'beyond_retention',
      );
    }
  }
  if (resolution === 'minute' && scope.from < state.rawFrom) {
    throw invalidRequest(
      `Minute detail is kept from ${since(state.rawFrom)} only (RETENTION_DAYS): use interval=hour for older windows.`,
      'interval',
      'beyond_retention',
    );
  }
  // Hourly attribute rows are kept for a few days before raw_from only, and read with the tenant's hourly rows.
  const hourlyFrom = reads.length ? Math.max(state.hourlyFrom, state.attributeHourlyFrom) : state.hourlyFrom;
  const detail = reads.length ? ' by user, key or tag' : '';
  if (!segments.some((s) => s.source === 'hour' && s.start < hourlyFrom)) return;
  if (resolution === 'hour') {
    throw invalidRequest(`Hourly detail${detail} is kept from ${since(hourlyFrom)} only: use interval=day for older windows.`, 'interval', 'beyond_retention');
  }
  // hourlyFrom is a midnight, so the hours refused are a partial day at an end of the window that is not at midnight.
  const param = scope.from % DAY_MS !== 0 ? 'from' : 'to';
  throw invalidRequest(
    `Before ${since(hourlyFrom)} only whole UTC days are kept${detail}: start and end the window at a UTC midnight there.`,
    param,
    'beyond_retention',
  );
}

/**
 * The sources of a window: one per segment (see segments.ts; at most five, the most terms D1
 * allows in a UNION), restricted to the scope's filters and, for rollups, to the right
 * projection. A query split or filtered by an attribute reads raw rows from raw_from on (the
 * rolled-up hours too, while their rows are kept) and the attribute rollups before.
 */
async function sourcesOf(db: D1Database, scope: Scope, resolution: Resolution, dimensions: Dimension[]): Promise<Source[]> {
  const state = await analyticsState(db);
  const reads = attributeReads(scope, dimensions);
  // raw_from is never past rolled_until: raw rows are purged from rolled-up hours only.
  const rolledUntil = reads.length ? state.rawFrom : state.rolledUntil;
  const segments: Segment[] =
    resolution === 'minute'
      ? [{ source: 'raw', start: scope.from, end: scope.to }]
      : planSegments(scope.from, scope.to, rolledUntil, resolution === 'hour' ? 'hour' : 'day');
  refuseDeletedDetail(state, scope, resolution, segments, reads, dimensions);
  const filters = rawFilters(scope);
  const tenant = scope.tenant === undefined ? '' : ' AND tenant_id = ?';
  return segments.map(({ source, start, end }): Source => {
    if (source === 'raw') {
      return {
        from: `(SELECT ${RAW_COLUMNS} FROM requests WHERE ts >= ? AND ts < ?${filters.sql})`,
        time: 'ts',
        params: [start, end, ...filters.params],
        kind: 'raw',
        end,
      };
    }
    const read = rollupRead(reads, dimensions);
    if (read) {
      const table = source === 'day' ? 'rollup_attribute_daily' : 'rollup_attribute_hourly';
      const rows = attributeRows(table, read.attribute, { start, end, tenant: scope.tenant, value: read.value });
      return { from: rows.sql, time: 'bucket_start', params: rows.params, kind: 'attributes', end };
    }
    const params = [start, end, ...(scope.tenant === undefined ? [] : [scope.tenant])];
    const table = source === 'day' ? 'rollup_daily' : 'rollup_hourly';
    const projection = projectionFor(dimensions, scope.tenant !== undefined);
    const rows = (name: string) => `(SELECT * FROM ${name} WHERE dims = '${projection}' AND bucket_start >= ? AND bucket_start < ?${tenant})`;
    return { from: rows(table), histograms: rows(`${table}_histograms`), time: 'bucket_start', params, kind: source, end };
  });
}

const union = (parts: Fragment[]) => ({ sql: parts.map((p) => p.sql).join(' UNION ALL '), params: parts.flatMap((p) => p.params) });

/** Per point and group, the counters summed over every source. */
function countersQuery(sources: Source[], resolution: Resolution, dimensions: Dimension[]): Fragment {
  const parts = union(
    sources.map((s) => ({
      sql: `SELECT ${bucketStart(resolution, s.time)} AS bucket_start, ${keyProjection(dimensions, s)}, ${COUNTERS.map((c) => (s.kind === 'raw' ? `${RAW_COUNTER_SQL[c]} AS ${c}` : c)).join(', ')} FROM ${s.from}`,
      params: s.params,
    })),
  );
  // A group of no calls (the calls without a user or tag, where every call has one) is no group.
  return {
    sql: `SELECT ${KEY}, ${COUNTERS.map((c) => `SUM(${c}) AS ${c}`).join(', ')} FROM (${parts.sql}) GROUP BY ${KEY} HAVING SUM(requests) > 0`,
    params: parts.params,
  };
}

/**
 * Per point and group, one histogram's percentiles, as two queries. Where a rollup's rows are
 * the points themselves (hourly rows for an hourly series, daily rows for a daily one, and no
 * two rows folded into one group, as models are into a provider), `direct` reads their stored
 * percentile buckets. Every other source yields `parts`: histograms (JSON), merged per point in
 * the Worker. No point gets rows from both. The attribute rollups keep no histograms: they
 * yield nothing, and queryPoints drops the percentiles of the points they are part of.
 */
function percentileQueries(
  sources: Source[],
  resolution: Resolution,
  dimensions: Dimension[],
  histogram: HistogramName,
): { direct: Fragment | null; parts: Fragment | null } {
  const { column, rawFilter } = HISTOGRAM_OF[histogram];
  const direct: Fragment[] = [];
  const parts: Fragment[] = [];
  for (const s of sources) {
    const head = `SELECT ${bucketStart(resolution, s.time)} AS bucket_start, ${keyProjection(dimensions, s)}`;
    if (s.kind === 'attributes') continue;
    if (s.kind === 'raw') {
      const entries = `${head}, ${bucketSql(column)} AS b, 1 AS n FROM ${s.from} WHERE ${rawFilter}`;
      parts.push({ sql: histogramJsonSql(entries, KEY), params: s.params });
    } else if (s.kind === resolution && !dimensions.includes('provider')) {
      direct.push({ sql: `${head}, ${histogram}_p50 AS p50, ${histogram}_p95 AS p95, ${histogram}_p99 AS p99 FROM ${s.from}`, params: s.params });
    } else {
      parts.push({ sql: `${head}, ${histogram}_hist AS hist FROM ${s.histograms}`, params: s.params });
    }
  }
  return { direct: direct.length ? union(direct) : null, parts: parts.length ? union(parts) : null };
}

type ResultRow = Record<string, number | string | null>;

/** Percentiles per point key: stored ones as they are, parts merged. */
function percentilesByKey(direct: ResultRow[], parts: ResultRow[]): Map<string, Percentiles> {
  const byKey = new Map<string, Percentiles>();
  for (const r of direct)
    byKey.set(keyOf(r as never), { p50: upper(r.p50 as number | null), p95: upper(r.p95 as number | null), p99: upper(r.p99 as number | null) });
  const merged = new Map<string, Histogram>();
  for (const r of parts) {
    const key = keyOf(r as never);
    merged.set(key, mergeInto(merged.get(key) ?? {}, JSON.parse(r.hist as string) as Histogram));
  }
  for (const [key, histogram] of merged) {
    byKey.set(key, { p50: upper(percentileBucket(histogram, 50)), p95: upper(percentileBucket(histogram, 95)), p99: upper(percentileBucket(histogram, 99)) });
  }
  return byKey;
}

const keyOf = (r: Pick<PointRow, 'bucket_start' | (typeof ROLLUP_DIMENSIONS)[number] | 'attribute'>) =>
  [r.bucket_start, ...ROLLUP_DIMENSIONS.map((d) => r[d]), r.attribute].join('\u0000');
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
  const sources = await sourcesOf(db, scope, resolution, dimensions);
  const named: [string, Fragment][] = [['counters', countersQuery(sources, resolution, dimensions)]];
  if (options.percentiles) {
    for (const histogram of ['latency', 'ttft'] as const) {
      const { direct, parts } = percentileQueries(sources, resolution, dimensions, histogram);
      if (direct) named.push([`${histogram} direct`, direct]);
      if (parts) named.push([`${histogram} parts`, parts]);
    }
  }
  const answers = await db.batch<ResultRow>(named.map(([, q]) => db.prepare(q.sql).bind(...q.params)));
  const results = new Map(named.map(([name], i) => [name, answers[i].results]));
  const resultOf = (name: string) => results.get(name) ?? [];
  const latencies = percentilesByKey(resultOf('latency direct'), resultOf('latency parts'));
  const ttfts = percentilesByKey(resultOf('ttft direct'), resultOf('ttft parts'));
  // Points starting before the attribute rollups' part of the window ends have calls of theirs
  // (a whole-window point starts at 0): their raw rows' percentiles would describe only some calls.
  const rolledEnd = Math.max(0, ...sources.filter((s) => s.kind === 'attributes').map((s) => s.end));
  return resultOf('counters').map((r) => {
    const row = {
      bucket_start: Number(r.bucket_start),
      tenant_id: String(r.tenant_id),
      model: String(r.model),
      tier: String(r.tier),
      endpoint: String(r.endpoint),
      attribute: r.attribute === null ? null : String(r.attribute),
    } as PointRow;
    for (const c of COUNTERS) row[c] = Number(r[c] ?? 0);
    const measured = row.bucket_start >= rolledEnd;
    row.latency = (measured && latencies.get(keyOf(row))) || NO_PERCENTILES;
    row.ttft = (measured && ttfts.get(keyOf(row))) || NO_PERCENTILES;
    return row;
  });
}
