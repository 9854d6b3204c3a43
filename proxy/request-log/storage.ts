/**
 * Where the request log's storage stands, so that a D1 database filling up is seen before it is
 * full: D1's size (size_after, which every D1 result carries) against D1_MAX_BYTES, the
 * archive's progress and the overflow. Served by /health and GET /admin/storage, and shown by
 * the dashboard. A nearly full database is a warning, never a failed check: the proxy serves on.
 *
 * D1 never gives freed pages back: the size stays at its high-water mark after a purge, whose
 * freed pages new rows reuse. So the figure says how close the file is to the limit, not how much
 * room the rows have (docs/FAILURES.md).
 */
import { analyticsState } from '../../analytics/aggregate';
import { archiveProgress } from '../../analytics/archive';
import { HOUR_MS } from '../../analytics/segments';
import type { Storage } from '../../analytics/types';
import { numberVar } from '../core/config';
import type { Env } from '../core/env';
import { countOverflow } from './overflow';

/** D1's database size limit on Workers Paid (developers.cloudflare.com/d1/platform/limits). */
export const DEFAULT_D1_MAX_BYTES = 10_000_000_000;
/** The share of D1_MAX_BYTES from which the database is said to be filling up. */
export const D1_WARN_AT = 0.8;
/** More hours than this not archived means the archive is falling behind (each cron run archives up to 24). */
const ARCHIVE_BACKLOG_WARN_HOURS = 24;
/** Stale hours counted, at most. */
const MAX_STALE_COUNTED = 1000;

export async function storageReport(env: Env): Promise<Storage> {
  const maxBytes = numberVar(env.D1_MAX_BYTES, DEFAULT_D1_MAX_BYTES);
  const [probe, state, progress, overflow] = await Promise.all([
    env.DB.prepare('SELECT 1').run(),
    analyticsState(env.DB),
    archiveProgress(env.DB, MAX_STALE_COUNTED),
    env.ARCHIVE ? countOverflow(env.ARCHIVE) : null,
  ]);
  const size = typeof probe.meta.size_after === 'number' ? probe.meta.size_after : null;
  const used = size === null ? null : size / maxBytes;
  const backlog = (progress.archivedUntil ? Math.max(0, (state.rolledUntil - progress.archivedUntil) / HOUR_MS) : 0) + progress.staleHours.length;
  const warnings: string[] = [];
  if (used !== null && used >= D1_WARN_AT) {
    warnings.push(
      `D1 is ${Math.round(used * 100)}% full (${size} of ${maxBytes} bytes): once full, new rows go to the overflow. Lower RETENTION_DAYS (with ARCHIVE bound, purged rows stay readable) or see docs/FAILURES.md.`,
    );
  }
  if (overflow && overflow.rows > 0) {
    warnings.push(`${overflow.rows}${overflow.more ? '+' : ''} calls D1 refused wait in the overflow (R2); the cron inserts them once D1 takes rows again.`);
  }
  if (env.ARCHIVE && backlog > ARCHIVE_BACKLOG_WARN_HOURS) {
    warnings.push(`The archive is ${backlog} hours behind: raw rows are not purged past it. See the cron's logs.`);
  }
  return {
    d1: { size_bytes: size, max_bytes: maxBytes, used, warn_at: D1_WARN_AT },
    archive: {
      enabled: env.ARCHIVE !== undefined,
      archived_until: progress.archivedUntil ? new Date(progress.archivedUntil).toISOString() : null,
      backlog_hours: env.ARCHIVE ? backlog : 0,
      stale_hours: progress.staleHours.length,
    },
    overflow,
    warnings,
  };
}
