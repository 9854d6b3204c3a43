/**
 * The request log's grouped D1 writes (a group commit per isolate): records logged while a
 * write is under way go together in the next one, every record lands once with its spend, and
 * a write that never finishes is given up in time, its records handed to the queue.
 */
import { describe, expect, it, vi } from 'vitest';
import { writeRequestLog } from '../../proxy/request-log/writer';
import { callRecord } from './analytics-helpers';
import { env } from './harness';
import type { RequestRecord } from '../../proxy/core/request-record';

/** The test's D1 with each statement that inserts calls counted; with `holdFirst`, the first one never finishes. */
function countingD1(options: { holdFirst?: boolean } = {}) {
  let inserts = 0;
  const db = {
    prepare(sql: string) {
      const statement = env.DB.prepare(sql);
      if (!sql.startsWith('INSERT INTO requests ')) return statement;
      const number = ++inserts;
      return {
        bind: (...values: unknown[]) => {
          const bound = statement.bind(...values);
          return { run: () => (number === 1 && options.holdFirst ? new Promise<never>(() => {}) : bound.run()) };
        },
      };
    },
    batch: (statements: D1PreparedStatement[]) => env.DB.batch(statements),
  } as unknown as D1Database;
  return { db, inserts: () => inserts };
}

const spentBy = (tenantId: string) =>
  env.DB.prepare('SELECT COALESCE(SUM(spent_nano), 0) AS spent FROM tenant_spend WHERE tenant_id = ?').bind(tenantId).first<{ spent: number }>();

describe('grouped request-log writes', () => {
  it('stores forty concurrent calls in a few statements, each once, with its spend', async () => {
    const { db, inserts } = countingD1();
    const tenantId = `ten_group${crypto.randomUUID().replace(/-/g, '').slice(0, 12)}`;
    const records = Array.from({ length: 40 }, (_, i) => callRecord({ id: `req_group_${tenantId}_${i}`, ts: Date.now(), tenantId, costNano: 1000 + i }));
    await Promise.all(records.map((r) => writeRequestLog({ ...env, DB: db }, r)));
    const { results } = await env.DB.prepare('SELECT id, cost_nano FROM requests WHERE tenant_id = ? ORDER BY id')
      .bind(tenantId)
      .all<{ id: string; cost_nano: number }>();
    expect(results.map((r) => r.id).sort()).toEqual(records.map((r) => r.id).sort());
    expect(inserts()).toBeLessThan(records.length / 4);
    expect((await spentBy(tenantId))!.spent).toBe(records.reduce((sum, r) => sum + r.costNano, 0));
  });

  it('lets a record that cannot be stored spoil nothing: the rest of its group is written, it goes on to the queue', async () => {
    const tenantId = `ten_broken${crypto.randomUUID().replace(/-/g, '').slice(0, 12)}`;
    const good = [0, 1, 2].map((i) => callRecord({ id: `req_broken_${tenantId}_${i}`, ts: Date.now(), tenantId, costNano: 700 }));
    const broken = { ...callRecord({ id: `req_broken_${tenantId}_x`, ts: Date.now(), tenantId }), usage: undefined } as unknown as RequestRecord;
    const queued: unknown[] = [];
    const queue = { send: async (body: unknown) => void queued.push(body) } as unknown as Queue;
    await Promise.all([...good, broken].map((r) => writeRequestLog({ ...env, LOG_QUEUE: queue }, r)));
    const { results } = await env.DB.prepare('SELECT id FROM requests WHERE tenant_id = ? ORDER BY id').bind(tenantId).all<{ id: string }>();
    expect(results.map((r) => r.id)).toEqual(good.map((r) => r.id));
    expect(queued).toEqual([broken]);
  });

  // The stuck write is given up after D1_WRITE_TIMEOUT_MS (5 s), once. The test's own timeout is
  // what fails it if a later write waited again (or forever): no clock is read here.
  it('gives up a write that never finishes: its record goes to the queue, the records behind it to D1', { timeout: 9_000 }, async () => {
    const { db } = countingD1({ holdFirst: true });
    const tenantId = `ten_stuck${crypto.randomUUID().replace(/-/g, '').slice(0, 12)}`;
    const [first, second, third] = [0, 1, 2].map((i) => callRecord({ id: `req_stuck_${tenantId}_${i}`, ts: Date.now(), tenantId, costNano: 500 }));
    const queued: RequestRecord[] = [];
    const queue = { send: async (body: RequestRecord) => void queued.push(body) } as unknown as Queue<RequestRecord>;
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    // The first record's write hangs; the second, logged meanwhile, waits for it to be given up,
    // then is written in the next write.
    const firstLogged = writeRequestLog({ ...env, DB: db, LOG_QUEUE: queue }, first);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await Promise.all([firstLogged, writeRequestLog({ ...env, DB: db, LOG_QUEUE: queue }, second)]);
    const ids = async () =>
      (await env.DB.prepare('SELECT id FROM requests WHERE tenant_id = ? ORDER BY id').bind(tenantId).all<{ id: string }>()).results.map((r) => r.id);
    expect(queued.map((r) => r.id)).toEqual([first.id]);
    expect(await ids()).toEqual([second.id]);
    expect(errors.mock.calls.some((c) => String(c[0]).includes('did not answer within 5000 ms') && String(c[1]) === first.id)).toBe(true);
    // Writes go on as usual afterwards.
    await writeRequestLog({ ...env, DB: db, LOG_QUEUE: queue }, third);
    expect(await ids()).toEqual([second.id, third.id]);
    expect((await spentBy(tenantId))!.spent).toBe(1000);
    vi.restoreAllMocks();
  });
});
