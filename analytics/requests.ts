/**
 * The request log as the admin API and the dashboard read it: newest first, filtered, and
 * paginated by a keyset cursor so no query ever reads more than one page of rows.
 */
import { tagPath, type Tags } from '../proxy/core/attribution';
import { invalidRequest } from '../proxy/core/errors';
import type { RequestAttempt, RequestDetail, RequestLogPage, RequestLogRow, StoredRequestRow, TagFilter } from './types';

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

interface Cursor {
  ts: number;
  id: string;
}

export function encodeCursor(cursor: Cursor): string {
  return btoa(`${cursor.ts}:${cursor.id}`).replace(/=+$/, '');
}

export function decodeCursor(text: string): Cursor | null {
  try {
    const decoded = atob(text);
    const colon = decoded.indexOf(':');
    const ts = Number(decoded.slice(0, colon));
    const id = decoded.slice(colon + 1);
    return colon > 0 && Number.isSafeInteger(ts) && id ? { ts, id } : null;
  } catch {
    return null;
  }
}

export async function queryRequestLog(db: D1Database, filter: RequestLogFilter): Promise<RequestLogPage> {
  const where = ['ts >= ?', 'ts < ?'];
  const params: unknown[] = [filter.from, filter.to];
  if (filter.tenant) (where.push('tenant_id = ?'), params.push(filter.tenant));
  if (filter.model) (where.push('(model = ? OR model_requested = ?)'), params.push(filter.model, filter.model));
  if (filter.tier) (where.push('tier = ?'), params.push(filter.tier));
  if (filter.cache) (where.push('cache = ?'), params.push(filter.cache.toUpperCase()));
  if (filter.endpoint) (where.push('endpoint = ?'), params.push(filter.endpoint));
  if (filter.user) (where.push('user = ?'), params.push(filter.user));
  if (filter.tag) (where.push('json_extract(tags, ?) = ?'), params.push(tagPath(filter.tag.key), filter.tag.value));
  if (filter.status === 'error') where.push('status >= 400');
  else if (filter.status === 'ok') where.push('status < 400');
  else if (filter.status) (where.push('status = ?'), params.push(Number(filter.status)));
  const cursor = filter.cursor ? decodeCursor(filter.cursor) : null;
  if (filter.cursor && !cursor) throw invalidRequest('Invalid cursor: pass the next_cursor of a previous page as it was given.', 'cursor', 'invalid_value');
  if (cursor) (where.push('(ts < ? OR (ts = ? AND id < ?))'), params.push(cursor.ts, cursor.ts, cursor.id));

  // One extra row tells whether another page exists.
  const { results } = await db
    .prepare(`SELECT * FROM requests WHERE ${where.join(' AND ')} ORDER BY ts DESC, id DESC LIMIT ?`)
    .bind(...params, filter.limit + 1)
    .all<StoredRequestRow>();
  const page = results.slice(0, filter.limit);
  const last = page.at(-1);
  return {
    data: page.map(toApiRow),
    next_cursor: results.length > filter.limit && last ? encodeCursor({ ts: last.ts, id: last.id }) : null,
  };
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

/** One call, with the upstream attempts that failed before its last one and, if its tenant stores content, its prompt and answer; null when unknown. */
export async function requestDetail(db: D1Database, id: string): Promise<RequestDetail | null> {
  const [rows, attempts, content] = await db.batch([
    db.prepare('SELECT * FROM requests WHERE id = ?').bind(id),
    db
      .prepare(
        `SELECT attempt, ts, model, provider, tier, status, error_type, error_message, latency_ms FROM request_attempts WHERE request_id = ? ORDER BY attempt`,
      )
      .bind(id),
    db.prepare('SELECT request, response, truncated FROM request_content WHERE request_id = ?').bind(id),
  ]);
  const row = rows.results[0] as StoredRequestRow | undefined;
  if (!row) return null;
  const stored = content.results[0] as { request: string; response: string | null; truncated: number } | undefined;
  return {
    ...toApiRow(row),
    failed_attempts: (attempts.results as Array<Omit<RequestAttempt, 'ts'> & { ts: number }>).map((a) => ({ ...a, ts: new Date(a.ts).toISOString() })),
    content: stored ? { request: stored.request, response: stored.response, truncated: stored.truncated === 1 } : null,
  };
}
