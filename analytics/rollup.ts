/**
 * The rollup job, run by the cron trigger: aggregates finished hours of the request log into
 * rollup_hourly and whole days into rollup_daily, one row per group of each projection (see
 * migrations/0006_rollup_projections.sql and 0012_endpoint_reasoning.sql), then purges raw rows
 * past the retention and prunes hourly rows past theirs, and shadow evaluations with them. The aggregation runs inside D1 (a few
 * INSERT … SELECT statements per range of hours, whatever the volume), so no row crosses into the
 * Worker. The attribute rollups (per user, key and tag value: attribute-rollup.ts) are built as
 * raw rows leave the retention, in the transaction that moves raw_from, and pruned on their own
 * cuts (pruneAttributeRows).
 *
 * Rows are written after their call ends (a stream may end long after it started, and its row
 * carries the start time; a queue backlog or replay may come hours or days later). A trigger
 * records the hour of every row that lands before rolled_until (migrations/0010_late_rows.sql),
 * and each run rebuilds those hours, and their days, from scratch. Every rebuild replaces whole
 * hours and days, so the job is idempotent.
 */
import type { Env } from '../proxy/core/env';
import { analyticsState, columnsOf, COUNTERS, PROJECTIONS, RAW_COUNTER_SQL, ROLLUP_DIMENSIONS, STATE_KEYS, SUMMED, type AnalyticsState } from './aggregate';
import { bucketSql, histogramEntriesSql, histogramJsonSql, percentileBucketsSql } from './histogram-sql';
import { DAY_MS, HOUR_MS } from './segments';
import { numberVar } from '../proxy/core/config';
import { archivedCut, archiveHours, type ArchiveReport } from './archive';
import { attributeRollupStatements } from './attribute-rollup';

/**
 * New hours rolled up per run, so a long backlog is worked off over several runs within D1's
 * limits; and hours the purge rolls up into the attribute rollups per run (a shortened retention).
 */
export const MAX_HOURS_PER_RUN = 48;
/**
 * Hours with late rows rebuilt per run, for the same reason: newest first, so the hours reports
 * look at most are right soonest (a backlog's older hours keep their raw rows until rebuilt).
 */
export const MAX_LATE_HOURS_PER_RUN = 24;
export const DEFAULT_RETENTION_DAYS = 35;
/** Hourly rollup rows are kept this long, and at least as long as raw rows; daily rows are kept for ever. */
export const HOURLY_RETENTION_DAYS = 90;
/**
 * Hourly attribute rows are kept this long before raw_from (from the UTC midnight at or before):
 * the hours of the day raw_from is in, which its daily row is built from, and a short tail of
 * hour detail by user, key or tag before the raw rows.
 */
export const ATTRIBUTE_HOURLY_TAIL_DAYS = 2;
/** Daily attribute rows are kept this long by default (a year and a month of finance history), and at least as long as the hourly ones. */
export const DEFAULT_ATTRIBUTE_RETENTION_DAYS = 400;
const DELETE_BATCH = 5000;
const MAX_DELETE_BATCHES = 20;

const floorTo = (t: number, unit: number) => Math.floor(t / unit) * unit;
const ceilTo = (t: number, unit: number) => Math.ceil(t / unit) * unit;

const KEY = `dims, bucket_start, ${ROLLUP_DIMENSIONS.join(', ')}`;
const qualified = (table: string) =>
  KEY.split(', ')
    .map((k) => `${table}.${k}`)
    .join(', ');
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
const PROJECTIONS_CTE = `projections (dims, ${ROLLUP_DIMENSIONS.map((d) => `keeps_${d}`).join(', ')}) AS (VALUES ${PROJECTIONS.map((p) => {
  const keep = columnsOf(p);
  return `('${p}', ${ROLLUP_DIMENSIONS.map((d) => Number(keep[d])).join(', ')})`;
}).join(', ')})`;

/** `rows` (with bucket_start, the dimension columns and `columns`) once per projection, the dimensions it does not keep as SUMMED. */
function everyProjection(rows: string, columns: string[] = []): string {
  const dimension = (name: string) => `CASE WHEN p.keeps_${name} THEN r.${name} ELSE '${SUMMED}' END AS ${name}`;
  const key = `p.dims, r.bucket_start, ${ROLLUP_DIMENSIONS.map(dimension).join(', ')}`;
  return `SELECT ${columns.length ? [key, ...columns.map((c) => `r.${c}`)].join(', ') : `DISTINCT ${key}`} FROM ${rows} AS r CROSS JOIN projections AS p`;
}

/**
 * The request log's rows of [?1, ?2) as hourly rows. Raw rows are grouped once per hour,
 * tenant, model, tier and endpoint (and latency bucket), and every projection is summed from those groups.
 */
const RAW = `FROM requests WHERE ts >= ?1 AND ts < ?2`;
const RAW_GROUP = `(ts / ${HOUR_MS}) * ${HOUR_MS} AS bucket_start, tenant_id, COALESCE(model, '') AS model, COALESCE(tier, '') AS tier, endpoint`;
const RAW_HISTOGRAM_OF: Record<HistogramName, { column: string; filter: string }> = {
  latency: { column: 'latency_ms', filter: 'status = 200' },
  ttft: { column: 'ttft_ms', filter: 'ttft_ms IS NOT NULL' },
};
const HOURLY_FROM_RAW_SQL = insertRollupSql('rollup_hourly', {
  ctes: [
    PROJECTIONS_CTE,
    `raw_counters AS (SELECT ${RAW_GROUP}, ${COUNTERS.map((c) => `SUM(${RAW_COUNTER_SQL[c]}) AS ${c}`).join(', ')} ${RAW} GROUP BY 1, 2, 3, 4, 5)`,
    ...HISTOGRAMS.map(
      (h) =>
        `raw_${h} AS (SELECT ${RAW_GROUP}, ${bucketSql(RAW_HISTOGRAM_OF[h].column)} AS b, COUNT(*) AS n ${RAW} AND ${RAW_HISTOGRAM_OF[h].filter} GROUP BY 1, 2, 3, 4, 5, 6)`,
    ),
  ].join(',\n    '),
  keys: everyProjection('raw_counters'),
  counters: everyProjection('raw_counters', [...COUNTERS]),
  entries: (h) => everyProjection(`raw_${h}`, ['b', 'n']),
});

/** The hourly rows of [?1, ?2), every projection, as daily rows. */
const HOURLY = `WHERE dims IN (${ALL_PROJECTIONS}) AND bucket_start >= ?1 AND bucket_start < ?2`;
const DAY_OF = `dims, (bucket_start / ${DAY_MS}) * ${DAY_MS} AS bucket_start, ${ROLLUP_DIMENSIONS.join(', ')}`;
const DAILY_FROM_HOURLY_SQL = insertRollupSql('rollup_daily', {
  keys: `SELECT DISTINCT ${DAY_OF} FROM rollup_hourly ${HOURLY}`,
  counters: `SELECT ${DAY_OF}, ${COUNTERS.join(', ')} FROM rollup_hourly ${HOURLY}`,
  entries: (h) => histogramEntriesSql(`(SELECT ${DAY_OF}, ${h}_hist FROM rollup_hourly_histograms ${HOURLY})`, `${h}_hist`, KEY),
});

const deleteRollupSql = (table: string) => `DELETE FROM ${table} WHERE dims IN (${ALL_PROJECTIONS}) AND bucket_start >= ?1 AND bucket_start < ?2`;

interface Range {
  start: number;
  end: number;
}

/** The ranges sorted, with those that overlap or touch joined into one. */
function mergeRanges(ranges: Range[]): Range[] {
  const merged: Range[] = [];
  for (const range of [...ranges].sort((a, b) => a.start - b.start)) {
    const last = merged.at(-1);
    if (last && range.start <= last.end) last.end = Math.max(last.end, range.end);
    else merged.push({ ...range });
  }
  return merged;
}

/** Finished hours not rolled up yet: from rolled_until (or the first call) on, at most MAX_HOURS_PER_RUN. */
async function newHours(db: D1Database, rolledUntil: number, currentHour: number): Promise<Range | null> {
  let start = rolledUntil;
  if (!start) {
    const first = await db.prepare('SELECT MIN(ts) AS ts FROM requests').first<{ ts: number | null }>();
    if (first?.ts == null) return null;
    start = floorTo(first.ts, HOUR_MS);
  }
  const end = Math.min(currentHour, start + MAX_HOURS_PER_RUN * HOUR_MS);
  return end > start ? { start, end } : null;
}

/**
 * Hours that received rows after they were rolled up and can still be rebuilt (their raw rows
 * are all there), newest first. Migrations 0011 and 0012 mark every kept hour this way, to rebuild
 * the rollups with their new counters and projections: the last day is right after one run, the
 * rest over the next.
 */
async function lateHours(db: D1Database, rawFrom: number): Promise<number[]> {
  const { results } = await db
    .prepare('SELECT bucket_start FROM rollup_late_hours WHERE bucket_start >= ? ORDER BY bucket_start DESC LIMIT ?')
    .bind(rawFrom, MAX_LATE_HOURS_PER_RUN)
    .all<{ bucket_start: number }>();
  return results.map((r) => r.bucket_start);
}

const setStateSql = `INSERT INTO analytics_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`;

export interface RollupReport {
  /** New hours rolled up. */
  hours: number;
  /** Hours rebuilt because rows arrived after they were rolled up. */
  lateHours: number;
  rolledUntil: number;
  purged: number;
  prunedHourly: number;
  /** Shadow evaluations deleted: kept as long as hourly rows (purgeEvaluations). */
  purgedEvaluations: number;
  /** Attribute rollup rows deleted, hourly and daily (pruneAttributeRows). */
  prunedAttributes: number;
  /** What the archive did this run; null without the ARCHIVE binding. */
  archive: ArchiveReport | null;
}

export async function runRollup(env: Env, now = Date.now()): Promise<RollupReport> {
  const db = env.DB;
  const state = await analyticsState(db);
  const [fresh, late] = await Promise.all([newHours(db, state.rolledUntil, floorTo(now, HOUR_MS)), lateHours(db, state.rawFrom)]);
  const watermark = Math.max(state.rolledUntil, fresh?.end ?? 0);

  // The hours, then every whole day they touch (recomputed from all of its hourly rows), each
  // range replaced in one transaction with the late hours it covers forgotten. Late hours whose
  // raw rows have been partly purged cannot be rebuilt: they are forgotten (their rows were
  // older than the retention when they came, and are purged below).
  const hours = mergeRanges([...(fresh ? [fresh] : []), ...late.map((h) => ({ start: h, end: h + HOUR_MS }))]);
  const days = mergeRanges(
    hours
      .map(({ start, end }) => ({ start: floorTo(start, DAY_MS), end: Math.min(ceilTo(end, DAY_MS), floorTo(watermark, DAY_MS)) }))
      .filter((d) => d.end > d.start),
  );
  const replace = (table: RollupTable, inserts: string[], { start, end }: Range) =>
    [deleteRollupSql(table), deleteRollupSql(`${table}_histograms`), ...inserts].map((sql) => db.prepare(sql).bind(start, end));
  await db.batch([
    ...hours.flatMap((range) => replace('rollup_hourly', HOURLY_FROM_RAW_SQL, range)),
    ...days.flatMap((range) => replace('rollup_daily', DAILY_FROM_HOURLY_SQL, range)),
    db
      .prepare('DELETE FROM rollup_late_hours WHERE bucket_start < ? OR bucket_start IN (SELECT value FROM json_each(?))')
      .bind(state.rawFrom, JSON.stringify(late)),
    // A rebuilt hour's rows changed after it was archived: its object is rewritten before it is purged.
    db.prepare('UPDATE request_archive SET stale = 1 WHERE hour IN (SELECT value FROM json_each(?))').bind(JSON.stringify(late)),
    ...(fresh ? [db.prepare(setStateSql).bind(STATE_KEYS.rolledUntil, watermark)] : []),
  ]);
  const archive = env.ARCHIVE ? await archiveHours({ ...env, ARCHIVE: env.ARCHIVE }, { ...state, rolledUntil: watermark }) : null;
  const { purged, rawFrom } = await purgeRawRows(env, now, { ...state, rolledUntil: watermark });
  const { pruned: prunedHourly, hourlyFrom } = await pruneHourlyRows(db, now, { ...state, rawFrom });
  const purgedEvaluations = await purgeEvaluations(db, hourlyFrom);
  const prunedAttributes = await pruneAttributeRows(env, now, { ...state, rawFrom });
  return {
    hours: fresh ? (fresh.end - fresh.start) / HOUR_MS : 0,
    lateHours: late.length,
    rolledUntil: watermark,
    purged,
    prunedHourly,
    purgedEvaluations,
    prunedAttributes,
    archive,
  };
}

/** Deletes `table`'s rows matching `where` (bound to `params`) in batches (a huge DELETE would hold D1 too long); returns how many. */
async function deleteInBatches(db: D1Database, table: string, key: string, where: string, params: unknown[]): Promise<number> {
  let deleted = 0;
  for (let i = 0; i < MAX_DELETE_BATCHES; i++) {
    const result = await db
      .prepare(`DELETE FROM ${table} WHERE ${key} IN (SELECT ${key} FROM ${table} WHERE ${where} LIMIT ?)`)
      .bind(...params, DELETE_BATCH)
      .run();
    deleted += result.meta.changes;
    if (result.meta.changes < DELETE_BATCH) break;
  }
  return deleted;
}

/**
 * Deletes raw rows (with their failed attempts and stored content) older than RETENTION_DAYS,
 * never rows that are not rolled up yet, nor those of an hour waiting to be rebuilt, nor (with
 * the ARCHIVE binding) those of an hour not archived or whose archive is stale. The cut is
 * on an hour boundary, so an hour's raw rows are all there or all gone, and raw_from is moved
 * before any row goes, in the transaction that rolls the hours it passes up into the attribute
 * rollups (at most MAX_HOURS_PER_RUN hours from the first row kept). A run that stops at the batch cap leaves
 * the rest to the next.
 */
async function purgeRawRows(env: Env, now: number, state: AnalyticsState): Promise<{ purged: number; rawFrom: number }> {
  const retentionMs = numberVar(env.RETENTION_DAYS, DEFAULT_RETENTION_DAYS) * DAY_MS;
  const [waiting, archived, first] = await Promise.all([
    env.DB.prepare('SELECT MIN(bucket_start) AS hour FROM rollup_late_hours').first<{ hour: number | null }>(),
    archivedCut(env),
    env.DB.prepare('SELECT MIN(ts) AS ts FROM requests WHERE ts >= ?').bind(state.rawFrom).first<{ ts: number | null }>(),
  ]);
  // At most MAX_HOURS_PER_RUN hours of rows rolled up into the attribute rollups, counted from the first row kept.
  const maxCut = first?.ts == null ? Infinity : floorTo(first.ts, HOUR_MS) + MAX_HOURS_PER_RUN * HOUR_MS;
  const cutoff = floorTo(Math.min(now - retentionMs, state.rolledUntil, waiting?.hour ?? Infinity, archived, maxCut), HOUR_MS);
  let rawFrom = state.rawFrom;
  if (cutoff > state.rawFrom) {
    const [moved] = await env.DB.batch(attributeRollupStatements(env.DB, state.rawFrom, cutoff));
    if (moved.meta.changes > 0) rawFrom = cutoff;
  }
  let purged = 0;
  for (const [table, key] of [
    ['requests', 'id'],
    ['request_attempts', 'rowid'],
    ['request_content', 'request_id'],
  ] as const) {
    const deleted = await deleteInBatches(env.DB, table, key, 'ts < ?', [rawFrom]);
    if (table === 'requests') purged = deleted;
  }
  return { purged, rawFrom };
}

/**
 * Deletes hourly rollup rows older than HOURLY_RETENTION_DAYS, whose days the daily rows hold.
 * Never the hours of a day that may still be recomputed from them (a day with raw rows that a
 * late row could make rebuild), so the cut is the day boundary at or before raw_from too.
 * hourly_from is moved before any row goes, so reports never read a partly pruned day.
 */
async function pruneHourlyRows(db: D1Database, now: number, state: AnalyticsState): Promise<{ pruned: number; hourlyFrom: number }> {
  const hourlyFrom = Math.max(state.hourlyFrom, floorTo(Math.min(now - HOURLY_RETENTION_DAYS * DAY_MS, state.rawFrom), DAY_MS));
  if (hourlyFrom > state.hourlyFrom) await db.prepare(setStateSql).bind(STATE_KEYS.hourlyFrom, hourlyFrom).run();
  let pruned = 0;
  for (const table of ['rollup_hourly', 'rollup_hourly_histograms']) {
    const deleted = await deleteInBatches(db, table, 'rowid', `dims IN (${ALL_PROJECTIONS}) AND bucket_start < ?`, [hourlyFrom]);
    if (table === 'rollup_hourly') pruned = deleted;
  }
  return { pruned, hourlyFrom };
}

/**
 * Deletes attribute rollup rows past their retention: hourly rows before the UTC midnight
 * ATTRIBUTE_HOURLY_TAIL_DAYS before raw_from (never those of raw_from's day, which its daily row
 * is built from), daily rows older than ATTRIBUTE_RETENTION_DAYS (never after the hourly cut, so
 * every hour before raw_from is in one or the other). Each cut's state key is moved before any row
 * goes, so reports never read a partly pruned range; returns how many rows went.
 */
async function pruneAttributeRows(env: Env, now: number, state: AnalyticsState): Promise<number> {
  const db = env.DB;
  const retentionMs = numberVar(env.ATTRIBUTE_RETENTION_DAYS, DEFAULT_ATTRIBUTE_RETENTION_DAYS) * DAY_MS;
  const hourlyFrom = Math.max(state.attributeHourlyFrom, floorTo(state.rawFrom - ATTRIBUTE_HOURLY_TAIL_DAYS * DAY_MS, DAY_MS));
  const dailyFrom = Math.max(state.attributesFrom, floorTo(Math.min(now - retentionMs, hourlyFrom), DAY_MS));
  const moves: [string, number, number][] = [
    [STATE_KEYS.attributeHourlyFrom, state.attributeHourlyFrom, hourlyFrom],
    [STATE_KEYS.attributesFrom, state.attributesFrom, dailyFrom],
  ];
  const changed = moves.filter(([, before, after]) => after > before);
  if (changed.length) await db.batch(changed.map(([key, , value]) => db.prepare(setStateSql).bind(key, value)));
  return (
    (await deleteInBatches(db, 'rollup_attribute_hourly', 'rowid', 'bucket_start < ?', [hourlyFrom])) +
    (await deleteInBatches(db, 'rollup_attribute_daily', 'rowid', 'bucket_start < ?', [dailyFrom]))
  );
}

/**
 * Deletes shadow evaluations of calls made before `hourlyFrom`: they are kept as long as hourly
 * rows (at least as long as raw rows), not just the raw retention, because they are the routing-
 * quality report's only data (it has no rollup) and a recommendation needs 50 samples of a task,
 * which a low sampling rate gathers over months (docs/ROUTING.md#shadow-evaluation). The monthly
 * evaluation spend (eval_spend) is kept: the insert counted it, and deleting a row does not.
 */
const purgeEvaluations = (db: D1Database, hourlyFrom: number) => deleteInBatches(db, 'evaluations', 'id', 'ts < ?', [hourlyFrom]);
