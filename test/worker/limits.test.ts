import { describe, expect, it } from 'vitest';
import { estimateRequestTokens } from '../../proxy/providers/content';
import { createTestTenant, rowsForTenant } from './fixtures';
import { env, nonce, postJson } from './harness';

const chat = async (apiKey: string, body: Record<string, unknown> = {}) => {
  const call = await postJson('/v1/chat/completions', { model: 'cheap', messages: [{ role: 'user', content: `hello ${nonce()}` }], ...body }, { apiKey });
  const text = await call.response.text();
  await call.settled();
  const json = call.response.headers.get('content-type')?.includes('application/json');
  return { status: call.response.status, headers: call.response.headers, body: json ? JSON.parse(text) : null };
};

describe('requests per minute', () => {
  it.each(['kv', 'durable-object'])('lets %s-limited tenants burst their rpm, then answers 429 with retry-after', async (store) => {
    const tenant = await createTestTenant({ rpm: 3, rate_limit_store: store });
    const neighbour = await createTestTenant({ rpm: 3, rate_limit_store: store });
    for (let i = 0; i < 3; i++) {
      const ok = await chat(tenant.apiKey);
      expect(ok.status).toBe(200);
      expect(ok.headers.get('x-ratelimit-limit-requests')).toBe('3');
      expect(ok.headers.get('x-ratelimit-remaining-requests')).toBe(String(2 - i));
      expect(ok.headers.get('x-ratelimit-reset-requests')).toMatch(/^\d+(\.\d)?s$/);
    }
    const refused = await chat(tenant.apiKey);
    expect(refused.status).toBe(429);
    expect(refused.body.error).toMatchObject({ type: 'requests', code: 'rate_limit_exceeded' });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(refused.headers.get('retry-after-ms'))).toBeGreaterThan(0);
    expect(refused.headers.get('x-ratelimit-remaining-requests')).toBe('0');

    expect((await chat(neighbour.apiKey)).status).toBe(200);
    const logged = await rowsForTenant(tenant.id);
    expect(logged.map((r) => r.status)).toEqual([200, 200, 200, 429]);
  });

  it('sends no rate-limit headers for an unlimited tenant', async () => {
    const tenant = await createTestTenant();
    expect((await chat(tenant.apiKey)).headers.get('x-ratelimit-limit-requests')).toBeNull();
  });
});

describe('tokens per minute', () => {
  it('reserves the prompt plus max_tokens, then gives back what the call did not use', async () => {
    const tenant = await createTestTenant({ tpm: 1000 });
    const first = await chat(tenant.apiKey, { max_tokens: 900 });
    expect(first.status).toBe(200);
    expect(first.headers.get('x-ratelimit-limit-tokens')).toBe('1000');
    const reservedRemaining = Number(first.headers.get('x-ratelimit-remaining-tokens'));
    expect(reservedRemaining).toBeLessThan(100);

    // The reservation was corrected to the real usage after the call: a second large call fits.
    const second = await chat(tenant.apiKey, { max_tokens: 800 });
    expect(second.status).toBe(200);

    // Without the refund it would not: reserve more than what is left.
    const greedy = await chat(tenant.apiKey, { max_tokens: 999, messages: [{ role: 'user', content: 'x'.repeat(400) }] });
    expect(greedy.status).toBe(429);
    expect(greedy.body.error).toMatchObject({ type: 'tokens', code: 'rate_limit_exceeded' });
  });

  it('does not count response-cache hits against the token budget', async () => {
    const tenant = await createTestTenant({ tpm: 1200 });
    const ask = { temperature: 0, max_tokens: 1000, messages: [{ role: 'user', content: `cached ${nonce()}` }] };
    const first = await chat(tenant.apiKey, ask);
    expect(first.headers.get('x-proxy-cache')).toBe('MISS');
    for (let i = 0; i < 4; i++) {
      const hit = await chat(tenant.apiKey, ask);
      expect(hit.status).toBe(200);
      expect(hit.headers.get('x-proxy-cache')).toBe('HIT');
    }
  });
});

describe('monthly budgets', () => {
  it('answers 429 insufficient_quota once month-to-date spend reaches the budget, streams included', async () => {
    const tenant = await createTestTenant({ monthly_budget_usd: 0.00001 });
    const first = await chat(tenant.apiKey, { model: 'expensive' });
    expect(first.status).toBe(200);

    const spend = await env.DB.prepare('SELECT spent_nano FROM tenant_spend WHERE tenant_id = ?').bind(tenant.id).first<{ spent_nano: number }>();
    const [row] = await rowsForTenant(tenant.id);
    expect(spend!.spent_nano).toBe(row.cost_nano);
    expect(row.cost_nano).toBeGreaterThan(10_000); // more than the $0.00001 budget

    const refused = await chat(tenant.apiKey);
    expect(refused.status).toBe(429);
    expect(refused.body.error).toMatchObject({ type: 'insufficient_quota', code: 'insufficient_quota' });
    expect(refused.headers.get('x-should-retry')).toBe('false');

    const stream = await chat(tenant.apiKey, { stream: true });
    expect(stream.status).toBe(429);
  });

  it('counts every logged call’s cost into the month, exactly', async () => {
    const tenant = await createTestTenant({ monthly_budget_usd: 100 });
    for (let i = 0; i < 3; i++) await chat(tenant.apiKey, { model: i ? 'expensive' : 'cheap', stream: i === 2 });
    const rows = await rowsForTenant(tenant.id);
    const spend = await env.DB.prepare('SELECT month, spent_nano FROM tenant_spend WHERE tenant_id = ?')
      .bind(tenant.id)
      .first<{ month: string; spent_nano: number }>();
    expect(spend!.spent_nano).toBe(rows.reduce((sum, r) => sum + r.cost_nano, 0));
    expect(spend!.month).toBe(new Date().toISOString().slice(0, 7));
  });
});

describe('tokens per minute under a burst of large-schema calls', () => {
  it.each(['kv', 'durable-object'])('reserves the whole request (%s): the tools count, so the burst stops at the budget of tokens', async (store) => {
    // Thousands of tokens of tool schema, a short message.
    const properties = Object.fromEntries(
      Array.from({ length: 400 }, (_, i) => [`field_${i}`, { type: 'string', description: `The value of field number ${i} of the record.` }]),
    );
    const tools = [{ type: 'function', function: { name: 'record', description: 'Store a record', parameters: { type: 'object', properties } } }];
    const body = { model: 'cheap', messages: [{ role: 'user', content: 'store this' }], tools, max_tokens: 100 };
    const reservation = estimateRequestTokens(body) + 100;
    // The text alone would be a few tokens; with its tools each call needs thousands.
    expect(reservation).toBeGreaterThan(5000);
    const tenant = await createTestTenant({ tpm: Math.floor(reservation * 2.5), rate_limit_store: store });
    // All at once: each call's reservation holds until it ends (the mock then bills far less).
    const statuses = (await Promise.all(Array.from({ length: 5 }, () => chat(tenant.apiKey, { tools, max_tokens: 100 })))).map((r) => r.status);
    // Two reservations fit in 2.5 of them; the others are refused.
    expect(statuses.filter((s) => s === 200)).toHaveLength(2);
    expect(statuses.filter((s) => s === 429)).toHaveLength(3);
  });
});

describe('monthly budgets under a burst', () => {
  it.each(['kv', 'durable-object'])('reserve each call before admitting it (%s): a concurrent burst overshoots by at most one estimate', async (store) => {
    // mock-large is priced like gpt-4o ($2.50 in, $10 out per million): each call reserves its
    // prompt plus 1,024 output tokens, about $0.0103, and really costs far less.
    const budgetUsd = 0.05;
    const tenant = await createTestTenant({ monthly_budget_usd: budgetUsd, rate_limit_store: store });
    // Slow answers, so that the whole burst is in flight at once.
    const burst = await Promise.all(
      Array.from({ length: 40 }, async () => {
        const call = await postJson(
          '/v1/chat/completions',
          { model: 'expensive', messages: [{ role: 'user', content: `hello ${nonce()}` }] },
          { apiKey: tenant.apiKey, env: { MOCK_LATENCY_MS: '400' } },
        );
        const body = (await call.response.json()) as { error?: { code: string } };
        await call.settled();
        return { status: call.response.status, code: body.error?.code };
      }),
    );
    const served = burst.filter((r) => r.status === 200).length;
    const refused = burst.filter((r) => r.status === 429 && r.code === 'insufficient_quota').length;
    expect(served + refused).toBe(40);
    // Reservations hold the budget: about five estimates fit in $0.05 (before any call ends, no more).
    expect(served).toBeGreaterThanOrEqual(1);
    expect(served).toBeLessThanOrEqual(5);
    const rows = await rowsForTenant(tenant.id);
    const spentNano = rows.reduce((sum, r) => sum + r.cost_nano, 0);
    expect(spentNano).toBeLessThanOrEqual(budgetUsd * 1e9);
    // Real costs are small, so once the burst is over the tenant is served again.
    expect((await chat(tenant.apiKey, { model: 'expensive' })).status).toBe(200);
  });
});
