/**
 * A full D1: inserts into the request log fail with D1's size error, everything else still works
 * (reads, and updates of existing rows, which need no new page). The proxy answers as usual, the
 * row waits in the R2 overflow, counted by /health, with its spend counted for the budget; the
 * cron's drain inserts it once D1 takes rows again, and the call is counted once.
 */
import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test';
import { describe, expect, it, vi } from 'vitest';
import type { Storage } from '../../analytics/types';
import type { Env } from '../../proxy/core/env';
import type { RequestRecord } from '../../proxy/core/request-record';
import { drainOverflow, OVERFLOW_PREFIX } from '../../proxy/request-log/overflow';
import { readNdjsonGzip } from '../../proxy/core/ndjson-gzip';
import { callRecord } from './analytics-helpers';
import { createTestTenant, loggedRow } from './fixtures';
import { callProxy, env, postJson } from './harness';

/** D1's answer to an insert once the database is at its size limit (seen in production logs). */
const FULL = 'D1_ERROR: Exceeded maximum DB size: SQLITE_FULL';

/** The test D1 as a full database: every insert into `requests` fails with FULL; the rest goes through. */
function fullD1(): D1Database {
  const refused = new WeakSet<object>();
  const reject = () => Promise.reject(new Error(FULL));
  return {
    prepare: (sql: string) => {
      if (!/^\s*INSERT INTO requests\b/.test(sql)) return env.DB.prepare(sql);
      const statement = { bind: () => statement, run: reject, all: reject, first: reject, raw: reject };
      refused.add(statement);
      return statement;
    },
    batch: (statements: D1PreparedStatement[]) => (statements.some((s) => refused.has(s)) ? reject() : env.DB.batch(statements)),
  } as unknown as D1Database;
}

/** The tenant's month-to-date spend, and its key's: both must count each call once. */
const spentBy = async (tenant: { id: string; keyId: string }) => {
  const [t, k] = await env.DB.batch<{ n: number | null }>([
    env.DB.prepare('SELECT SUM(spent_nano) AS n FROM tenant_spend WHERE tenant_id = ?').bind(tenant.id),
    env.DB.prepare('SELECT SUM(spent_nano) AS n FROM key_spend WHERE key_id = ?').bind(tenant.keyId),
  ]);
  return { tenant: t.results[0]?.n ?? 0, key: k.results[0]?.n ?? 0 };
};

async function overflowed(): Promise<Array<{ record: RequestRecord; spendCounted: boolean }>> {
  const { objects } = await env.ARCHIVE!.list({ prefix: OVERFLOW_PREFIX });
  const entries = await Promise.all(
    objects.map(async (o) => readNdjsonGzip<{ record: RequestRecord; spendCounted: boolean }>((await env.ARCHIVE!.get(o.key))!.body)),
  );
  return entries.flat();
}

const storage = async (overrides: Partial<Env> = {}) => ((await (await callProxy('/health', {}, overrides)).response.json()) as { storage: Storage }).storage;

describe('when D1 is full', () => {
  it('serves the call, keeps its row in the R2 overflow with its spend counted, says so, and drains it once D1 takes rows', { timeout: 30_000 }, async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    const tenant = await createTestTenant({ monthly_budget_usd: 100 });
    // No queue: the writer itself keeps the row in the overflow.
    const call = await postJson(
      '/v1/chat/completions',
      { model: 'cheap', messages: [{ role: 'user', content: 'a full database' }] },
      { apiKey: tenant.apiKey, env: { DB: fullD1(), LOG_QUEUE: undefined } },
    );
    expect(call.response.status).toBe(200);
    const id = call.response.headers.get('x-request-id')!;
    const cost = Math.round(Number(call.response.headers.get('x-proxy-cost-usd')) * 1e9);
    expect(cost).toBeGreaterThan(0);
    await call.response.text();
    await call.settled();

    expect(await loggedRow(id)).toBeNull();
    expect(await overflowed()).toEqual([{ record: expect.objectContaining({ id, tenantId: tenant.id, costNano: cost }), spendCounted: true }]);
    expect(errors.mock.calls.some((c) => String(c[0]).includes('kept in the overflow'))).toBe(true);
    // The budget sees the call though its row is not in D1.
    expect(await spentBy(tenant)).toEqual({ tenant: cost, key: cost });

    const full = await storage();
    expect(full.overflow).toEqual({ objects: 1, rows: 1, more: false });
    expect(full.warnings).toEqual([expect.stringContaining('1 calls D1 refused wait in the overflow')]);

    // Space is freed: the cron's drain inserts the row, and its spend stays counted once.
    expect(await drainOverflow(env)).toEqual({ objects: 1, rows: 1 });
    expect(await loggedRow(id)).toMatchObject({ tenant_id: tenant.id, cost_nano: cost });
    expect(await spentBy(tenant)).toEqual({ tenant: cost, key: cost });
    expect(await overflowed()).toEqual([]);
    expect((await storage()).overflow).toEqual({ objects: 0, rows: 0, more: false });
  });

  it('has the queue consumer keep the rows a full D1 refuses in one overflow object, acknowledged, not retried into the dead-letter queue', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const tenant = await createTestTenant();
    const records = [0, 1, 2].map((i) =>
      callRecord({ id: `req_full_${i}_${tenant.id}`, ts: Date.now() - i, tenantId: tenant.id, keyId: tenant.keyId, costNano: 1000 + i }),
    );
    const worker = (await import('../../proxy/index')).default as ExportedHandler<Env, RequestRecord>;
    const batch = createMessageBatch<RequestRecord>(
      'ai-proxy-request-log',
      records.map((body, i) => ({ id: `m${i}`, timestamp: new Date(), attempts: 1, body })),
    );
    const ctx = createExecutionContext();
    await worker.queue!(batch, { ...env, DB: fullD1() }, ctx);
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks.sort()).toEqual(['m0', 'm1', 'm2']);
    expect(result.retryMessages).toEqual([]);
    const { objects } = await env.ARCHIVE!.list({ prefix: OVERFLOW_PREFIX, include: ['customMetadata'] });
    expect(objects).toHaveLength(1);
    expect(objects[0].customMetadata).toEqual({ rows: '3', reason: 'D1 is full' });
    expect(await spentBy(tenant)).toEqual({ tenant: 3003, key: 3003 });

    // Still full: the drain stops and keeps the object; then it goes through.
    expect(await drainOverflow({ ...env, DB: fullD1() })).toMatchObject({ objects: 0, stopped: expect.stringContaining('Exceeded maximum DB size') });
    expect(await drainOverflow(env)).toEqual({ objects: 1, rows: 3 });
    for (const r of records) expect(await loggedRow(r.id)).toMatchObject({ cost_nano: r.costNano });
    expect(await spentBy(tenant)).toEqual({ tenant: 3003, key: 3003 });
  });
});
