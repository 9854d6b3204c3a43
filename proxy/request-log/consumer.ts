/**
 * The request-log queue's consumer (REQUEST_LOG_SINK=queue, and rows D1 refused): records
 * checked one by one, inserted in batches, a batch D1 refuses retried record by record, and
 * records a full D1 refuses kept in the overflow (overflow.ts) instead of retried into the
 * dead-letter queue.
 */
import { alertOnSpend } from '../alerts/budget';
import type { Env } from '../core/env';
import type { RequestRecord } from '../core/request-record';
import { overflowRecords } from './overflow';
import { emptyRows, addRows, isDatabaseFull, runAll, logStatements, reason } from './rows';

const isText = (value: unknown) => typeof value === 'string';
const isNumber = (value: unknown) => typeof value === 'number' && Number.isFinite(value);
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;

/** What is wrong with a queued record (the first field that is), or null when it can be stored. */
function recordProblem(r: unknown): string | null {
  if (!isObject(r)) return 'not an object';
  for (const field of ['id', 'tenantId', 'keyId', 'endpoint', 'cache']) if (!isText(r[field])) return field;
  for (const field of ['ts', 'status', 'costNano', 'savedNano', 'latencyMs', 'attempts']) if (!isNumber(r[field])) return field;
  const usage = r.usage;
  if (!isObject(usage) || !['promptTokens', 'completionTokens', 'cachedTokens', 'cacheWriteTokens'].every((field) => isNumber(usage[field]))) return 'usage';
  if (!Array.isArray(r.failedAttempts)) return 'failedAttempts';
  for (const a of r.failedAttempts as unknown[]) {
    if (
      !isObject(a) ||
      !['model', 'provider', 'tier', 'errorMessage'].every((f) => isText(a[f])) ||
      !['attempt', 'ts', 'status', 'latencyMs'].every((f) => isNumber(a[f]))
    )
      return 'failedAttempts';
  }
  if (!(r.user === undefined || r.user === null || isText(r.user))) return 'user';
  const tags = r.tags;
  if (!(tags === undefined || tags === null || (isObject(tags) && !Array.isArray(tags) && Object.values(tags).every(isText)))) return 'tags';
  const content = r.content;
  if (content !== undefined && (!isObject(content) || !isText(content.request) || !(content.response === null || isText(content.response)))) return 'content';
  return null;
}

/** Inserts the records as one transaction: the ids of the rows new to the log, or the error. */
async function insertRecords(env: Env, records: RequestRecord[]): Promise<{ inserted: string[] } | { error: unknown }> {
  try {
    const rows = emptyRows();
    for (const r of records) addRows(rows, r);
    const { results } = await runAll(env.DB, logStatements(env.DB, rows));
    return { inserted: (results as Array<{ id: string }>).map((row) => row.id) };
  } catch (error) {
    return { error };
  }
}

/**
 * The LOG_QUEUE consumer: inserts a batch of records in one D1 transaction of a few statements
 * (rows, failed attempts, stored content), however many records. Inserts are idempotent (a
 * redelivered record is ignored, its spend not counted twice). A record that is not a valid
 * record is said loudly and retried, which ends in the dead-letter queue. When D1 refuses the
 * batch, its records are inserted one by one: the ones D1 takes are acknowledged, and only the
 * ones it refuses are delivered again (all of them, while D1 is down); after max_retries a
 * message moves to the dead-letter queue alone, to be replayed. Records refused because the
 * database is full go to the overflow in one object and are acknowledged: retrying would not
 * help until space is freed, and the dead-letter queue would be the end of them. The budget
 * alerts of the calls inserted are evaluated after (in waitUntil, so the batch is not held).
 */
export async function consumeRequestLog(batch: MessageBatch<RequestRecord>, env: Env, ctx: ExecutionContext): Promise<void> {
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
  const inserted = new Set<string>();
  const full: Message<RequestRecord>[] = [];
  const outcome = await insertRecords(
    env,
    valid.map((m) => m.body),
  );
  if ('inserted' in outcome) {
    outcome.inserted.forEach((id) => inserted.add(id));
    for (const message of valid) message.ack();
  } else {
    if (valid.length > 1) console.error(`request log: D1 refused a batch of ${valid.length} (${reason(outcome.error)}); inserting its records one by one`);
    await Promise.all(
      valid.map(async (message) => {
        const own = valid.length === 1 ? outcome : await insertRecords(env, [message.body]);
        if ('inserted' in own) {
          own.inserted.forEach((id) => inserted.add(id));
          return message.ack();
        }
        if (isDatabaseFull(own.error)) return full.push(message);
        console.error(`request log: D1 refused record ${message.body.id} (${reason(own.error)}); retrying it`);
        message.retry({ delaySeconds: 10 });
      }),
    );
  }
  // The spend of the rows new to the log is known now: their budget alerts are due (alerts/budget.ts).
  ctx.waitUntil(
    alertOnSpend(
      env,
      valid.map((m) => m.body).filter((r) => inserted.has(r.id)),
    ),
  );
  if (full.length === 0) return;
  const kept = await overflowRecords(
    env,
    full.map((m) => m.body),
    'D1 is full',
  );
  for (const message of full) {
    if (kept) message.ack();
    else message.retry({ delaySeconds: 10 });
  }
}
