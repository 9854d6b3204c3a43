/**
 * The record of one proxied call, written to D1 (exact, queryable) and Analytics Engine
 * (cheap at volume). Callers hand the write to ctx.waitUntil so the response never waits.
 */
import { noteSpend } from './budget';
import type { Env } from './env';
import type { Usage } from './usage';

export type CacheStatus = 'HIT' | 'MISS' | 'BYPASS';

export interface RequestRecord {
  id: string;
  ts: number;
  tenantId: string;
  keyId: string;
  endpoint: 'chat' | 'embeddings';
  modelRequested: string | null;
  model: string | null;
  provider: string | null;
  tier: string | null;
  routeReason: string | null;
  status: number;
  errorType: string | null;
  errorMessage: string | null;
  usage: Usage;
  usageEstimated: boolean;
  costNano: number;
  savedNano: number;
  latencyMs: number;
  ttftMs: number | null;
  stream: boolean;
  cache: CacheStatus;
  /** Upstream attempts made; the last one's outcome is this row's. */
  attempts: number;
  /** The attempts before the last, each of which failed. They cost nothing: no usage was billed. */
  failedAttempts: AttemptRecord[];
  /** The prompt and answer, only for tenants that opted in (store_content). */
  content?: { request: string; response: string | null; truncated: boolean };
}

export interface AttemptRecord {
  attempt: number;
  ts: number;
  model: string;
  provider: string;
  tier: string;
  status: number;
  errorType: string | null;
  errorMessage: string;
  latencyMs: number;
}

/** Error texts are kept short: they are for people, and a hostile upstream could send megabytes. */
const MAX_ERROR_CHARS = 1000;

const D1_ATTEMPTS = 3;

/**
 * Analytics Engine layout (documented in the README, "The request log"): the tenant is the index
 * (the sampling key); strings are blobs; numbers are doubles.
 */
export function toDataPoint(r: RequestRecord): AnalyticsEngineDataPoint {
  return {
    indexes: [r.tenantId],
    blobs: [r.tenantId, r.model ?? '', r.provider ?? '', r.tier ?? '', String(r.status), r.cache, r.endpoint, r.errorType ?? '', r.routeReason ?? '', r.keyId, r.id],
    doubles: [
      r.usage.promptTokens, r.usage.completionTokens, r.usage.cachedTokens, r.usage.cacheWriteTokens,
      r.costNano, r.savedNano, r.latencyMs, r.ttftMs ?? -1, r.stream ? 1 : 0, r.status, r.attempts,
    ],
  };
}

/**
 * How records become rows: each table's columns with the record field behind each. Rows travel
 * as one JSON array per statement and are inserted through json_each, so one statement stores
 * one call or a whole queued batch. OR IGNORE: a retried or redelivered record is skipped, and
 * the spend trigger (migrations/0009) counts only rows really inserted.
 */
const REQUEST_COLUMNS: Array<[string, (r: RequestRecord) => unknown]> = [
  ['id', (r) => r.id], ['ts', (r) => r.ts], ['tenant_id', (r) => r.tenantId], ['key_id', (r) => r.keyId], ['endpoint', (r) => r.endpoint],
  ['model_requested', (r) => r.modelRequested], ['model', (r) => r.model], ['provider', (r) => r.provider], ['tier', (r) => r.tier],
  ['route_reason', (r) => r.routeReason], ['status', (r) => r.status], ['error_type', (r) => r.errorType],
  ['error_message', (r) => r.errorMessage?.slice(0, MAX_ERROR_CHARS) ?? null], ['prompt_tokens', (r) => r.usage.promptTokens],
  ['completion_tokens', (r) => r.usage.completionTokens], ['cached_tokens', (r) => r.usage.cachedTokens],
  ['cache_write_tokens', (r) => r.usage.cacheWriteTokens], ['usage_estimated', (r) => (r.usageEstimated ? 1 : 0)], ['cost_nano', (r) => r.costNano],
  ['saved_nano', (r) => r.savedNano], ['latency_ms', (r) => r.latencyMs], ['ttft_ms', (r) => r.ttftMs], ['stream', (r) => (r.stream ? 1 : 0)],
  ['cache', (r) => r.cache], ['attempts', (r) => r.attempts],
];
const ATTEMPT_COLUMNS: Array<[string, (r: RequestRecord, a: AttemptRecord) => unknown]> = [
  ['request_id', (r) => r.id], ['attempt', (_, a) => a.attempt], ['ts', (_, a) => a.ts], ['tenant_id', (r) => r.tenantId], ['model', (_, a) => a.model],
  ['provider', (_, a) => a.provider], ['tier', (_, a) => a.tier], ['status', (_, a) => a.status], ['error_type', (_, a) => a.errorType],
  ['error_message', (_, a) => a.errorMessage.slice(0, MAX_ERROR_CHARS)], ['latency_ms', (_, a) => a.latencyMs],
];
const CONTENT_COLUMNS: Array<[string, (r: RequestRecord) => unknown]> = [
  ['request_id', (r) => r.id], ['ts', (r) => r.ts], ['tenant_id', (r) => r.tenantId], ['request', (r) => r.content!.request],
  ['response', (r) => r.content!.response], ['truncated', (r) => (r.content!.truncated ? 1 : 0)],
];

const insertFromJson = (table: string, columns: string[]) =>
  `INSERT OR IGNORE INTO ${table} (${columns.join(', ')}) SELECT ${columns.map((_, i) => `json_extract(value, '$[${i}]')`).join(', ')} FROM json_each(?1)`;
const INSERT_REQUESTS = insertFromJson('requests', REQUEST_COLUMNS.map(([c]) => c));
const INSERT_ATTEMPTS = insertFromJson('request_attempts', ATTEMPT_COLUMNS.map(([c]) => c));
const INSERT_CONTENT = insertFromJson('request_content', CONTENT_COLUMNS.map(([c]) => c));

interface Rows {
  requests: unknown[][];
  attempts: unknown[][];
  contents: unknown[][];
}

const emptyRows = (): Rows => ({ requests: [], attempts: [], contents: [] });

/** Adds one record's rows (its call, failed attempts, stored content) to `rows`; throws on a record it cannot read. */
function addRows(rows: Rows, r: RequestRecord): Rows {
  const request = REQUEST_COLUMNS.map(([, value]) => value(r));
  const attempts = r.failedAttempts.map((a) => ATTEMPT_COLUMNS.map(([, value]) => value(r, a)));
  const content = r.content ? [CONTENT_COLUMNS.map(([, value]) => value(r))] : [];
  rows.requests.push(request);
  rows.attempts.push(...attempts);
  rows.contents.push(...content);
  return rows;
}

/** The statements that store `rows` as one transaction (spend follows by trigger). */
function logStatements(db: D1Database, rows: Rows): D1PreparedStatement[] {
  return [
    db.prepare(INSERT_REQUESTS).bind(JSON.stringify(rows.requests)),
    ...(rows.attempts.length ? [db.prepare(INSERT_ATTEMPTS).bind(JSON.stringify(rows.attempts))] : []),
    ...(rows.contents.length ? [db.prepare(INSERT_CONTENT).bind(JSON.stringify(rows.contents))] : []),
  ];
}

/** Runs statements as one transaction: a lone statement without the cost of a batch. */
async function runAll(db: D1Database, statements: D1PreparedStatement[]): Promise<D1Result> {
  return statements.length === 1 ? statements[0].run() : (await db.batch(statements))[0];
}

/** Writes one record to D1, retrying with backoff; false when D1 would not take it. */
async function writeToD1(env: Env, r: RequestRecord): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    try {
      const inserted = await runAll(env.DB, logStatements(env.DB, addRows(emptyRows(), r)));
      if (inserted.meta.changes > 0) noteSpend(r.tenantId, r.ts, r.costNano);
      return true;
    } catch (error) {
      if (attempt >= D1_ATTEMPTS) {
        console.error('request log: D1 write failed', r.id, error instanceof Error ? error.message : error);
        return false;
      }
      await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
    }
  }
}

async function sendToQueue(env: Env, r: RequestRecord): Promise<boolean> {
  if (!env.LOG_QUEUE) return false;
  try {
    await env.LOG_QUEUE.send(r);
    return true;
  } catch (error) {
    console.error('request log: queue send failed', r.id, error instanceof Error ? error.message : error);
    return false;
  }
}

/** Whether rows go through the queue (REQUEST_LOG_SINK=queue and a LOG_QUEUE binding). */
export const logsThroughQueue = (env: Env) => env.REQUEST_LOG_SINK === 'queue' && env.LOG_QUEUE !== undefined;

/**
 * Stores one call's record. Analytics Engine gets its point at once. The D1 row goes straight
 * to D1 (retried), or, with REQUEST_LOG_SINK=queue, through the LOG_QUEUE for the consumer to
 * insert in batches (the scaling path for high volume). Each path falls back on the other, so
 * a row survives either being down; if both are, the record is printed whole to the Worker's
 * logs, the last place it can be recovered from.
 */
export async function writeRequestLog(env: Env, r: RequestRecord): Promise<void> {
  try {
    env.AE?.writeDataPoint(toDataPoint(r));
  } catch (error) {
    // Analytics Engine is the secondary copy: its failure must not cost us the D1 row.
    console.error('analytics engine write failed', r.id, error);
  }
  const written = logsThroughQueue(env)
    ? (await sendToQueue(env, r)) || (await writeToD1(env, r))
    : (await writeToD1(env, r)) || (await sendToQueue(env, r));
  if (!written) console.error('request log: unwritten record', JSON.stringify(r));
}

/**
 * The LOG_QUEUE consumer: inserts a batch of records in one D1 transaction of at most three
 * statements (rows, failed attempts, stored content), however many records. Inserts are
 * idempotent (a redelivered record is ignored, its spend not counted twice), so when D1 fails
 * the batch is simply delivered again later; a record that cannot be read is retried on its
 * own. After max_retries the queue moves a message to its dead-letter queue, to be replayed.
 */
export async function consumeRequestLog(batch: MessageBatch<RequestRecord>, env: Env): Promise<void> {
  const readable: Message<RequestRecord>[] = [];
  const rows = emptyRows();
  for (const message of batch.messages) {
    try {
      const own = addRows(emptyRows(), message.body);
      for (const table of ['requests', 'attempts', 'contents'] as const) rows[table].push(...own[table]);
      readable.push(message);
    } catch (error) {
      console.error('request log: unreadable queued record', message.id, error instanceof Error ? error.message : error);
      message.retry();
    }
  }
  if (readable.length === 0) return;
  try {
    await runAll(env.DB, logStatements(env.DB, rows));
    for (const message of readable) message.ack();
  } catch (error) {
    console.error(`request log: writing a batch of ${readable.length} failed, retrying it`, error instanceof Error ? error.message : error);
    for (const message of readable) message.retry({ delaySeconds: 10 });
  }
}
