/**
 * The rollup job, run by the cron trigger: aggregates finished hours of the request log into
 * rollup_hourly and whole days into rollup_daily, then purges raw rows past the retention.
 *
 * Rows are written after their call ends (a stream may end long after it started, and its row
 * carries the start time), so each run recomputes the last LATE_MS of hours as well: the job is
 * idempotent, and a row that arrives late is counted as long as it lands within that window.
 */
import type { Env } from '../proxy/env';
import { numberVar } from '../proxy/env';
import { addInto, emptyTotals, rawAggregates, rolledUntil, rollupAggregates, type AggregateRow } from './aggregate';
import { DAY_MS, HOUR_MS } from './segments';

export const LATE_MS = 2 * HOUR_MS;
/** Hours rolled up per run, so a long backlog is worked off over several runs within D1's limits. */
export const MAX_HOURS_PER_RUN = 48;
export const DEFAULT_RETENTION_DAYS = 35;
const PURGE_BATCH = 5000;
const MAX_PURGE_BATCHES = 20;

const floorTo = (t: number, unit: number) => Math.floor(t / unit) * unit;

const COLUMNS = `bucket_start, tenant_id, model, tier, requests, errors, cache_hits, cache_misses, prompt_tokens,
  completion_tokens, cached_tokens, cache_write_tokens, hit_tokens, cost_nano, saved_nano, latency_hist, ttft_hist`;

function insertRows(db: D1Database, table: 'rollup_hourly' | 'rollup_daily', rows: AggregateRow[]): D1PreparedStatement[] {
  return rows.map((r) =>
    db.prepare(`INSERT OR REPLACE INTO ${table} (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).bind(
      r.bucket_start, r.tenant_id, r.model, r.tier, r.requests, r.errors, r.cache_hits, r.cache_misses, r.prompt_tokens,
      r.completion_tokens, r.cached_tokens, r.cache_write_tokens, r.hit_tokens, r.cost_nano, r.saved_nano,
      JSON.stringify(r.latency), JSON.stringify(r.ttft),
    ),
  );
}

/** Sums the hourly rows of each group of a day into one daily row. */
function dailyFrom(hourly: AggregateRow[], day: number): AggregateRow[] {
  const groups = new Map<string, AggregateRow>();
  for (const row of hourly) {
    const key = `${row.tenant_id}\u0000${row.model}\u0000${row.tier}`;
    const target = groups.get(key) ?? { ...emptyTotals(), bucket_start: day, tenant_id: row.tenant_id, model: row.model, tier: row.tier };
    groups.set(key, addInto(target, row));
  }
  return [...groups.values()];
}

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

  const days = new Set<number>();
  let hours = 0;
  for (let hour = start; hour < end; hour += HOUR_MS) {
    const rows = await rawAggregates(db, { from: hour, to: hour + HOUR_MS }, HOUR_MS);
    await db.batch([db.prepare('DELETE FROM rollup_hourly WHERE bucket_start = ?').bind(hour), ...insertRows(db, 'rollup_hourly', rows)]);
    days.add(floorTo(hour, DAY_MS));
    hours++;
  }
  // A day is rolled up once all its hours are; recomputing it from hourly rows is cheap.
  for (const day of days) {
    if (day + DAY_MS > end) continue;
    const hourly = await rollupAggregates(db, 'rollup_hourly', { from: day, to: day + DAY_MS });
    await db.batch([db.prepare('DELETE FROM rollup_daily WHERE bucket_start = ?').bind(day), ...insertRows(db, 'rollup_daily', dailyFrom(hourly, day))]);
  }
  const watermark = Math.max(previous, end);
  await db.prepare("INSERT INTO analytics_state (key, value) VALUES ('rolled_until', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").bind(watermark).run();
  return { hours, rolledUntil: watermark, purged: await purgeRawRows(env, now, watermark) };
}

/**
 * Deletes raw rows older than RETENTION_DAYS, in batches (a huge DELETE would hold D1 too
 * long), and never rows that are not rolled up yet.
 */
export async function purgeRawRows(env: Env, now: number, watermark: number): Promise<number> {
  const retentionMs = numberVar(env.RETENTION_DAYS, DEFAULT_RETENTION_DAYS) * DAY_MS;
  const cutoff = Math.min(now - retentionMs, watermark - LATE_MS);
  let purged = 0;
  for (let i = 0; i < MAX_PURGE_BATCHES; i++) {
    const result = await env.DB.prepare('DELETE FROM requests WHERE id IN (SELECT id FROM requests WHERE ts < ? LIMIT ?)').bind(cutoff, PURGE_BATCH).run();
    purged += result.meta.changes;
    if (result.meta.changes < PURGE_BATCH) break;
  }
  return purged;
}
