/**
 * The request log's grouped D1 writes (a group commit per isolate): records logged while a
 * write is under way go together in the next one, every record lands once with its spend, and
 * a write that never finishes holds no record back for long.
 */
import { describe, expect, it } from 'vitest';
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

  // The takeover waits GROUP_WRITE_MAX_MS (5 s) once. The test's own timeout is what fails it if a
  // later write waited again (or forever): no clock is read here.
  it('takes over from a write that never finishes, and writes its records too', { timeout: 9_000 }, async () => {
    const { db } = countingD1({ holdFirst: true });
    const tenantId = `ten_stuck${crypto.randomUUID().replace(/-/g, '').slice(0, 12)}`;
    const [first, second, third] = [0, 1, 2].map((i) => callRecord({ id: `req_stuck_${tenantId}_${i}`, ts: Date.now(), tenantId, costNano: 500 }));
    // The first record's write hangs (the call that made it is gone, say); the second, logged
    // meanwhile, waits for it a while, then writes both.
    void writeRequestLog({ ...env, DB: db }, first);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await writeRequestLog({ ...env, DB: db }, second);
    const ids = async () =>
      (await env.DB.prepare('SELECT id FROM requests WHERE tenant_id = ? ORDER BY id').bind(tenantId).all<{ id: string }>()).results.map((r) => r.id);
    expect(await ids()).toEqual([first.id, second.id]);
    // Writes go on as usual afterwards.
    await writeRequestLog({ ...env, DB: db }, third);
    expect(await ids()).toEqual([first.id, second.id, third.id]);
    expect((await spentBy(tenantId))!.spent).toBe(1500);
  });
});
