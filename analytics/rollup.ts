/**
 * The rollup job, run by the cron trigger: aggregates finished hours of the request log into
 * rollup_hourly and whole days into rollup_daily, one row per group of each projection (see
 * migrations/0006_rollup_projections.sql), then purges raw rows past the retention. The
 * aggregation runs inside D1 (a few INSERT … SELECT statements per run, whatever the volume),
 * so no row crosses into the Worker.
 *
 * Rows are written after their call ends (a stream may end long after it started, and its row
 * carries the start time), so each run recomputes the last LATE_MS of hours as well: the job is
 * idempotent, and a row that arrives late is counted as long as it lands within that window.
 */
import type { Env } from '../proxy/env';
import { numberVar } from '../proxy/env';
import { columnsOf, COUNTERS, PROJECTIONS, RAW_COUNTER_SQL, rolledUntil, SUMMED, type Projection } from './aggregate';
import { bucketSql, histogramEntriesSql, histogramJsonSql, percentileBucketsSql } from './histogram-sql';
import { DAY_MS, HOUR_MS } from './segments';

export const LATE_MS = 2 * HOUR_MS;
/** Hours rolled up per run, so a long backlog is worked off over several runs within D1's limits. */
export const MAX_HOURS_PER_RUN = 48;
export const DEFAULT_RETENTION_DAYS = 35;
const PURGE_BATCH = 5000;
const MAX_PURGE_BATCHES = 20;

const floorTo = (t: number, unit: number) => Math.floor(t / unit) * unit;

const KEY = 'dims, bucket_start, tenant_id, model, tier';
const qualified = (table: string) => KEY.split(', ').map((k) => `${table}.${k}`).join(', ');
const HISTOGRAMS = ['latency', 'ttft'] as const;
type HistogramName = (typeof HISTOGRAMS)[number];
const ALL_PROJECTIONS = PROJECTIONS.map((p) => `'${p}'`).join(', ');
type RollupTable = 'rollup_hourly' | 'rollup_daily';

interface RollupSource {
  /** Common table expressions the queries below may read (each statement evaluates only those it reads). */
  ctes?: string;
  /** Yields the key columns of every row to write. */
  keys: string;
  /** Yields the key columns and each counter, to be summed per key. */
  counters: string;
  /** Yields the key columns, a bucket `b` and a count `n` per entry of the histogram. */
  entries: (histogram: HistogramName) => string;
}

/**
 * The two INSERT … SELECTs that write the rollup rows of [?1, ?2) from `source`: first the
 * histograms into `<table>_histograms`, then counters and the percentiles of those histograms
 * into `table`.
 */
function insertRollupSql(table: RollupTable, source: RollupSource): string[] {
  const joins = (left: string) => `${left} ${HISTOGRAMS.map((h) => `LEFT JOIN ${h} USING (${KEY})`).join(' ')}`;
  const with_ = source.ctes ? `${source.ctes},\n    ` : '';
  const ownHistograms = `SELECT * FROM ${table}_histograms WHERE dims IN (${ALL_PROJECTIONS}) AND bucket_start >= ?1 AND bucket_start < ?2`;
  return [
    `INSERT INTO ${table}_histograms (${KEY}, ${HISTOGRAMS.map((h) => `${h}_hist`).join(', ')})
    WITH ${with_}keys AS (${source.keys}),
    ${HISTOGRAMS.map((h) => `${h} AS (${histogramJsonSql(source.entries(h), KEY)})`).join(',\n    ')}
    SELECT ${qualified('keys')}, ${HISTOGRAMS.map((h) => `COALESCE(${h}.hist, '{}')`).join(', ')} FROM ${joins('keys')}`,
    `INSERT INTO ${table} (${KEY}, ${COUNTERS.join(', ')}, ${HISTOGRAMS.map((h) => `${h}_p50, ${h}_p95, ${h}_p99`).join(', ')})
    WITH ${with_}sums AS (SELECT ${KEY}, ${COUNTERS.map((c) => `SUM(${c}) AS ${c}`).join(', ')} FROM (${source.counters}) GROUP BY ${KEY}),
    own AS (${ownHistograms}),
    ${HISTOGRAMS.map((h) => `${h} AS (${percentileBucketsSql(histogramEntriesSql('own', `${h}_hist`, KEY), KEY)})`).join(',\n    ')}
    SELECT ${qualified('sums')}, ${COUNTERS.map((c) => `sums.${c}`).join(', ')}, ${HISTOGRAMS.map((h) => `${h}.p50, ${h}.p95, ${h}.p99`).join(', ')}
    FROM ${joins('sums')}`,
  ];
}

/** Which dimensions each projection keeps, as a table (D1 allows at most five terms in a UNION). */
const PROJECTIONS_CTE = `projections (dims, keeps_tenant, keeps_model, keeps_tier) AS (VALUES ${PROJECTIONS.map((p) => {
  const keep = columnsOf(p);
  return `('${p}', ${Number(keep.tenant)}, ${Number(keep.model)}, ${Number(keep.tier)})`;
}).join(', ')})`;

/** `rows` (with bucket_start, tenant_id, model, tier and `columns`) once per projection, the dimensions it does not keep as SUMMED. */
function everyProjection(rows: string, columns: string[] = []): string {
  const dimension = (name: string) => `CASE WHEN p.keeps_${name === 'tenant_id' ? 'tenant' : name} THEN r.${name} ELSE '${SUMMED}' END AS ${name}`;
  const key = `p.dims, r.bucket_start, ${['tenant_id', 'model', 'tier'].map(dimension).join(', ')}`;
  return `SELECT ${columns.length ? [key, ...columns.map((c) => `r.${c}`)].join(', ') : `DISTINCT ${key}`} FROM ${rows} AS r CROSS JOIN projections AS p`;
}

/**
 * The request log's rows of [?1, ?2) as hourly rows. Raw rows are grouped once per hour,
 * tenant, model and tier (and latency bucket), and every projection is summed from those groups.
 */
const RAW = `FROM requests WHERE ts >= ?1 AND ts < ?2`;
const RAW_GROUP = `(ts / ${HOUR_MS}) * ${HOUR_MS} AS bucket_start, tenant_id, COALESCE(model, '') AS model, COALESCE(tier, '') AS tier`;
const RAW_HISTOGRAM_OF: Record<HistogramName, { column: string; filter: string }> = {
  latency: { column: 'latency_ms', filter: 'status = 200' },
  ttft: { column: 'ttft_ms', filter: 'ttft_ms IS NOT NULL' },
};
const HOURLY_FROM_RAW_SQL = insertRollupSql('rollup_hourly', {
  ctes: [
    PROJECTIONS_CTE,
    `raw_counters AS (SELECT ${RAW_GROUP}, ${COUNTERS.map((c) => `SUM(${RAW_COUNTER_SQL[c]}) AS ${c}`).join(', ')} ${RAW} GROUP BY 1, 2, 3, 4)`,
    ...HISTOGRAMS.map((h) => `raw_${h} AS (SELECT ${RAW_GROUP}, ${bucketSql(RAW_HISTOGRAM_OF[h].column)} AS b, COUNT(*) AS n ${RAW} AND ${RAW_HISTOGRAM_OF[h].filter} GROUP BY 1, 2, 3, 4, 5)`),
  ].join(',\n    '),
  keys: everyProjection('raw_counters'),
  counters: everyProjection('raw_counters', [...COUNTERS]),
  entries: (h) => everyProjection(`raw_${h}`, ['b', 'n']),
});

/** The hourly rows of [?1, ?2), every projection, as daily rows. */
const HOURLY = `WHERE dims IN (${ALL_PROJECTIONS}) AND bucket_start >= ?1 AND bucket_start < ?2`;
const DAY_OF = `dims, (bucket_start / ${DAY_MS}) * ${DAY_MS} AS bucket_start, tenant_id, model, tier`;
const DAILY_FROM_HOURLY_SQL = insertRollupSql('rollup_daily', {
  keys: `SELECT DISTINCT ${DAY_OF} FROM rollup_hourly ${HOURLY}`,
  counters: `SELECT ${DAY_OF}, ${COUNTERS.join(', ')} FROM rollup_hourly ${HOURLY}`,
  entries: (h) => histogramEntriesSql(`(SELECT ${DAY_OF}, ${h}_hist FROM rollup_hourly_histograms ${HOURLY})`, `${h}_hist`, KEY),
});

const deleteRollupSql = (table: string) => `DELETE FROM ${table} WHERE dims IN (${ALL_PROJECTIONS}) AND bucket_start >= ?1 AND bucket_start < ?2`;

async function firstRequestTime(db: D1Database): Promise<number | null> {
  const row = await db.prepare('SELECT MIN(ts) AS ts FROM requests').first<{ ts: number | null }>();
  return row?.ts ?? null;
}

export interface RollupReport {
  hours: number;
  rolledUntil: number;
  purged: number;
}

export async function runRollup(env: Env, now = Date.now()): Promise<RollupReport> {
  const db = env.DB;
  const currentHour = floorTo(now, HOUR_MS);
  const previous = await rolledUntil(db);
  const first = previous || (await firstRequestTime(db));
  if (first === null) return { hours: 0, rolledUntil: previous, purged: 0 };
  const start = previous ? Math.max(floorTo(first, HOUR_MS) - LATE_MS, 0) : floorTo(first, HOUR_MS);
  const end = Math.min(currentHour, start + MAX_HOURS_PER_RUN * HOUR_MS + (previous ? LATE_MS : 0));
  if (end <= start) return { hours: 0, rolledUntil: previous, purged: await purgeRawRows(env, now, previous) };

  // The hours, then every whole day they touch (recomputed from all of its hourly rows), each
  // replaced in one transaction.
  const firstDay = floorTo(start, DAY_MS);
  const lastDay = floorTo(end, DAY_MS);
  const watermark = Math.max(previous, end);
  const replace = (table: RollupTable, inserts: string[], from: number, to: number) =>
    [deleteRollupSql(table), deleteRollupSql(`${table}_histograms`), ...inserts].map((sql) => db.prepare(sql).bind(from, to));
  await db.batch([
    ...replace('rollup_hourly', HOURLY_FROM_RAW_SQL, start, end),
    ...replace('rollup_daily', DAILY_FROM_HOURLY_SQL, firstDay, lastDay),
    db.prepare("INSERT INTO analytics_state (key, value) VALUES ('rolled_until', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").bind(watermark),
  ]);
  return { hours: (end - start) / HOUR_MS, rolledUntil: watermark, purged: await purgeRawRows(env, now, watermark) };
}

/**
 * Deletes raw rows (with their failed attempts and stored content) older than RETENTION_DAYS, in batches (a huge
 * DELETE would hold D1 too long), and never rows that are not rolled up yet.
 */
export async function purgeRawRows(env: Env, now: number, watermark: number): Promise<number> {
  const retentionMs = numberVar(env.RETENTION_DAYS, DEFAULT_RETENTION_DAYS) * DAY_MS;
  const cutoff = Math.min(now - retentionMs, watermark - LATE_MS);
  let purged = 0;
  for (const [table, key] of [['requests', 'id'], ['request_attempts', 'rowid'], ['request_content', 'request_id']] as const) {
    for (let i = 0; i < MAX_PURGE_BATCHES; i++) {
      const result = await env.DB.prepare(`DELETE FROM ${table} WHERE ${key} IN (SELECT ${key} FROM ${table} WHERE ts < ? LIMIT ?)`).bind(cutoff, PURGE_BATCH).run();
      if (table === 'requests') purged += result.meta.changes;
      if (result.meta.changes < PURGE_BATCH) break;
    }
  }
  return purged;
}
