/**
 * The record of one proxied call, written to D1 (exact, queryable) and Analytics Engine
 * (cheap at volume). Callers hand the write to ctx.waitUntil so the response never waits.
 */
import { noteSpend } from '../limits/budget';
import type { Env } from '../core/env';
import type { Usage } from '../core/usage';

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
 * as JSON arrays, inserted through json_each, so one statement stores one call or a whole
 * queued batch. ON CONFLICT DO NOTHING on each table's key: a retried or redelivered record is
 * skipped, and the spend trigger (migrations/0009) counts only rows really inserted; unlike
 * OR IGNORE, a row that breaks any other constraint (a NOT NULL) fails the statement loudly.
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

// `WHERE true`: SQLite needs it to read ON CONFLICT after INSERT ... SELECT.
const insertFromJson = (table: string, columns: string[], key: string) =>
  `INSERT INTO ${table} (${columns.join(', ')}) SELECT ${columns.map((_, i) => `json_extract(value, '$[${i}]')`).join(', ')} FROM json_each(?1) WHERE true ON CONFLICT (${key}) DO NOTHING`;
const INSERTS = {
  // RETURNING names the calls really inserted (not skipped as copies), whose cost is new spend.
  requests: `${insertFromJson('requests', REQUEST_COLUMNS.map(([c]) => c), 'id')} RETURNING id`,
  attempts: insertFromJson('request_attempts', ATTEMPT_COLUMNS.map(([c]) => c), 'request_id, attempt'),
  contents: insertFromJson('request_content', CONTENT_COLUMNS.map(([c]) => c), 'request_id'),
};

interface Rows {
  requests: unknown[][];
  attempts: unknown[][];
  contents: unknown[][];
}

const emptyRows = (): Rows => ({ requests: [], attempts: [], contents: [] });

/** Adds one record's rows (its call, failed attempts, stored content) to `rows`. */
function addRows(rows: Rows, r: RequestRecord): Rows {
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
function logStatements(db: D1Database, rows: Rows): D1PreparedStatement[] {
  return (['requests', 'attempts', 'contents'] as const).flatMap((table) => jsonChunks(rows[table]).map((json) => db.prepare(INSERTS[table]).bind(json)));
}

/** Runs statements as one transaction: a lone statement without the cost of a batch. The first statement's result. */
async function runAll(db: D1Database, statements: D1PreparedStatement[]): Promise<D1Result> {
  return statements.length === 1 ? statements[0].run() : (await db.batch(statements))[0];
}

const reason = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Stores `rows` in D1, retrying with backoff; the first statement's result, or null when D1 would not take them. */
async function writeRows(env: Env, rows: Rows, id: string): Promise<D1Result | null> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await runAll(env.DB, logStatements(env.DB, rows));
    } catch (error) {
      if (attempt >= D1_ATTEMPTS) {
        console.error('request log: D1 write failed', id, reason(error));
        return null;
      }
      await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
    }
  }
}

/** A record waiting for its D1 write; `written` says how it went, once it has. */
interface PendingRecord {
  record: RequestRecord;
  written?: boolean;
}

/** A group write under way: its records, and when it started. */
interface GroupWrite {
  group: PendingRecord[];
  since: number;
}

/** The records of one D1 binding waiting to be written, and the write under way. */
interface D1Writer {
  waiting: PendingRecord[];
  current: GroupWrite | null;
}

/** Per D1 binding, so each database (tests give some calls a failing one) has its own queue. */
const writers = new WeakMap<D1Database, D1Writer>();

/** Records per group write: the queue consumer's batch size. */
const MAX_RECORDS_PER_WRITE = 100;
/** How often a record written by another call's group looks whether it is done. */
const POLL_MS = 10;
/**
 * How long a group write may take before the calls waiting on it stop waiting. The call that
 * made it may be gone (its waitUntil ran out) with the write never finishing: its records go
 * back in line for the next write, and if the old one did land after all, ON CONFLICT skips
 * the copies.
 */
const GROUP_WRITE_MAX_MS = 5000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Writes a group of records as one transaction and marks how it went for each. */
async function writeGroup(env: Env, group: PendingRecord[]): Promise<void> {
  const rows = emptyRows();
  const members: PendingRecord[] = [];
  for (const pending of group) {
    try {
      // Built apart first, so a record that fails half-way leaves nothing behind.
      const own = addRows(emptyRows(), pending.record);
      rows.requests.push(...own.requests);
      rows.attempts.push(...own.attempts);
      rows.contents.push(...own.contents);
      members.push(pending);
    } catch (error) {
      // A record that cannot be made into rows is not let spoil the others: it goes on alone
      // to the queue, whose consumer says what is wrong with it.
      console.error('request log: a record could not be made into rows', pending.record.id, reason(error));
      pending.written = false;
    }
  }
  if (members.length === 0) return;
  const result = await writeRows(env, rows, members.length === 1 ? members[0].record.id : `${members[0].record.id} and ${members.length - 1} more`);
  const inserted = new Set(result?.results?.map((row) => (row as { id: string }).id));
  for (const pending of members) {
    pending.written = result !== null;
    // This isolate's month-to-date totals take the cost of each call new to the log.
    if (inserted.has(pending.record.id)) noteSpend(pending.record.tenantId, pending.record.ts, pending.record.costNano);
  }
}

/** Puts a record in line for the next D1 write of this isolate. */
function joinD1Group(env: Env, r: RequestRecord): PendingRecord {
  let writer = writers.get(env.DB);
  if (!writer) writers.set(env.DB, (writer = { waiting: [], current: null }));
  const own: PendingRecord = { record: r };
  writer.waiting.push(own);
  return own;
}

/**
 * Sees a record in line written to D1; false when D1 would not take it. Writes are grouped per
 * isolate (a group commit): one is under way at a time, and the records in line meanwhile go
 * together in the next, made by the first of their calls to find D1 free. Under load, one
 * statement stores many calls, which otherwise is most of a call's cost. Each call waits for
 * its own record inside its own waitUntil, looking at a plain flag on a timer: promises shared
 * between requests would tie one request's continuation to another's lifetime, which the
 * runtime does not guarantee.
 */
async function writtenToD1(env: Env, own: PendingRecord): Promise<boolean> {
  const writer = writers.get(env.DB)!;
  while (own.written === undefined) {
    const under = writer.current;
    if (under && Date.now() - under.since < GROUP_WRITE_MAX_MS) {
      await sleep(POLL_MS);
      continue;
    }
    if (under) writer.waiting.unshift(...under.group.filter((p) => p.written === undefined));
    const mine: GroupWrite = { group: writer.waiting.splice(0, MAX_RECORDS_PER_WRITE), since: Date.now() };
    writer.current = mine;
    try {
      await writeGroup(env, mine.group);
    } finally {
      if (writer.current === mine) writer.current = null;
    }
  }
  return own.written;
}

/**
 * How long a record lingers before it is written: the response is on its way first, and the
 * records of calls ending meanwhile join the same write. Nobody waits for it but the log.
 */
const LINGER_MS = 5;

/**
 * Stored content longer than this (characters, request and answer together) does not ride in the
 * record's queue message: a message is at most 128 KB, a character up to 2 bytes of it, and the
 * rest of the record needs room (its failed attempts' messages).
 */
const MAX_QUEUED_CONTENT_CHARS = 48_000;

/**
 * Queues a record. The billing row must always fit: a record whose stored content would make the
 * message too large is queued without it, and the content is written to D1 on its own (lost,
 * and said so, only if D1 refuses it too).
 */
async function sendToQueue(env: Env, r: RequestRecord): Promise<boolean> {
  if (!env.LOG_QUEUE) return false;
  const contentChars = r.content ? r.content.request.length + (r.content.response?.length ?? 0) : 0;
  const message = contentChars > MAX_QUEUED_CONTENT_CHARS ? { ...r, content: undefined } : r;
  try {
    await env.LOG_QUEUE.send(message);
  } catch (error) {
    console.error('request log: queue send failed', r.id, reason(error));
    return false;
  }
  if (message !== r && !(await writeRows(env, { ...emptyRows(), contents: addRows(emptyRows(), r).contents }, r.id))) {
    console.error('request log: stored content dropped (too large for the queue, and D1 refused it)', r.id);
  }
  return true;
}

/** Whether rows go through the queue (REQUEST_LOG_SINK=queue and a LOG_QUEUE binding). */
export const logsThroughQueue = (env: Env) => env.REQUEST_LOG_SINK === 'queue' && env.LOG_QUEUE !== undefined;

/**
 * Stores one call's record, once the response is on its way. Analytics Engine gets its point at
 * once. The D1 row goes straight to D1 (grouped with other calls' rows, retried), or, with
 * REQUEST_LOG_SINK=queue, through the LOG_QUEUE for the consumer to
 * insert in batches (the scaling path for high volume). Each path falls back on the other, so
 * a row survives either being down; if both are, the record is printed whole to the Worker's
 * logs, the last place it can be recovered from.
 */
export async function writeRequestLog(env: Env, r: RequestRecord): Promise<void> {
  const viaQueue = logsThroughQueue(env);
  // The record gets in line for D1 at once; the work of writing it waits: callers hand this to
  // waitUntil as they answer, and the calls ending meanwhile join the same write.
  const inLine = viaQueue ? null : joinD1Group(env, r);
  if (inLine) await sleep(LINGER_MS);
  try {
    env.AE?.writeDataPoint(toDataPoint(r));
  } catch (error) {
    // Analytics Engine is the secondary copy: its failure must not cost us the D1 row.
    console.error('analytics engine write failed', r.id, error);
  }
  const written = inLine
    ? (await writtenToD1(env, inLine)) || (await sendToQueue(env, r))
    : (await sendToQueue(env, r)) || (await writtenToD1(env, joinD1Group(env, r)));
  if (!written) console.error('request log: unwritten record', JSON.stringify(r));
}

const isText = (value: unknown) => typeof value === 'string';
const isNumber = (value: unknown) => typeof value === 'number' && Number.isFinite(value);
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;

/** What is wrong with a queued record (the first field that is), or null when it can be stored. */
export function recordProblem(r: unknown): string | null {
  if (!isObject(r)) return 'not an object';
  for (const field of ['id', 'tenantId', 'keyId', 'endpoint', 'cache']) if (!isText(r[field])) return field;
  for (const field of ['ts', 'status', 'costNano', 'savedNano', 'latencyMs', 'attempts']) if (!isNumber(r[field])) return field;
  const usage = r.usage;
  if (!isObject(usage) || !['promptTokens', 'completionTokens', 'cachedTokens', 'cacheWriteTokens'].every((field) => isNumber(usage[field]))) return 'usage';
  if (!Array.isArray(r.failedAttempts)) return 'failedAttempts';
  for (const a of r.failedAttempts as unknown[]) {
    if (!isObject(a) || !['model', 'provider', 'tier', 'errorMessage'].every((f) => isText(a[f])) || !['attempt', 'ts', 'status', 'latencyMs'].every((f) => isNumber(a[f]))) return 'failedAttempts';
  }
  const content = r.content;
  if (content !== undefined && (!isObject(content) || !isText(content.request) || !(content.response === null || isText(content.response)))) return 'content';
  return null;
}

/** Inserts the records as one transaction; the error, or null when they are stored. */
async function insertRecords(env: Env, records: RequestRecord[]): Promise<unknown> {
  try {
    const rows = emptyRows();
    for (const r of records) addRows(rows, r);
    await runAll(env.DB, logStatements(env.DB, rows));
    return null;
  } catch (error) {
    return error;
  }
}

/**
 * The LOG_QUEUE consumer: inserts a batch of records in one D1 transaction of a few statements
 * (rows, failed attempts, stored content), however many records. Inserts are idempotent (a
 * redelivered record is ignored, its spend not counted twice). A record that is not a valid
 * record is said loudly and retried, which ends in the dead-letter queue. When D1 refuses the
 * batch, its records are inserted one by one: the ones D1 takes are acknowledged, and only the
 * ones it refuses are delivered again (all of them, while D1 is down); after max_retries a
 * message moves to the dead-letter queue alone, to be replayed.
 */
export async function consumeRequestLog(batch: MessageBatch<RequestRecord>, env: Env): Promise<void> {
  const valid: Message<RequestRecord>[] = [];
  for (const message of batch.messages) {
    const problem = recordProblem(message.body);
    if (problem === null) valid.push(message);
    else {
      console.error(`request log: queued message ${message.id} is not a valid record (${problem}); retried until the dead-letter queue keeps it`);
      message.retry();
    }
  }
  if (valid.length === 0) return;
  const failure = await insertRecords(env, valid.map((m) => m.body));
  if (failure === null) {
    for (const message of valid) message.ack();
    return;
  }
  if (valid.length > 1) console.error(`request log: D1 refused a batch of ${valid.length} (${reason(failure)}); inserting its records one by one`);
  await Promise.all(
    valid.map(async (message) => {
      const error = valid.length === 1 ? failure : await insertRecords(env, [message.body]);
      if (error === null) return message.ack();
      console.error(`request log: D1 refused record ${message.body.id} (${reason(error)}); retrying it`);
      message.retry({ delaySeconds: 10 });
    }),
  );
}
