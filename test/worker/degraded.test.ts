/**
 * The proxy with D1 or KV down (bindings that fail every call, as in an outage) and with the
 * request log going through its queue: it keeps serving, and no logged call is lost.
 * What fails open and what fails closed is listed in the README ("When D1 or KV is down").
 */
import { createMessageBatch, createExecutionContext, getQueueResult } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { Env } from '../../proxy/env';
import type { RequestRecord } from '../../proxy/request-log';
import { createTestTenant, loggedRow } from './fixtures';
import { env, nonce, postJson, unavailableD1, unavailableKV, upstreamEnv } from './harness';

const ask = (apiKey: string, content: string, overrides: Record<string, unknown> = {}, body: Record<string, unknown> = {}) =>
  postJson('/v1/chat/completions', { model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content }], ...body }, { apiKey, env: { ...upstreamEnv(), ...overrides } });

/** Waits until a call's row is in D1 (a queued row lands when the consumer has run). */
async function rowEventually(requestId: string | null) {
  await expect.poll(() => loggedRow(requestId), { timeout: 10_000, interval: 100 }).not.toBeNull();
  return (await loggedRow(requestId))!;
}

/** A record as a call would queue it, for tenant `tenant`; the first has a failed attempt before it. */
const queuedRecord = (tenant: { id: string; keyId: string }, i: number): RequestRecord => ({
  id: `req_queued_${tenant.id}_${i}`, ts: Date.now(), tenantId: tenant.id, keyId: tenant.keyId, endpoint: 'chat', modelRequested: 'cheap',
  model: 'mock/mock-mini', provider: 'mock', tier: 'cheap', routeReason: 'alias:cheap', status: 200, errorType: null, errorMessage: null,
  usage: { promptTokens: 10, completionTokens: 5, cachedTokens: 0, cacheWriteTokens: 0 }, usageEstimated: false, costNano: 1000 + i,
  savedNano: 0, latencyMs: 12, ttftMs: null, stream: false, cache: 'BYPASS', attempts: i === 0 ? 2 : 1,
  failedAttempts: i === 0 ? [{ attempt: 1, ts: Date.now(), model: 'mock/mock-mini', provider: 'mock', tier: 'cheap', status: 503, errorType: 'upstream_overloaded', errorMessage: 'busy', latencyMs: 3 }] : [],
});

describe('D1 down', () => {
  it('keeps serving known keys, fails budgets open, and queues the row until D1 takes it', async () => {
    const tenant = await createTestTenant({ monthly_budget_usd: 5 });
    const call = await ask(tenant.apiKey, `hello ${nonce()}`, { DB: unavailableD1() });
    expect(call.response.status).toBe(200);
    await call.response.text();
    await call.settled();
    // D1 refused the row three times; it went to the queue, whose consumer wrote it.
    const row = await rowEventually(call.response.headers.get('x-request-id'));
    expect(row).toMatchObject({ tenant_id: tenant.id, status: 200, attempts: 1 });
    expect(row.cost_nano).toBeGreaterThan(0);
    const spend = await env.DB.prepare('SELECT spent_nano FROM tenant_spend WHERE tenant_id = ?').bind(tenant.id).first<{ spent_nano: number }>();
    expect(spend?.spent_nano).toBe(row.cost_nano);
  });
});

describe('KV down', () => {
  it('authenticates from D1, answers cacheable calls upstream, and limits on its own', async () => {
    const tenant = await createTestTenant({ rpm: 2 });
    const kv = { KV: unavailableKV() };
    const tag = nonce();
    const first = await ask(tenant.apiKey, `what is 2+2 ${tag}`, kv, { temperature: 0 });
    expect(first.response.status).toBe(200);
    expect(first.response.headers.get('x-proxy-cache')).toBe('MISS');
    await first.response.text();
    const second = await ask(tenant.apiKey, `what is 2+2 ${tag}`, kv, { temperature: 0 });
    expect(second.response.headers.get('x-proxy-cache')).toBe('MISS');
    await second.response.text();
    // The rpm limit still holds within this isolate.
    const third = await ask(tenant.apiKey, `again ${tag}`, kv);
    expect(third.response.status).toBe(429);
    await second.settled();
    expect(await loggedRow(second.response.headers.get('x-request-id'))).toMatchObject({ status: 200 });
  });
});

describe('KV and D1 down together', () => {
  it('still serves a key this isolate has seen, and refuses an unknown one with a 503', async () => {
    const tenant = await createTestTenant();
    const warm = await ask(tenant.apiKey, 'warm up');
    expect(warm.response.status).toBe(200);
    await warm.response.text();
    const bothDown = { DB: unavailableD1(), KV: unavailableKV() };

    const known = await ask(tenant.apiKey, `still here ${nonce()}`, bothDown);
    expect(known.response.status).toBe(200);
    await known.response.text();

    const unknown = await ask('sk-proxy-not-a-key-0000000000000000', 'who am i', bothDown);
    expect(unknown.response.status).toBe(503);
    expect(unknown.response.headers.get('retry-after')).toBe('5');
    expect(await unknown.response.json()).toMatchObject({ error: { type: 'server_error', code: 'key_store_unavailable' } });

    await known.settled();
    expect(await rowEventually(known.response.headers.get('x-request-id'))).toMatchObject({ status: 200 });
  });
});

describe('the request-log queue', () => {
  it('carries every row with REQUEST_LOG_SINK=queue', async () => {
    const tenant = await createTestTenant();
    const ids: (string | null)[] = [];
    for (let i = 0; i < 5; i++) {
      const call = await ask(tenant.apiKey, `queued ${i} ${nonce()}`, { REQUEST_LOG_SINK: 'queue' }, { stream: i % 2 === 1 });
      await call.response.text();
      await call.settled();
      ids.push(call.response.headers.get('x-request-id'));
    }
    for (const id of ids) expect(await rowEventually(id)).toMatchObject({ tenant_id: tenant.id, status: 200 });
  });

  it('inserts a batch in one go, idempotently when the same batch comes twice', async () => {
    const tenant = await createTestTenant();
    const record = (i: number) => queuedRecord(tenant, i);
    const messages = [0, 1, 2].map((i) => ({ id: `m${i}`, timestamp: new Date(), attempts: 1, body: record(i) }));
    const worker = (await import('../../proxy/index')).default as ExportedHandler<Env, RequestRecord>;
    for (let delivery = 0; delivery < 2; delivery++) {
      const batch = createMessageBatch<RequestRecord>('ai-proxy-request-log', messages);
      const ctx = createExecutionContext();
      await worker.queue!(batch, env, ctx);
      const result = await getQueueResult(batch, ctx);
      expect(result.explicitAcks).toEqual(['m0', 'm1', 'm2']);
    }
    const { results } = await env.DB.prepare('SELECT id FROM requests WHERE tenant_id = ?').bind(tenant.id).all();
    expect(results).toHaveLength(3);
    const spend = await env.DB.prepare('SELECT spent_nano FROM tenant_spend WHERE tenant_id = ?').bind(tenant.id).first<{ spent_nano: number }>();
    expect(spend?.spent_nano).toBe(1000 + 1001 + 1002);
    const attempts = await env.DB.prepare('SELECT COUNT(*) AS n FROM request_attempts WHERE request_id = ?').bind(record(0).id).first<{ n: number }>();
    expect(attempts?.n).toBe(1);
  });

  it('delivers a batch again when D1 refuses it, and a record it cannot read on its own', async () => {
    const tenant = await createTestTenant();
    const worker = (await import('../../proxy/index')).default as ExportedHandler<Env, RequestRecord>;
    const refused = createMessageBatch<RequestRecord>('ai-proxy-request-log', [{ id: 'a', timestamp: new Date(), attempts: 1, body: queuedRecord(tenant, 0) }]);
    const ctx = createExecutionContext();
    await worker.queue!(refused, { ...env, DB: unavailableD1() }, ctx);
    expect((await getQueueResult(refused, ctx)).retryMessages.map((m) => m.msgId)).toEqual(['a']);

    const mixed = createMessageBatch<RequestRecord>('ai-proxy-request-log', [
      { id: 'good', timestamp: new Date(), attempts: 1, body: queuedRecord(tenant, 1) },
      { id: 'poison', timestamp: new Date(), attempts: 1, body: {} as RequestRecord },
    ]);
    const ctx2 = createExecutionContext();
    await worker.queue!(mixed, env, ctx2);
    const result = await getQueueResult(mixed, ctx2);
    expect(result.explicitAcks).toEqual(['good']);
    expect(result.retryMessages.map((m) => m.msgId)).toEqual(['poison']);
    expect(await loggedRow(queuedRecord(tenant, 1).id)).not.toBeNull();
  });
});
