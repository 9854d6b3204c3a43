/**
 * The proxy with D1 or KV down (bindings that fail every call, as in an outage) and with the
 * request log going through its queue: it keeps serving, and no logged call is lost.
 * What fails open and what fails closed is listed in the README ("When D1 or KV is down").
 */
import { createMessageBatch, createExecutionContext, getQueueResult } from 'cloudflare:test';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Env } from '../../proxy/core/env';
import { writeRequestLog } from '../../proxy/request-log/writer';
import { createTestTenant, loggedRow } from './fixtures';
import { callAdmin, env, nonce, postJson, unavailableD1, unavailableKV, upstreamEnv } from './harness';
import type { RequestRecord } from '../../proxy/core/request-record';

const ask = (apiKey: string, content: string, overrides: Record<string, unknown> = {}, body: Record<string, unknown> = {}) =>
  postJson(
    '/v1/chat/completions',
    { model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content }], ...body },
    { apiKey, env: { ...upstreamEnv(), ...overrides } },
  );

/** A D1 binding whose every call never settles, as when D1 hangs: pass as `DB`. */
function hangingD1(): D1Database {
  const never = () => new Promise<never>(() => {});
  const statement = { bind: () => statement, first: never, all: never, run: never, raw: never };
  return { prepare: () => statement, batch: never, exec: never, dump: never } as unknown as D1Database;
}

/** A queue whose sends never settle: pass as `LOG_QUEUE`. */
const hangingQueue = () => ({ send: () => new Promise<never>(() => {}), sendBatch: () => new Promise<never>(() => {}) }) as unknown as Queue<RequestRecord>;

/** A queue that keeps what is sent to it: pass as `LOG_QUEUE`. */
function keepingQueue() {
  const sent: RequestRecord[] = [];
  return { sent, queue: { send: async (body: RequestRecord) => void sent.push(structuredClone(body)) } as unknown as Queue<RequestRecord> };
}

/** The records printed as the last resort (one JSON line each), from console.error's calls. */
function printedRecords(errors: { mock: { calls: unknown[][] } }): RequestRecord[] {
  return errors.mock.calls.flatMap(([line]) => {
    try {
      const parsed = JSON.parse(String(line)) as { message?: string; record?: RequestRecord };
      return parsed.message === 'request log: unwritten record' && parsed.record ? [parsed.record] : [];
    } catch {
      return [];
    }
  });
}

/** Runs the queue consumer (consume, below) on records as one batch; the ids it acknowledged. */
const replay = async (records: RequestRecord[]) => (await consume(records.map((body, i) => ({ id: `replay${i}`, body })))).acked;

const spentBy = async (tenantId: string) =>
  (await env.DB.prepare('SELECT COALESCE(SUM(spent_nano), 0) AS spent FROM tenant_spend WHERE tenant_id = ?').bind(tenantId).first<{ spent: number }>())!.spent;

/** Waits until a call's row is in D1 (a queued row lands when the consumer has run). */
async function rowEventually(requestId: string | null) {
  await expect.poll(() => loggedRow(requestId), { timeout: 10_000, interval: 100 }).not.toBeNull();
  return (await loggedRow(requestId))!;
}

/** A record as a call would queue it, for tenant `tenant`; the first has a failed attempt before it. */
const queuedRecord = (tenant: { id: string; keyId: string }, i: number): RequestRecord => ({
  id: `req_queued_${tenant.id}_${i}`,
  ts: Date.now(),
  tenantId: tenant.id,
  keyId: tenant.keyId,
  endpoint: 'chat',
  modelRequested: 'cheap',
  model: 'mock/mock-mini',
  provider: 'mock',
  tier: 'cheap',
  routeReason: 'alias:cheap',
  status: 200,
  errorType: null,
  errorMessage: null,
  usage: { promptTokens: 10, completionTokens: 5, cachedTokens: 0, cacheWriteTokens: 0 },
  usageEstimated: false,
  costNano: 1000 + i,
  savedNano: 0,
  latencyMs: 12,
  ttftMs: null,
  stream: false,
  cache: 'BYPASS',
  attempts: i === 0 ? 2 : 1,
  failedAttempts:
    i === 0
      ? [
          {
            attempt: 1,
            ts: Date.now(),
            model: 'mock/mock-mini',
            provider: 'mock',
            tier: 'cheap',
            status: 503,
            errorType: 'upstream_overloaded',
            errorMessage: 'busy',
            latencyMs: 3,
          },
        ]
      : [],
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

// These wait out the writer's real timeouts (5 s for a D1 write or a queue send); a wait that was
// not bounded would hang the test past its own timeout. No clock is read here.
describe('D1 hanging', () => {
  afterEach(() => vi.restoreAllMocks());

  it('hands the row to the queue when a D1 write never answers, and prints it, replayable, without a queue', { timeout: 20_000 }, async () => {
    const tenant = await createTestTenant();
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    const [queued, printed] = [40, 41].map((i) => queuedRecord(tenant, i));
    await Promise.all([
      writeRequestLog({ ...env, DB: hangingD1() }, queued),
      writeRequestLog({ ...env, DB: hangingD1(), LOG_QUEUE: undefined, ARCHIVE: undefined }, printed),
    ]);
    // The first went through the real queue, whose consumer inserts it.
    expect(await rowEventually(queued.id)).toMatchObject({ tenant_id: tenant.id, status: 200 });
    // The second is in the logs whole, as one JSON line; replayed through the queue, it is stored.
    expect(printedRecords(errors)).toEqual([printed]);
    expect(await replay(printedRecords(errors))).toEqual(['replay0']);
    expect(await loggedRow(printed.id)).toMatchObject({ tenant_id: tenant.id, cost_nano: printed.costNano });
    expect(await spentBy(tenant.id)).toBe(queued.costNano + printed.costNano);
  });

  it('counts a call once when the abandoned D1 write lands after all, before or after its queued copy', { timeout: 20_000 }, async () => {
    const tenant = await createTestTenant();
    vi.spyOn(console, 'error').mockImplementation(() => {});
    // D1 receives each write but its answer never comes back; the test lands it when it chooses.
    const held: Array<() => Promise<unknown>> = [];
    const unanswered = {
      prepare: (sql: string) => {
        const statement = env.DB.prepare(sql);
        return {
          bind: (...values: unknown[]) => {
            const bound = statement.bind(...values);
            return {
              run: () => {
                held.push(() => bound.run());
                return new Promise<never>(() => {});
              },
            };
          },
        };
      },
    } as unknown as D1Database;
    const { sent, queue } = keepingQueue();
    const [lateFirst, queueFirst] = [50, 51].map((i) => queuedRecord(tenant, i));
    await Promise.all([lateFirst, queueFirst].map((r) => writeRequestLog({ ...env, DB: unanswered, LOG_QUEUE: queue }, r)));
    expect(sent.map((r) => r.id).sort()).toEqual([lateFirst.id, queueFirst.id].sort());
    expect(held).toHaveLength(1); // both calls' records went in one group write

    // The abandoned write lands (both rows), then the queued copies arrive: skipped, not counted again.
    await held[0]();
    expect(await spentBy(tenant.id)).toBe(lateFirst.costNano + queueFirst.costNano);
    expect(await replay(sent)).toEqual(['replay0', 'replay1']);
    expect(await spentBy(tenant.id)).toBe(lateFirst.costNano + queueFirst.costNano);

    // The other order: the queued copy first, the late write after it.
    const other = queuedRecord(tenant, 52);
    held.length = 0;
    sent.length = 0;
    await writeRequestLog({ ...env, DB: unanswered, LOG_QUEUE: queue }, other);
    expect(await replay(sent)).toEqual(['replay0']);
    await held[0]();
    const { results } = await env.DB.prepare('SELECT id FROM requests WHERE tenant_id = ?').bind(tenant.id).all();
    expect(results).toHaveLength(3);
    expect(await spentBy(tenant.id)).toBe(lateFirst.costNano + queueFirst.costNano + other.costNano);
  });

  it(
    'with REQUEST_LOG_SINK=queue, gives up on a queue send that never answers: the row goes to D1, or to the logs when D1 hangs too',
    { timeout: 20_000 },
    async () => {
      const tenant = await createTestTenant();
      const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
      const [toD1, toLogs] = [60, 61].map((i) => queuedRecord(tenant, i));
      const viaQueue = { REQUEST_LOG_SINK: 'queue', LOG_QUEUE: hangingQueue() };
      await Promise.all([
        writeRequestLog({ ...env, ...viaQueue }, toD1),
        writeRequestLog({ ...env, ...viaQueue, DB: hangingD1(), ARCHIVE: undefined }, toLogs),
      ]);
      expect(await loggedRow(toD1.id)).toMatchObject({ tenant_id: tenant.id, status: 200 });
      expect(printedRecords(errors)).toEqual([toLogs]);
    },
  );
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

/**
 * The test D1 as production D1 behaves where local D1 is lenient: a bound string over 2,000,000
 * bytes is refused (SQLITE_TOOBIG). It also refuses any statement binding `refused`, as D1
 * would a record it cannot take. Refusals are kept in `refusals`.
 */
function strictD1(refused?: string): D1Database & { refusals: string[] } {
  const refusals: string[] = [];
  const real = new WeakMap<object, { statement: D1PreparedStatement; args: unknown[] }>();
  const check = (args: unknown[]) => {
    for (const arg of args) {
      if (typeof arg !== 'string') continue;
      if (new TextEncoder().encode(arg).length > 2_000_000) refusals.push('too big');
      else if (refused && arg.includes(refused)) refusals.push('refused');
      else continue;
      throw new Error(`D1_ERROR: ${refusals.at(-1)} (injected by the test)`);
    }
  };
  const wrap = (statement: D1PreparedStatement, args: unknown[]): D1PreparedStatement => {
    const wrapped = {
      bind: (...more: unknown[]) => wrap(statement.bind(...more), more),
      run: async () => (check(args), statement.run()),
      all: async () => (check(args), statement.all()),
      first: async () => (check(args), statement.first()),
    } as unknown as D1PreparedStatement;
    real.set(wrapped, { statement, args });
    return wrapped;
  };
  return {
    refusals,
    prepare: (sql: string) => wrap(env.DB.prepare(sql), []),
    batch: async (statements: D1PreparedStatement[]) => {
      const inner = statements.map((s) => real.get(s)!);
      for (const { args } of inner) check(args);
      return env.DB.batch(inner.map((i) => i.statement));
    },
  } as unknown as D1Database & { refusals: string[] };
}

async function consume(messages: Array<{ id: string; body: RequestRecord }>, overrides: Partial<Env> = {}) {
  const worker = (await import('../../proxy/index')).default as ExportedHandler<Env, RequestRecord>;
  const batch = createMessageBatch<RequestRecord>(
    'ai-proxy-request-log',
    messages.map((m) => ({ ...m, timestamp: new Date(), attempts: 1 })),
  );
  const ctx = createExecutionContext();
  await worker.queue!(batch, { ...env, ...overrides }, ctx);
  const result = await getQueueResult(batch, ctx);
  return { acked: result.explicitAcks, retried: result.retryMessages.map((m) => m.msgId) };
}

describe('the request-log queue, record by record', () => {
  afterEach(() => vi.restoreAllMocks());

  it('stores the records of a batch D1 refuses that it takes alone, and delivers again only the one it refuses', async () => {
    const tenant = await createTestTenant();
    const records = [0, 1, 2].map((i) => queuedRecord(tenant, i));
    records[1].modelRequested = 'refuse-me';
    const result = await consume(
      records.map((body, i) => ({ id: `m${i}`, body })),
      { DB: strictD1('refuse-me') },
    );
    expect(result).toEqual({ acked: ['m0', 'm2'], retried: ['m1'] });
    expect(await loggedRow(records[0].id)).not.toBeNull();
    expect(await loggedRow(records[2].id)).not.toBeNull();
    expect(await loggedRow(records[1].id)).toBeNull();
  });

  it('sends stored content in parameters D1 accepts, however much a batch carries', async () => {
    const tenant = await createTestTenant();
    // 2 bytes a character: 8 x 300 KB, over D1's 2 MB for one parameter.
    const records = Array.from({ length: 8 }, (_, i) => ({
      ...queuedRecord(tenant, 10 + i),
      content: { request: 'é'.repeat(150_000), response: null, truncated: false },
    }));
    const db = strictD1();
    const result = await consume(
      records.map((body, i) => ({ id: `c${i}`, body })),
      { DB: db },
    );
    expect(result.acked).toHaveLength(8);
    expect(db.refusals).toEqual([]);
    const stored = await env.DB.prepare('SELECT COUNT(*) AS n FROM request_content WHERE tenant_id = ? AND length(request) = 150000')
      .bind(tenant.id)
      .first<{ n: number }>();
    expect(stored?.n).toBe(8);
  });

  it('never acknowledges a malformed record: it is said loudly and retried (on to the dead-letter queue)', async () => {
    const tenant = await createTestTenant();
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    const good = queuedRecord(tenant, 20);
    const noTenant = { ...queuedRecord(tenant, 21), tenantId: undefined } as unknown as RequestRecord;
    const badAttempt = { ...queuedRecord(tenant, 0), id: `req_bad_attempt_${tenant.id}`, failedAttempts: [{ attempt: 1 }] } as unknown as RequestRecord;
    const result = await consume([
      { id: 'good', body: good },
      { id: 'no-tenant', body: noTenant },
      { id: 'bad-attempt', body: badAttempt },
    ]);
    expect(result).toEqual({ acked: ['good'], retried: ['no-tenant', 'bad-attempt'] });
    expect(errors.mock.calls.map((c) => String(c[0])).filter((m) => m.includes('not a valid record'))).toEqual([
      expect.stringContaining('(tenantId)'),
      expect.stringContaining('(failedAttempts)'),
    ]);
    expect(await loggedRow(noTenant.id)).toBeNull();
    const orphans = await env.DB.prepare('SELECT COUNT(*) AS n FROM request_attempts WHERE request_id = ?').bind(badAttempt.id).first<{ n: number }>();
    expect(orphans?.n).toBe(0);
  });

  it('does not drop a row that breaks a constraint silently: the write fails and the record is kept in the logs', async () => {
    const tenant = await createTestTenant();
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    const broken = { ...queuedRecord(tenant, 30), keyId: null } as unknown as RequestRecord;
    await writeRequestLog({ ...env, LOG_QUEUE: undefined, ARCHIVE: undefined }, broken);
    expect(await loggedRow(broken.id)).toBeNull();
    expect(printedRecords(errors).map((r) => r.id)).toEqual([broken.id]);
  });
});

describe('stored content too large for a queue message', () => {
  const bigPrompt = () => `${nonce()} ${'lorem ipsum '.repeat(12_000)}`;

  it('never costs the billing row: with D1 down the row is queued without it', async () => {
    const tenant = await createTestTenant({ store_content: true });
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    const call = await ask(tenant.apiKey, bigPrompt(), { DB: unavailableD1() });
    expect(call.response.status).toBe(200);
    await call.response.text();
    await call.settled();
    const id = call.response.headers.get('x-request-id');
    expect(await rowEventually(id)).toMatchObject({ tenant_id: tenant.id, status: 200 });
    expect(errors.mock.calls.some((c) => String(c[0]).includes('stored content dropped'))).toBe(true);
    expect(errors.mock.calls.some((c) => String(c[0]).includes('unwritten record'))).toBe(false);
    vi.restoreAllMocks();
  });

  it('with REQUEST_LOG_SINK=queue, queues the row and writes the content to D1 on its own', async () => {
    const tenant = await createTestTenant({ store_content: true });
    const prompt = bigPrompt();
    const call = await ask(tenant.apiKey, prompt, { REQUEST_LOG_SINK: 'queue' });
    await call.response.text();
    await call.settled();
    const id = call.response.headers.get('x-request-id');
    await rowEventually(id);
    const detail = (await (await callAdmin(`/admin/requests/${id}`)).response.json()) as { content: { request: string } };
    expect(JSON.parse(detail.content.request).messages[0].content).toBe(prompt);
  });
});
