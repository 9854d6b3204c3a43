/**
 * The archive of raw request-log rows in R2, so that D1 holds only the retention's worth of them
 * (a D1 database is capped in size: past it, every insert fails) and no call is ever lost to the
 * purge. The rollup job archives each finished hour once its rollups are final, as one gzipped
 * NDJSON object (ARCHIVE_PREFIX/YYYY/MM/DD/HH.ndjson.gz, one ArchivedCall a line: every column,
 * failed attempts and stored content inline, so one object answers for a call), and records it
 * in request_archive (migrations/0020) with its calls and cost, which the rollups of the same
 * hours must match. Raw rows are purged only from hours archived.
 *
 * Late rows: an hour that receives rows after it was archived is rebuilt by the rollup job
 * (migrations/0010), which marks its archive stale in the same transaction; it is archived again
 * from D1, replacing the object, before the purge may pass it. Archiving is idempotent: an hour
 * written twice is the same object under the same key.
 */
import type { Env } from '../proxy/core/env';
import { ndjsonGzipWriter, readNdjsonGzip } from '../proxy/core/ndjson-gzip';
import type { AnalyticsState } from './aggregate';
import { DAY_MS, HOUR_MS } from './segments';
import type { ArchiveCheck, ArchivedCall, StoredAttemptRow, StoredContentRow, StoredRequestRow } from './types';

export const ARCHIVE_PREFIX = 'requests/v1';
/** Hours archived per run (new and stale ones), so a backlog is worked off over several runs. */
export const MAX_ARCHIVE_HOURS_PER_RUN = 24;
/** Calls read from D1 per query while an hour is archived (with their attempts and content). */
const PAGE_ROWS = 1000;
/** analytics_state key: hours before it (from the first one archived) are in request_archive. */
export const ARCHIVED_UNTIL = 'archived_until';

const pad = (n: number) => String(n).padStart(2, '0');

/** The object key of an hour: requests/v1/2026/11/03/14.ndjson.gz (UTC). */
export function archiveKey(hour: number): string {
  const d = new Date(hour);
  return `${ARCHIVE_PREFIX}/${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())}/${pad(d.getUTCHours())}.ndjson.gz`;
}

/** An archived hour as request_archive records it. */
export interface ArchivedHour {
  hour: number;
  object_key: string | null;
  rows: number;
  cost_nano: number;
  bytes: number;
}

/** The calls of [hour, hour + 1 h) in pages, oldest first, each with its failed attempts and stored content. */
async function* callsOfHour(db: D1Database, hour: number): AsyncGenerator<ArchivedCall[]> {
  let after = { ts: hour - 1, id: '' };
  for (;;) {
    // The same page of calls three times: its rows, and the attempts and content of those rows.
    const page = `SELECT id FROM requests WHERE ts < ?2 AND (ts > ?3 OR (ts = ?3 AND id > ?4)) AND ts >= ?1 ORDER BY ts, id LIMIT ${PAGE_ROWS}`;
    const bind = (sql: string) => db.prepare(sql).bind(hour, hour + HOUR_MS, after.ts, after.id);
    const [rows, attempts, contents] = await db.batch([
      bind(`SELECT * FROM requests WHERE id IN (${page}) ORDER BY ts, id`),
      bind(`SELECT * FROM request_attempts WHERE request_id IN (${page}) ORDER BY request_id, attempt`),
      bind(`SELECT request_id, request, response, truncated FROM request_content WHERE request_id IN (${page})`),
    ]);
    const calls = rows.results as StoredRequestRow[];
    if (calls.length === 0) return;
    const attemptsOf = new Map<string, StoredAttemptRow[]>();
    for (const a of attempts.results as StoredAttemptRow[]) attemptsOf.set(a.request_id, [...(attemptsOf.get(a.request_id) ?? []), a]);
    const contentOf = new Map((contents.results as Array<StoredContentRow & { request_id: string }>).map(({ request_id, ...c }) => [request_id, c]));
    yield calls.map((call) => ({ ...call, failed_attempts: attemptsOf.get(call.id) ?? [], content: contentOf.get(call.id) ?? null }));
    if (calls.length < PAGE_ROWS) return;
    const last = calls.at(-1)!;
    after = { ts: last.ts, id: last.id };
  }
}

/** Writes an hour's object (none when it had no calls) and records it, replacing what was there (`rearchive`: a stale hour). */
async function archiveHour(env: Env & { ARCHIVE: R2Bucket }, hour: number, rearchive: boolean): Promise<ArchivedHour> {
  const gzip = ndjsonGzipWriter();
  let rows = 0;
  let cost = 0;
  for await (const page of callsOfHour(env.DB, hour)) {
    for (const call of page) {
      await gzip.add(call);
      rows += 1;
      cost += call.cost_nano;
    }
  }
  const body = await gzip.finish();
  const key = rows > 0 ? archiveKey(hour) : null;
  if (key) {
    await env.ARCHIVE.put(key, body, {
      httpMetadata: { contentType: 'application/x-ndjson', contentEncoding: 'gzip' },
      customMetadata: { rows: String(rows), cost_nano: String(cost) },
    });
  }
  const archived: ArchivedHour = { hour, object_key: key, rows, cost_nano: cost, bytes: key ? body.byteLength : 0 };
  const record = env.DB.prepare(
    `INSERT INTO request_archive (hour, object_key, rows, cost_nano, bytes, archived_at, stale) VALUES (?, ?, ?, ?, ?, ?, 0)
     ON CONFLICT (hour) DO UPDATE SET object_key = excluded.object_key, rows = excluded.rows, cost_nano = excluded.cost_nano,
       bytes = excluded.bytes, archived_at = excluded.archived_at, stale = 0`,
  ).bind(hour, key, rows, cost, archived.bytes, Date.now());
  // A new hour moves archived_until in the same transaction; an hour archived again leaves it.
  const advance = env.DB.prepare(
    `INSERT INTO analytics_state (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = MAX(value, excluded.value)`,
  ).bind(ARCHIVED_UNTIL, hour + HOUR_MS);
  await env.DB.batch(rearchive ? [record] : [record, advance]);
  return archived;
}

/** Where archiving stands: the first hour not archived yet (0 before the first run), and the stale hours. */
export interface ArchiveProgress {
  archivedUntil: number;
  staleHours: number[];
}

export async function archiveProgress(db: D1Database, limit = MAX_ARCHIVE_HOURS_PER_RUN): Promise<ArchiveProgress> {
  const [until, stale] = await db.batch([
    db.prepare('SELECT value FROM analytics_state WHERE key = ?').bind(ARCHIVED_UNTIL),
    db.prepare('SELECT hour FROM request_archive WHERE stale = 1 ORDER BY hour LIMIT ?').bind(limit),
  ]);
  return {
    archivedUntil: (until.results[0] as { value: number } | undefined)?.value ?? 0,
    staleHours: (stale.results as Array<{ hour: number }>).map((r) => r.hour),
  };
}

/**
 * The instant before which raw rows may be purged as far as the archive is concerned: every
 * hour before it is archived and none is stale. Without the ARCHIVE binding, no limit.
 */
export async function archivedCut(env: Env): Promise<number> {
  if (!env.ARCHIVE) return Infinity;
  const { archivedUntil, staleHours } = await archiveProgress(env.DB, 1);
  return Math.min(archivedUntil, staleHours[0] ?? Infinity);
}

export interface ArchiveReport {
  /** Hours archived for the first time, and stale ones archived again. */
  archived: number;
  rearchived: number;
  archivedUntil: number;
  /** Why archiving stopped early (R2 or D1 failed); the rest waits for the next run. */
  error?: string;
}

/**
 * Archives finished hours whose rollups are final: from archived_until (at first, the oldest raw
 * hour still complete) up to rolled_until, never an hour waiting to be rebuilt (nor any after
 * it, so archived hours have no gaps), then stale hours once rebuilt. At most
 * MAX_ARCHIVE_HOURS_PER_RUN, oldest first.
 */
export async function archiveHours(env: Env & { ARCHIVE: R2Bucket }, state: AnalyticsState): Promise<ArchiveReport> {
  const db = env.DB;
  const [{ archivedUntil, staleHours }, waiting, oldest] = await Promise.all([
    archiveProgress(db),
    db.prepare('SELECT MIN(bucket_start) AS hour FROM rollup_late_hours').first<{ hour: number | null }>(),
    db.prepare('SELECT MIN(ts) AS ts FROM requests').first<{ ts: number | null }>(),
  ]);
  const firstRaw = oldest?.ts == null ? null : Math.floor(oldest.ts / HOUR_MS) * HOUR_MS;
  // Hours before raw_from were purged without an archive (before the binding existed): not archivable.
  let from = Math.max(archivedUntil, state.rawFrom) || firstRaw || 0;
  if (!from) return { archived: 0, rearchived: 0, archivedUntil };
  const waitingHour = waiting?.hour ?? Infinity;
  const end = Math.min(state.rolledUntil, waitingHour, from + MAX_ARCHIVE_HOURS_PER_RUN * HOUR_MS);
  const report: ArchiveReport = { archived: 0, rearchived: 0, archivedUntil };
  try {
    for (; from < end; from += HOUR_MS) {
      await archiveHour(env, from, false);
      report.archived += 1;
      report.archivedUntil = from + HOUR_MS;
    }
    // A stale hour still waiting to be rebuilt keeps its old object until its rollups are final again.
    for (const hour of staleHours.filter((h) => h < waitingHour).slice(0, MAX_ARCHIVE_HOURS_PER_RUN - report.archived)) {
      await archiveHour(env, hour, true);
      report.rearchived += 1;
    }
  } catch (error) {
    report.error = error instanceof Error ? error.message : String(error);
    console.error('archive: stopped early; the rest waits for the next run', report.error);
  }
  return report;
}

/** The archived hours of [from, to) that have calls, newest first (request_archive's rows). */
export async function archivedHoursWithCalls(db: D1Database, from: number, to: number): Promise<ArchivedHour[]> {
  const { results } = await db
    .prepare('SELECT hour, object_key, rows, cost_nano, bytes FROM request_archive WHERE hour >= ? AND hour < ? AND rows > 0 ORDER BY hour DESC')
    .bind(Math.floor(from / HOUR_MS) * HOUR_MS, to)
    .all<ArchivedHour>();
  return results;
}

/** The calls of one archived object; a missing object is an error (request_archive says it exists). */
export async function readArchivedHour(bucket: R2Bucket, key: string): Promise<ArchivedCall[]> {
  const object = await bucket.get(key);
  if (!object) throw new Error(`archive object ${key} is recorded in request_archive but missing from the bucket`);
  return readNdjsonGzip<ArchivedCall>(object.body);
}

/**
 * The archive against the daily rollups, for every day it has hours of: the rollups are exact and
 * kept for ever, so every archived call must be in them, and every call of a fully archived day
 * in the archive. One row a day archived (a few thousand in a decade).
 */
export async function checkArchive(db: D1Database): Promise<ArchiveCheck['data']> {
  const { results } = await db
    .prepare(
      `WITH archived AS (
         SELECT (hour / ${DAY_MS}) * ${DAY_MS} AS day, COUNT(*) AS hours, SUM(rows) AS requests, SUM(cost_nano) AS cost_nano
         FROM request_archive WHERE stale = 0 GROUP BY 1)
       SELECT a.day, a.hours, a.requests AS archived_requests, a.cost_nano AS archived_cost_nano,
         COALESCE(r.requests, 0) AS rollup_requests, COALESCE(r.cost_nano, 0) AS rollup_cost_nano
       FROM archived a LEFT JOIN rollup_daily r ON r.dims = 'all' AND r.bucket_start = a.day ORDER BY a.day`,
    )
    .all<{ day: number; hours: number; archived_requests: number; archived_cost_nano: number; rollup_requests: number; rollup_cost_nano: number }>();
  return results.map((r) => ({
    day: new Date(r.day).toISOString().slice(0, 10),
    archived_hours: r.hours,
    archived_requests: r.archived_requests,
    archived_cost_nano: r.archived_cost_nano,
    rollup_requests: r.rollup_requests,
    rollup_cost_nano: r.rollup_cost_nano,
    matches: r.hours === 24 && r.archived_requests === r.rollup_requests && r.archived_cost_nano === r.rollup_cost_nano,
  }));
}
