/**
 * The request log as the admin API and the dashboard read it: newest first, filtered, and
 * paginated by a keyset cursor (ts, id) so no query ever reads more than one page of rows. Raw
 * rows from raw_from on are in D1; older ones, with the ARCHIVE binding, in R2's hourly objects
 * (archive.ts). The two never overlap in time, so one cursor runs through both: a page starts in
 * D1 and goes on into the archive hours below raw_from, each read whole and filtered here.
 */
import { tagPath, type Tags } from '../proxy/core/attribution';
import { invalidRequest } from '../proxy/core/errors';
import { requestIdTime } from '../proxy/core/ids';
import type { Env } from '../proxy/core/env';
import { analyticsState } from './aggregate';
import { archivedHoursWithCalls, readArchivedHour } from './archive';
import { HOUR_MS } from './segments';
import type { ArchivedCall, RequestDetail, RequestLogPage, RequestLogRow, StoredAttemptRow, StoredContentRow, StoredRequestRow, TagFilter } from './types';

export interface RequestLogFilter {
  from: number;
  to: number;
  tenant?: string;
  model?: string;
  /** An HTTP status, or `error` (>= 400) / `ok` (< 400). */
  status?: string;
  tier?: string;
  cache?: string;
  /** The inbound API (schemas.ts validates it: one of ENDPOINTS). */
  endpoint?: string;
  user?: string;
  tag?: TagFilter;
  limit: number;
  cursor?: string;
}

/** Where a page ends: the last row's time and id. */
interface Cursor {
  ts: number;
  id: string;
}

/** base64url, so a cursor pasted into a URL unencoded survives (`+` would read as a space). */
export function encodeCursor(cursor: Cursor): string {
  return btoa(`${cursor.ts}:${cursor.id}`).replace(/=+$/, '').replaceAll('+', '-').replaceAll('/', '_');
}

export function decodeCursor(text: string): Cursor | null {
  try {
    const decoded = atob(text.replaceAll('-', '+').replaceAll('_', '/'));
    const colon = decoded.indexOf(':');
    const ts = Number(decoded.slice(0, colon));
    const id = decoded.slice(colon + 1);
    return colon > 0 && Number.isSafeInteger(ts) && id ? { ts, id } : null;
  } catch {
    return null;
  }
}

/** A condition on rows, said once for both sources: as SQL for D1, as a test for archived rows. */
interface Condition {
  sql: string;
  params: unknown[];
  test: (row: StoredRequestRow) => boolean;
}

/** The filter's conditions, the window and the cursor included. */
function conditions(filter: RequestLogFilter, cursor: Cursor | null): Condition[] {
  const { tenant, model, tier, cache, endpoint, user, tag, status } = filter;
  const all: Array<Condition | false | '' | null | undefined> = [
    { sql: 'ts >= ?', params: [filter.from], test: (r) => r.ts >= filter.from },
    { sql: 'ts < ?', params: [filter.to], test: (r) => r.ts < filter.to },
    tenant && { sql: 'tenant_id = ?', params: [tenant], test: (r) => r.tenant_id === tenant },
    model && { sql: '(model = ? OR model_requested = ?)', params: [model, model], test: (r) => r.model === model || r.model_requested === model },
    tier && { sql: 'tier = ?', params: [tier], test: (r) => r.tier === tier },
    cache && { sql: 'cache = ?', params: [cache.toUpperCase()], test: (r) => r.cache === cache.toUpperCase() },
    endpoint && { sql: 'endpoint = ?', params: [endpoint], test: (r) => r.endpoint === endpoint },
    user && { sql: 'user = ?', params: [user], test: (r) => r.user === user },
    tag && {
      sql: 'json_extract(tags, ?) = ?',
      params: [tagPath(tag.key), tag.value],
      test: (r) => r.tags !== null && (JSON.parse(r.tags) as Tags)[tag.key] === tag.value,
    },
    status === 'error' && { sql: 'status >= 400', params: [], test: (r) => r.status >= 400 },
    status === 'ok' && { sql: 'status < 400', params: [], test: (r) => r.status < 400 },
    status !== undefined && /^\d+$/.test(status) && { sql: 'status = ?', params: [Number(status)], test: (r) => r.status === Number(status) },
    cursor && {
      sql: '(ts < ? OR (ts = ? AND id < ?))',
      params: [cursor.ts, cursor.ts, cursor.id],
      test: (r) => r.ts < cursor.ts || (r.ts === cursor.ts && r.id < cursor.id),
    },
  ];
  return all.filter((c): c is Condition => Boolean(c));
}

/** Newest first, as the API pages: by time, then id. */
const newestFirst = (a: StoredRequestRow, b: StoredRequestRow) => b.ts - a.ts || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

/**
 * Archived hours read for one page at most. A page whose filter matches little in the archive
 * stops there, shorter than `limit`, with a cursor at the last hour read: the next page goes on
 * from it. Each object read is one R2 read and one hour of calls in memory.
 */
export const MAX_ARCHIVE_HOURS_PER_PAGE = 24;

export async function queryRequestLog(env: Env, filter: RequestLogFilter): Promise<RequestLogPage> {
  const cursor = filter.cursor ? decodeCursor(filter.cursor) : null;
  if (filter.cursor && !cursor) throw invalidRequest('Invalid cursor: pass the next_cursor of a previous page as it was given.', 'cursor', 'invalid_value');
  const where = conditions(filter, cursor);
  // Without an archive, D1 is the only source (rows before raw_from are gone).
  const rawFrom = env.ARCHIVE ? (await analyticsState(env.DB)).rawFrom : 0;

  // One extra row tells whether another page exists.
  const wanted = filter.limit + 1;
  const rows: StoredRequestRow[] = [];
  if (filter.to > rawFrom && (!cursor || cursor.ts >= rawFrom)) {
    const { results } = await env.DB.prepare(
      `SELECT * FROM requests WHERE ${where.map((c) => c.sql).join(' AND ')} AND ts >= ? ORDER BY ts DESC, id DESC LIMIT ?`,
    )
      .bind(...where.flatMap((c) => c.params), rawFrom, wanted)
      .all<StoredRequestRow>();
    rows.push(...results);
  }
  let resumeAt: number | null = null;
  if (env.ARCHIVE && rows.length < wanted && filter.from < rawFrom) {
    const below = Math.min(filter.to, rawFrom, cursor ? cursor.ts + 1 : Infinity);
    const hours = await archivedHoursWithCalls(env.DB, filter.from, below);
    for (const [i, hour] of hours.entries()) {
      if (rows.length >= wanted) break;
      if (i === MAX_ARCHIVE_HOURS_PER_PAGE) {
        resumeAt = hours[i - 1].hour;
        break;
      }
      const calls = await readArchivedHour(env.ARCHIVE, hour.object_key!);
      rows.push(...calls.filter((call) => where.every((c) => c.test(call))).sort(newestFirst));
    }
  }
  const page = rows.slice(0, filter.limit);
  const last = page.at(-1);
  // Resuming before an hour: after its last millisecond's every id (request ids begin `req_`, below `~`).
  const next = rows.length > filter.limit && last ? { ts: last.ts, id: last.id } : resumeAt !== null ? { ts: resumeAt - 1, id: '~' } : null;
  return { data: page.map(toApiRow), next_cursor: next && encodeCursor(next) };
}

/**
 * A stored row as the API serves it: the documented fields (schemas.ts) one by one, never the row
 * spread, so a column a migration adds is not served undocumented before the schema names it.
 */
const toApiRow = (row: StoredRequestRow): RequestLogRow => ({
  id: row.id,
  ts: new Date(row.ts).toISOString(),
  tenant_id: row.tenant_id,
  key_id: row.key_id,
  endpoint: row.endpoint,
  user: row.user,
  tags: row.tags === null ? {} : (JSON.parse(row.tags) as Tags),
  model_requested: row.model_requested,
  model: row.model,
  provider: row.provider,
  tier: row.tier,
  route_reason: row.route_reason,
  status: row.status,
  error_type: row.error_type,
  error_message: row.error_message,
  prompt_tokens: row.prompt_tokens,
  completion_tokens: row.completion_tokens,
  cached_tokens: row.cached_tokens,
  cache_write_tokens: row.cache_write_tokens,
  reasoning_tokens: row.reasoning_tokens,
  usage_estimated: row.usage_estimated === 1,
  cost_nano: row.cost_nano,
  cost_usd: row.cost_nano / 1e9,
  saved_nano: row.saved_nano,
  saved_usd: row.saved_nano / 1e9,
  latency_ms: row.latency_ms,
  ttft_ms: row.ttft_ms,
  stream: row.stream === 1,
  cache: row.cache,
  attempts: row.attempts,
});

/** A call with its failed attempts and stored content, as the API serves it. */
const toDetail = (row: StoredRequestRow, attempts: StoredAttemptRow[], content: StoredContentRow | null): RequestDetail => ({
  ...toApiRow(row),
  failed_attempts: attempts.map((a) => ({
    attempt: a.attempt,
    ts: new Date(a.ts).toISOString(),
    model: a.model,
    provider: a.provider,
    tier: a.tier,
    status: a.status,
    error_type: a.error_type,
    error_message: a.error_message,
    latency_ms: a.latency_ms,
  })),
  content: content ? { request: content.request, response: content.response, truncated: content.truncated === 1 } : null,
});

/**
 * One call, with the upstream attempts that failed before its last one and, if its tenant stores
 * content, its prompt and answer; null when unknown. D1 is looked in first; a call purged from it
 * is found in the archive's hour of the time its id carries (core/ids.ts). A call whose id
 * carries none (made before ids did) is found while it is in D1 only.
 */
export async function requestDetail(env: Env, id: string): Promise<RequestDetail | null> {
  const db = env.DB;
  const [rows, attempts, content] = await db.batch([
    db.prepare('SELECT * FROM requests WHERE id = ?').bind(id),
    db.prepare('SELECT * FROM request_attempts WHERE request_id = ? ORDER BY attempt').bind(id),
    db.prepare('SELECT request, response, truncated FROM request_content WHERE request_id = ?').bind(id),
  ]);
  const row = rows.results[0] as StoredRequestRow | undefined;
  if (row) return toDetail(row, attempts.results as StoredAttemptRow[], (content.results[0] as StoredContentRow | undefined) ?? null);
  const ts = requestIdTime(id);
  if (!env.ARCHIVE || ts === null) return null;
  const [hour] = await archivedHoursWithCalls(db, ts, Math.floor(ts / HOUR_MS) * HOUR_MS + HOUR_MS);
  const call: ArchivedCall | undefined = hour && (await readArchivedHour(env.ARCHIVE, hour.object_key!)).find((c) => c.id === id);
  return call ? toDetail(call, call.failed_attempts, call.content) : null;
}
