/**
 * The record of one proxied call, written to D1 (exact, queryable) and Analytics Engine
 * (cheap at volume). Callers hand the write to ctx.waitUntil so the response never waits.
 */
import { noteSpend, spendStatement } from './budget';
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

// OR IGNORE: a retried write whose first attempt did land must not fail or duplicate.
const INSERT = `INSERT OR IGNORE INTO requests (
  id, ts, tenant_id, key_id, endpoint, model_requested, model, provider, tier, route_reason,
  status, error_type, error_message, prompt_tokens, completion_tokens, cached_tokens,
  cache_write_tokens, usage_estimated, cost_nano, saved_nano, latency_ms, ttft_ms, stream, cache, attempts
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

const INSERT_CONTENT = `INSERT OR IGNORE INTO request_content (request_id, ts, tenant_id, request, response, truncated) VALUES (?, ?, ?, ?, ?, ?)`;

const INSERT_ATTEMPT = `INSERT OR IGNORE INTO request_attempts (
  request_id, attempt, ts, tenant_id, model, provider, tier, status, error_type, error_message, latency_ms
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

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

/** The statements that store one record, as one transaction: its row, the month's spend (counted only if the row is new), its failed attempts, its stored content. */
function logStatements(db: D1Database, r: RequestRecord): D1PreparedStatement[] {
  const row = db.prepare(INSERT).bind(
    r.id, r.ts, r.tenantId, r.keyId, r.endpoint, r.modelRequested, r.model, r.provider, r.tier, r.routeReason,
    r.status, r.errorType, r.errorMessage?.slice(0, MAX_ERROR_CHARS) ?? null, r.usage.promptTokens, r.usage.completionTokens,
    r.usage.cachedTokens, r.usage.cacheWriteTokens, r.usageEstimated ? 1 : 0, r.costNano, r.savedNano,
    r.latencyMs, r.ttftMs, r.stream ? 1 : 0, r.cache, r.attempts,
  );
  return [
    row,
    ...(r.costNano > 0 ? [spendStatement(db, r.tenantId, r.ts, r.costNano)] : []),
    ...r.failedAttempts.map((a) =>
      db.prepare(INSERT_ATTEMPT).bind(r.id, a.attempt, a.ts, r.tenantId, a.model, a.provider, a.tier, a.status, a.errorType, a.errorMessage.slice(0, MAX_ERROR_CHARS), a.latencyMs),
    ),
    ...(r.content ? [db.prepare(INSERT_CONTENT).bind(r.id, r.ts, r.tenantId, r.content.request, r.content.response, r.content.truncated ? 1 : 0)] : []),
  ];
}

/** Writes one record to D1, retrying with backoff; false when D1 would not take it. */
async function writeToD1(env: Env, r: RequestRecord): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    try {
      const [inserted] = await env.DB.batch(logStatements(env.DB, r));
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
 * The LOG_QUEUE consumer: inserts a batch of records in one D1 transaction. Inserts are
 * idempotent (a redelivered record is ignored, its spend not counted twice), so when D1 fails
 * the batch is simply delivered again later; a record that cannot be read is retried on its
 * own. After max_retries the queue moves a message to its dead-letter queue, to be replayed.
 */
export async function consumeRequestLog(batch: MessageBatch<RequestRecord>, env: Env): Promise<void> {
  const readable: Message<RequestRecord>[] = [];
  const statements: D1PreparedStatement[] = [];
  for (const message of batch.messages) {
    try {
      statements.push(...logStatements(env.DB, message.body));
      readable.push(message);
    } catch (error) {
      console.error('request log: unreadable queued record', message.id, error instanceof Error ? error.message : error);
      message.retry();
    }
  }
  if (statements.length === 0) return;
  try {
    await env.DB.batch(statements);
    for (const message of readable) message.ack();
  } catch (error) {
    console.error(`request log: writing a batch of ${readable.length} failed, retrying it`, error instanceof Error ? error.message : error);
    for (const message of readable) message.retry({ delaySeconds: 10 });
  }
}
