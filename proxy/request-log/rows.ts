/**
 * A call's record as D1 rows (the call, its failed attempts, its stored content) and the
 * statements that insert many records at once, as JSON bound to a few parameters.
 */
import type { Env } from '../core/env';
import { tagsJson } from '../core/attribution';
import type { AttemptRecord, RequestRecord } from '../core/request-record';

/** Error texts are kept short: they are for people, and a hostile upstream could send megabytes. */
const MAX_ERROR_CHARS = 1000;

const D1_ATTEMPTS = 3;

/**
 * How records become rows: each table's columns with the record field behind each. Rows travel
 * as JSON arrays, inserted through json_each, so one statement stores one call or a whole
 * queued batch. ON CONFLICT DO NOTHING on each table's key: a retried or redelivered record is
 * skipped, and the spend trigger (migrations/0009) counts only rows really inserted; unlike
 * OR IGNORE, a row that breaks any other constraint (a NOT NULL) fails the statement loudly.
 */
const REQUEST_COLUMNS: Array<[string, (r: RequestRecord) => unknown]> = [
  ['id', (r) => r.id],
  ['ts', (r) => r.ts],
  ['tenant_id', (r) => r.tenantId],
  ['key_id', (r) => r.keyId],
  ['endpoint', (r) => r.endpoint],
  ['model_requested', (r) => r.modelRequested],
  ['model', (r) => r.model],
  ['provider', (r) => r.provider],
  ['tier', (r) => r.tier],
  ['route_reason', (r) => r.routeReason],
  ['status', (r) => r.status],
  ['error_type', (r) => r.errorType],
  ['error_message', (r) => r.errorMessage?.slice(0, MAX_ERROR_CHARS) ?? null],
  ['prompt_tokens', (r) => r.usage.promptTokens],
  ['completion_tokens', (r) => r.usage.completionTokens],
  ['cached_tokens', (r) => r.usage.cachedTokens],
  ['cache_write_tokens', (r) => r.usage.cacheWriteTokens],
  ['cache_write_1h_tokens', (r) => r.usage.cacheWrite1hTokens ?? 0],
  ['reasoning_tokens', (r) => r.usage.reasoningTokens ?? 0],
  ['service_tier', (r) => r.usage.serviceTier ?? null],
  ['region', (r) => r.usage.region ?? null],
  ['unpriced', (r) => (r.unpriced ? 1 : 0)],
  ['usage_estimated', (r) => (r.usageEstimated ? 1 : 0)],
  ['cost_nano', (r) => r.costNano],
  ['saved_nano', (r) => r.savedNano],
  ['latency_ms', (r) => r.latencyMs],
  ['ttft_ms', (r) => r.ttftMs],
  ['stream', (r) => (r.stream ? 1 : 0)],
  ['cache', (r) => r.cache],
  ['attempts', (r) => r.attempts],
  ['response_id', (r) => r.responseId ?? null],
  ['user', (r) => r.user ?? null],
  ['tags', (r) => tagsJson(r.tags)],
];
const ATTEMPT_COLUMNS: Array<[string, (r: RequestRecord, a: AttemptRecord) => unknown]> = [
  ['request_id', (r) => r.id],
  ['attempt', (_, a) => a.attempt],
  ['ts', (_, a) => a.ts],
  ['tenant_id', (r) => r.tenantId],
  ['model', (_, a) => a.model],
  ['provider', (_, a) => a.provider],
  ['tier', (_, a) => a.tier],
  ['status', (_, a) => a.status],
  ['error_type', (_, a) => a.errorType],
  ['error_message', (_, a) => a.errorMessage.slice(0, MAX_ERROR_CHARS)],
  ['latency_ms', (_, a) => a.latencyMs],
];
const CONTENT_COLUMNS: Array<[string, (r: RequestRecord) => unknown]> = [
  ['request_id', (r) => r.id],
  ['ts', (r) => r.ts],
  ['tenant_id', (r) => r.tenantId],
  ['request', (r) => r.content!.request],
  ['response', (r) => r.content!.response],
  ['truncated', (r) => (r.content!.truncated ? 1 : 0)],
];

// `WHERE true`: SQLite needs it to read ON CONFLICT after INSERT ... SELECT.
const insertFromJson = (table: string, columns: string[], key: string) =>
  `INSERT INTO ${table} (${columns.join(', ')}) SELECT ${columns.map((_, i) => `json_extract(value, '$[${i}]')`).join(', ')} FROM json_each(?1) WHERE true ON CONFLICT (${key}) DO NOTHING`;
const INSERTS = {
  // RETURNING names the calls really inserted (not skipped as copies), whose cost is new spend.
  requests: `${insertFromJson(
    'requests',
    REQUEST_COLUMNS.map(([c]) => c),
    'id',
  )} RETURNING id`,
  attempts: insertFromJson(
    'request_attempts',
    ATTEMPT_COLUMNS.map(([c]) => c),
    'request_id, attempt',
  ),
  contents: insertFromJson(
    'request_content',
    CONTENT_COLUMNS.map(([c]) => c),
    'request_id',
  ),
};

interface Rows {
  requests: unknown[][];
  attempts: unknown[][];
  contents: unknown[][];
}

export const emptyRows = (): Rows => ({ requests: [], attempts: [], contents: [] });

/** Adds one record's rows (its call, failed attempts, stored content) to `rows`. */
export function addRows(rows: Rows, r: RequestRecord): Rows {
  rows.requests.push(REQUEST_COLUMNS.map(([, value]) => value(r)));
  for (const a of r.failedAttempts) rows.attempts.push(ATTEMPT_COLUMNS.map(([, value]) => value(r, a)));
  if (r.content) rows.contents.push(CONTENT_COLUMNS.map(([, value]) => value(r)));
  return rows;
}

/**
 * Characters per JSON parameter. D1 refuses a string over 2,000,000 bytes, and JSON text takes at
 * most 3 UTF-8 bytes a character. One row may exceed it and then goes alone: the largest (two
 * stored texts of MAX_STORED_CHARS) is about 1.6 MB.
 */
const MAX_PARAM_CHARS = 600_000;

/** `rows` as JSON arrays of at most MAX_PARAM_CHARS characters (one call's rows are one). */
function jsonChunks(rows: unknown[][]): string[] {
  const chunks: string[] = [];
  let chunk: string[] = [];
  let chars = 0;
  for (const row of rows) {
    const json = JSON.stringify(row);
    if (chunk.length > 0 && chars + json.length > MAX_PARAM_CHARS) {
      chunks.push(`[${chunk.join(',')}]`);
      chunk = [];
      chars = 0;
    }
    chunk.push(json);
    chars += json.length + 1;
  }
  if (chunk.length > 0) chunks.push(`[${chunk.join(',')}]`);
  return chunks;
}

/** The statements that store `rows` as one transaction (spend follows by trigger); requests come first. */
export function logStatements(db: D1Database, rows: Rows): D1PreparedStatement[] {
  return (['requests', 'attempts', 'contents'] as const).flatMap((table) => jsonChunks(rows[table]).map((json) => db.prepare(INSERTS[table]).bind(json)));
}

/** Runs statements as one transaction: a lone statement without the cost of a batch. The first statement's result. */
export async function runAll(db: D1Database, statements: D1PreparedStatement[]): Promise<D1Result> {
  return statements.length === 1 ? statements[0].run() : (await db.batch(statements))[0];
}

export const reason = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Whether D1 refused a write because the database is at its size limit: no retry can help. */
export const isDatabaseFull = (error: unknown) => /Exceeded maximum DB size|SQLITE_FULL|database or disk is full/i.test(reason(error));

/** Stores `rows` in D1, retrying with backoff; the first statement's result, or null when D1 would not take them. */
export async function writeRows(env: Env, rows: Rows, id: string): Promise<D1Result | null> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await runAll(env.DB, logStatements(env.DB, rows));
    } catch (error) {
      if (attempt >= D1_ATTEMPTS || isDatabaseFull(error)) {
        console.error('request log: D1 write failed', id, reason(error));
        return null;
      }
      await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
    }
  }
}
