/**
 * The record of one proxied call, written to D1 (exact, queryable) and Analytics Engine
 * (cheap at volume). Callers hand the write to ctx.waitUntil so the response never waits.
 */
import { alertOnSpend } from '../alerts/budget';
import { noteSpend } from '../limits/budget';
import type { Env } from '../core/env';
import type { RequestRecord } from '../core/request-record';
import { toDataPoint } from './data-point';
import { overflowRecords } from './overflow';
import { TIMED_OUT, within } from '../core/within';
import { emptyRows, addRows, writeRows, reason } from './rows';

/** A record waiting for its D1 write; `written` says how it went, once it has, and `inserted` whether its row is new to the log. */
interface PendingRecord {
  record: RequestRecord;
  written?: boolean;
  inserted?: boolean;
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

/*
 * Every wait below is bounded, so that a record is in D1, in the queue or in the logs before its
 * call's waitUntil runs out (30 s after the response). A D1 that never answers costs a record at
 * most D1_WAIT_MAX_MS, plus one write it started itself (D1_WRITE_TIMEOUT_MS), then
 * QUEUE_SEND_TIMEOUT_MS, then the overflow's own bounded waits (overflow.ts, 7 s): 27 s in all. A write abandoned this way may still land later; the queued
 * copy is then skipped by ON CONFLICT DO NOTHING, and the spend trigger counts only rows really
 * inserted, so the call is counted once.
 */

/**
 * How long one D1 write (its retries included) may take. Then its records count as refused, and
 * each goes on to the queue (or the logs).
 */
export const D1_WRITE_TIMEOUT_MS = 5000;
/**
 * How long a group write may go on before the calls waiting on it stop waiting. Its own call
 * gives it up after D1_WRITE_TIMEOUT_MS; past this, that call is gone (it cannot answer any
 * more): the write's records go back in line for the next write, and if the old one did land
 * after all, ON CONFLICT skips the copies.
 */
const GROUP_WRITE_MAX_MS = D1_WRITE_TIMEOUT_MS + 1000;
/**
 * How long a call waits for its record to be written to D1, from when the record got in line:
 * behind other writes, in a group another call writes. Then the call takes its record back and
 * hands it to the queue itself.
 */
export const D1_WAIT_MAX_MS = 10_000;
/** How long a queue send may take before the record is printed to the logs instead. */
export const QUEUE_SEND_TIMEOUT_MS = 5000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** writeRows bounded by D1_WRITE_TIMEOUT_MS: null when D1 refused the rows or did not answer in time. */
async function writeRowsInTime(env: Env, rows: ReturnType<typeof emptyRows>, id: string): Promise<D1Result | null> {
  const result = await within(D1_WRITE_TIMEOUT_MS, writeRows(env, rows, id));
  if (result !== TIMED_OUT) return result;
  console.error(`request log: D1 write did not answer within ${D1_WRITE_TIMEOUT_MS} ms; its records are handed on`, id);
  return null;
}

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
  const result = await writeRowsInTime(env, rows, members.length === 1 ? members[0].record.id : `${members[0].record.id} and ${members.length - 1} more`);
  const inserted = new Set(result?.results?.map((row) => (row as { id: string }).id));
  for (const pending of members) {
    // A record its own call already took back (it waited too long) stays with the queue.
    if (pending.written === undefined) pending.written = result !== null;
    // This isolate's month-to-date totals take the cost of each call new to the log.
    pending.inserted = inserted.has(pending.record.id);
    if (pending.inserted) noteSpend(pending.record);
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
  const giveUpAt = Date.now() + D1_WAIT_MAX_MS;
  while (own.written === undefined) {
    if (Date.now() >= giveUpAt) {
      // Taken back: out of the line if it is still there, and marked so no write picks it up again.
      const waiting = writer.waiting.indexOf(own);
      if (waiting >= 0) writer.waiting.splice(waiting, 1);
      own.written = false;
      console.error(`request log: no D1 write took the record within ${D1_WAIT_MAX_MS} ms; it is handed on`, own.record.id);
      break;
    }
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
    if ((await within(QUEUE_SEND_TIMEOUT_MS, env.LOG_QUEUE.send(message))) === TIMED_OUT) {
      console.error(`request log: queue send did not answer within ${QUEUE_SEND_TIMEOUT_MS} ms`, r.id);
      return false;
    }
  } catch (error) {
    console.error('request log: queue send failed', r.id, reason(error));
    return false;
  }
  if (message !== r && !(await writeRowsInTime(env, { ...emptyRows(), contents: addRows(emptyRows(), r).contents }, r.id))) {
    console.error('request log: stored content dropped (too large for the queue, and D1 refused it)', r.id);
  }
  return true;
}

/** Whether rows go through the queue (REQUEST_LOG_SINK=queue and a LOG_QUEUE binding). */
const logsThroughQueue = (env: Env) => env.REQUEST_LOG_SINK === 'queue' && env.LOG_QUEUE !== undefined;

/**
 * The last place a record can be recovered from: one JSON log line holding it whole. Replayed by
 * sending `record` as a message body to the LOG_QUEUE queue (Cloudflare's HTTP push API, or the
 * dashboard), whose consumer inserts it idempotently: a record that reached D1 after all is
 * skipped, its spend not counted twice.
 */
function printUnwritten(r: RequestRecord): void {
  console.error(
    JSON.stringify({
      message: 'request log: unwritten record',
      request_id: r.id,
      replay: 'send `record` as the body of a message to the LOG_QUEUE queue (ai-proxy-request-log); inserting it is idempotent',
      record: r,
    }),
  );
}

/**
 * Stores one call's record, once the response is on its way. Analytics Engine gets its point at
 * once. The D1 row goes straight to D1 (grouped with other calls' rows, retried), or, with
 * REQUEST_LOG_SINK=queue, through the LOG_QUEUE for the consumer to
 * insert in batches (the scaling path for high volume). Each path falls back on the other, so
 * a row survives either being down or hanging (every wait is bounded); if both are (D1 full and
 * no queue, say), it goes to the overflow in R2 (overflow.ts), drained back into D1 by the cron;
 * failing that too, it is printed whole to the Worker's logs as one JSON line, the last place it
 * can be recovered from. Once its row is in D1, the call's budget alerts are evaluated
 * (alerts/budget.ts).
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
  let toD1 = inLine;
  const written = inLine
    ? (await writtenToD1(env, inLine)) || (await sendToQueue(env, r))
    : (await sendToQueue(env, r)) || (await writtenToD1(env, (toD1 = joinD1Group(env, r))));
  if (!written && !(await overflowRecords(env, [r], 'neither D1 nor the queue took it'))) printUnwritten(r);
  // The spend is known now: its budget alerts are due (a record handed to the queue is the consumer's).
  if (toD1?.inserted) await alertOnSpend(env, [r]);
}
