/**
 * Where a call's record goes when D1 will not take it and the queue cannot either: the overflow,
 * gzipped NDJSON objects in the ARCHIVE bucket (overflow/YYYY-MM-DD/<uuid>.ndjson.gz). A full D1
 * ("D1_ERROR: Exceeded maximum DB size") refuses every insert until space is freed, and retrying
 * into it only ends in the dead-letter queue; the proxy keeps serving, and the records wait here,
 * counted by /health, until the cron drains them back into D1 (the purge frees pages that new
 * rows reuse, so a full database takes rows again once archived hours are purged).
 *
 * Budgets stay exact meanwhile: a call's spend is normally added by the insert triggers
 * (migrations/0009 and 0018), which a refused insert never fires. So the overflow adds the
 * records' cost to tenant_spend and key_spend itself: updates of the tenant's and key's existing
 * month rows, which a full database still takes (they need no new page). Each record says whether its spend was counted so; the
 * drain takes it back off in the transaction whose insert counts it again, so it is counted once.
 */
import type { Env } from '../core/env';
import { ndjsonGzipWriter, readNdjsonGzip } from '../core/ndjson-gzip';
import type { RequestRecord } from '../core/request-record';
import { noteSpend } from '../limits/budget';
import { emptyRows, addRows, logStatements, reason, runAll } from './rows';
import { TIMED_OUT, within } from '../core/within';

export const OVERFLOW_PREFIX = 'overflow/';
/** Overflow objects drained per cron run. */
const MAX_DRAINED_PER_RUN = 50;
/** Overflow objects counted by one report, at most (R2 lists 1,000 a call). */
const MAX_COUNTED = 10_000;

/** One line of an overflow object. */
interface OverflowEntry {
  record: RequestRecord;
  /** Its cost was added to tenant_spend when it overflowed (see above). */
  spendCounted: boolean;
}

const spendRows = (records: RequestRecord[]) => JSON.stringify(records.filter((r) => r.costNano > 0).map((r) => [r.tenantId, r.keyId, r.ts, r.costNano, r.id]));

/** The month-to-date totals the insert triggers keep (migrations/0009 and 0018), and the field of spendRows' rows they are kept by. */
const SPEND_TABLES = [
  { table: 'tenant_spend', owner: 'tenant_id', field: 0 },
  { table: 'key_spend', owner: 'key_id', field: 1 },
] as const;
type SpendTable = (typeof SPEND_TABLES)[number];

/** The rows of ?1 (spendRows) not in the request log, as (owner, month, cost): the triggers' months. */
const unloggedSpend = ({ owner, field }: SpendTable) => `SELECT json_extract(value, '$[${field}]') AS ${owner},
  strftime('%Y-%m', json_extract(value, '$[2]') / 1000, 'unixepoch') AS month, SUM(json_extract(value, '$[3]')) AS cost FROM json_each(?1)
  WHERE NOT EXISTS (SELECT 1 FROM requests WHERE id = json_extract(value, '$[4]')) GROUP BY 1, 2`;

/** How long the spend update may take: D1 may be hanging rather than full, and the record must still be kept in time. */
const SPEND_TIMEOUT_MS = 2000;
/** How long the overflow object's write may take; then the record goes on to the logs. */
const PUT_TIMEOUT_MS = 5000;

/** Adds the records' cost to their tenants' and keys' months (not for a record already in the log); whether D1 took it in time. */
async function countSpend(env: Env, records: RequestRecord[]): Promise<boolean> {
  try {
    const rows = spendRows(records);
    const update = env.DB.batch(
      SPEND_TABLES.map((t) =>
        env.DB.prepare(
          `INSERT INTO ${t.table} (${t.owner}, month, spent_nano) SELECT ${t.owner}, month, cost FROM (${unloggedSpend(t)}) WHERE true
           ON CONFLICT (${t.owner}, month) DO UPDATE SET spent_nano = spent_nano + excluded.spent_nano`,
        ).bind(rows),
      ),
    );
    // Not counted in time: the drain counts it (should the update land after all, the call is counted twice: budgets err safe).
    if ((await within(SPEND_TIMEOUT_MS, update)) === TIMED_OUT) throw new Error(`no answer within ${SPEND_TIMEOUT_MS} ms`);
  } catch (error) {
    console.error('request log: overflowed records’ spend not counted now (it will be when they are drained)', reason(error));
    return false;
  }
  for (const r of records) noteSpend(r);
  return true;
}

/**
 * Writes records D1 refused to the overflow, as one object; false when there is no ARCHIVE
 * bucket or R2 refused it too (the caller keeps the records: retried, or printed to the logs).
 */
export async function overflowRecords(env: Env, records: RequestRecord[], why: string): Promise<boolean> {
  if (!env.ARCHIVE || records.length === 0) return false;
  const spendCounted = await countSpend(env, records);
  const gzip = ndjsonGzipWriter();
  for (const record of records) await gzip.add({ record, spendCounted } satisfies OverflowEntry);
  const key = `${OVERFLOW_PREFIX}${new Date().toISOString().slice(0, 10)}/${crypto.randomUUID()}.ndjson.gz`;
  try {
    const put = env.ARCHIVE.put(key, await gzip.finish(), {
      httpMetadata: { contentType: 'application/x-ndjson', contentEncoding: 'gzip' },
      customMetadata: { rows: String(records.length), reason: why.slice(0, 200) },
    });
    if ((await within(PUT_TIMEOUT_MS, put)) === TIMED_OUT) throw new Error(`no answer within ${PUT_TIMEOUT_MS} ms`);
  } catch (error) {
    console.error('request log: overflow write to R2 failed', records.map((r) => r.id).join(','), reason(error));
    return false;
  }
  console.error(`request log: D1 refused ${records.length} record(s) (${why}); kept in the overflow at ${key} until the cron drains it`);
  return true;
}

/** What waits in the overflow: objects and the records in them (lower bounds when `more`). */
export interface OverflowCount {
  objects: number;
  rows: number;
  more: boolean;
}

export async function countOverflow(bucket: R2Bucket): Promise<OverflowCount> {
  const count: OverflowCount = { objects: 0, rows: 0, more: false };
  let cursor: string | undefined;
  do {
    const listed = await bucket.list({ prefix: OVERFLOW_PREFIX, cursor, include: ['customMetadata'] });
    for (const object of listed.objects) {
      count.objects += 1;
      count.rows += Number(object.customMetadata?.rows ?? 0);
    }
    cursor = listed.truncated ? listed.cursor : undefined;
  } while (cursor && count.objects < MAX_COUNTED);
  count.more = cursor !== undefined;
  return count;
}

export interface DrainReport {
  objects: number;
  rows: number;
  /** Why draining stopped early: D1 still full, or another failure. */
  stopped?: string;
}

/**
 * Inserts overflowed records back into D1, oldest objects first, each object in one transaction
 * that also takes back the spend counted when it overflowed (for the records this insert really
 * adds, whose trigger counts it again); then deletes the object. Idempotent: a record already in
 * the log is skipped, its spend untouched. Stops at the first failure (a still full D1).
 */
export async function drainOverflow(env: Env): Promise<DrainReport> {
  const report: DrainReport = { objects: 0, rows: 0 };
  if (!env.ARCHIVE) return report;
  const listed = await env.ARCHIVE.list({ prefix: OVERFLOW_PREFIX, limit: MAX_DRAINED_PER_RUN });
  for (const { key } of listed.objects) {
    try {
      const object = await env.ARCHIVE.get(key);
      if (!object) continue;
      const entries = await readNdjsonGzip<OverflowEntry>(object.body);
      const rows = emptyRows();
      for (const { record } of entries) addRows(rows, record);
      const counted = spendRows(entries.filter((e) => e.spendCounted).map((e) => e.record));
      await runAll(env.DB, [
        ...SPEND_TABLES.map((t) =>
          env.DB.prepare(
            `UPDATE ${t.table} SET spent_nano = spent_nano - counted.cost FROM (${unloggedSpend(t)}) AS counted
             WHERE ${t.table}.${t.owner} = counted.${t.owner} AND ${t.table}.month = counted.month`,
          ).bind(counted),
        ),
        ...logStatements(env.DB, rows),
      ]);
      await env.ARCHIVE.delete(key);
      report.objects += 1;
      report.rows += entries.length;
    } catch (error) {
      report.stopped = reason(error);
      console.error(`request log: overflow ${key} not drained yet`, report.stopped);
      break;
    }
  }
  return report;
}
