/**
 * Per-key settings (issue #17): a key's name, limits, budget and expiry, set when it is issued
 * or with PATCH /admin/keys/{key_id}, applied on top of its tenant's. A call must pass both;
 * a refusal says which limit of which it hit, in OpenAI's shape and in Anthropic's.
 */
import { describe, expect, it } from 'vitest';
import { createTestTenant, rowsForTenant } from './fixtures';
import { callAdmin, callProxy, env, nonce, postJson } from './harness';

const jsonOf = async <T = Record<string, any>>(call: { response: Response }) => (await call.response.json()) as T;

interface Key {
  key_id: string;
  api_key: string;
}

async function issue(tenantId: string, settings?: Record<string, unknown>): Promise<Key> {
  const call = await callAdmin(`/admin/tenants/${tenantId}/keys`, { method: 'POST', ...(settings ? { json: settings } : {}) });
  expect(call.response.status, await call.response.clone().text()).toBe(201);
  return jsonOf<Key>(call);
}

const patch = (keyId: string, json: unknown) => callAdmin(`/admin/keys/${keyId}`, { method: 'PATCH', json });

async function chat(apiKey: string, body: Record<string, unknown> = {}) {
  const call = await postJson('/v1/chat/completions', { model: 'cheap', messages: [{ role: 'user', content: `hello ${nonce()}` }], ...body }, { apiKey });
  const text = await call.response.text();
  await call.settled();
  return { status: call.response.status, headers: call.response.headers, body: JSON.parse(text) };
}

/** A Messages call as the Anthropic SDK makes it. */
async function message(apiKey: string) {
  const call = await callProxy('/v1/messages', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': apiKey, 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({ model: 'cheap', max_tokens: 16, messages: [{ role: 'user', content: `hello ${nonce()}` }] }),
  });
  const text = await call.response.text();
  await call.settled();
  return { status: call.response.status, headers: call.response.headers, body: JSON.parse(text) };
}

const keys = async (tenantId: string) => (await jsonOf<{ data: Record<string, any>[] }>(await callAdmin(`/admin/tenants/${tenantId}/keys`))).data;

describe('key settings through the admin API', () => {
  it('are taken when a key is issued, shown with its month-to-date spend, changed and cleared by PATCH', async () => {
    const tenant = await createTestTenant();
    const settings = { name: 'ci-runner', rpm: 30, tpm: 50_000, monthly_budget_usd: 2.5, expires_at: '2099-01-01T00:00:00+02:00' };
    const issued = await issue(tenant.id, settings);
    expect(issued).toMatchObject({ ...settings, expires_at: '2098-12-31T22:00:00.000Z', month_to_date_usd: 0, revoked_at: null });
    expect(issued.api_key).toMatch(/^sk-proxy-/);

    // The first key (from POST /admin/tenants) and a key issued without a body have none.
    const plain = await issue(tenant.id);
    for (const key of [plain, (await keys(tenant.id))[0]]) {
      expect(key).toMatchObject({ name: null, rpm: null, tpm: null, monthly_budget_usd: null, expires_at: null, month_to_date_usd: 0 });
    }

    expect((await chat(issued.api_key, { model: 'expensive' })).status).toBe(200);
    const [row] = (await rowsForTenant(tenant.id)).filter((r) => r.key_id === issued.key_id);
    const listed = (await keys(tenant.id)).find((k) => k.key_id === issued.key_id)!;
    expect(listed).toMatchObject({ name: 'ci-runner', rpm: 30, month_to_date_usd: row.cost_nano / 1e9 });
    expect(JSON.stringify(await keys(tenant.id))).not.toContain(issued.api_key);

    const changed = await patch(issued.key_id, { name: 'nightly', rpm: null, expires_at: null });
    expect(changed.response.status).toBe(200);
    expect(await jsonOf(changed)).toEqual({
      key_id: issued.key_id,
      key_prefix: issued.api_key.slice(0, 13),
      name: 'nightly',
      rpm: null,
      tpm: 50_000,
      monthly_budget_usd: 2.5,
      expires_at: null,
      month_to_date_usd: row.cost_nano / 1e9,
      created_at: listed.created_at,
      revoked_at: null,
    });
  });

  it('refuses unknown or invalid settings, an empty change, unknown and revoked keys, and a new key already expired', async () => {
    const tenant = await createTestTenant();
    const expectRefused = async (call: Promise<{ response: Response }>, status: number, param: string | null, code: string) => {
      const { response } = await call;
      expect(response.status).toBe(status);
      expect((await jsonOf(await call)).error).toMatchObject({ param, code });
    };
    await expectRefused(patch(tenant.keyId, { rpn: 5 }), 400, 'rpn', 'unknown_parameter');
    await expectRefused(patch(tenant.keyId, { routing: 'auto' }), 400, 'routing', 'unknown_parameter');
    await expectRefused(patch(tenant.keyId, {}), 400, null, 'invalid_value');
    await expectRefused(patch(tenant.keyId, { rpm: 0 }), 400, 'rpm', 'invalid_value');
    await expectRefused(patch(tenant.keyId, { expires_at: 'tomorrow' }), 400, 'expires_at', 'invalid_value');
    await expectRefused(patch(tenant.keyId, { expires_at: '2027-01-01T00:00:00' }), 400, 'expires_at', 'invalid_value'); // no zone
    await expectRefused(patch(tenant.keyId, { expires_at: 1767225600 }), 400, 'expires_at', 'invalid_value');
    await expectRefused(patch('key_missing', { rpm: 5 }), 404, null, 'not_found');
    await expectRefused(
      callAdmin(`/admin/tenants/${tenant.id}/keys`, { method: 'POST', json: { expires_at: '2020-01-01T00:00:00Z' } }),
      400,
      'expires_at',
      'invalid_value',
    );
    await expectRefused(callAdmin('/admin/tenants/ten_missing/keys', { method: 'POST', json: { rpm: 5 } }), 404, null, 'not_found');

    expect((await callAdmin(`/admin/keys/${tenant.keyId}`, { method: 'DELETE' })).response.status).toBe(200);
    const revoked = await patch(tenant.keyId, { rpm: 5 });
    expect(revoked.response.status).toBe(404);
    expect((await jsonOf(revoked)).error.message).toContain('revoked');
    // Nothing of it changed, and the key stays dead.
    expect((await keys(tenant.id))[0]).toMatchObject({ rpm: null, revoked_at: expect.any(String) });
    expect((await chat(tenant.apiKey)).status).toBe(401);
  });
});

describe("a key's monthly budget", () => {
  it('refuses that key once spent, naming the key, while the tenant’s other keys go on', async () => {
    const tenant = await createTestTenant({ monthly_budget_usd: 100 });
    const capped = await issue(tenant.id, { monthly_budget_usd: 0.00001 });
    expect((await chat(capped.api_key, { model: 'expensive' })).status).toBe(200);

    const refused = await chat(capped.api_key);
    expect(refused.status).toBe(429);
    expect(refused.body.error).toMatchObject({ type: 'insufficient_quota', code: 'insufficient_quota' });
    expect(refused.body.error.message).toMatch(/^The monthly budget of this API key is spent: \$0\.00001 /);
    expect(refused.headers.get('x-should-retry')).toBe('false');
    expect((await chat(tenant.apiKey)).status).toBe(200);

    const anthropic = await message(capped.api_key);
    expect(anthropic.status).toBe(402);
    expect(anthropic.body.error.type).toBe('billing_error');
    expect(anthropic.body.error.message).toContain('this API key');
    expect(anthropic.headers.get('x-should-retry')).toBe('false');

    // Month to date per key is exact: the trigger's total is the sum of the key's logged costs.
    const rows = (await rowsForTenant(tenant.id)).filter((r) => r.key_id === capped.key_id);
    const spent = await env.DB.prepare('SELECT spent_nano FROM key_spend WHERE key_id = ?').bind(capped.key_id).first<{ spent_nano: number }>();
    expect(spent!.spent_nano).toBe(rows.reduce((sum, r) => sum + r.cost_nano, 0));

    // Raising it lets the key through again at once.
    expect((await patch(capped.key_id, { monthly_budget_usd: 10 })).response.status).toBe(200);
    expect((await chat(capped.api_key)).status).toBe(200);
  });

  it("names the tenant when the tenant's budget is the one spent", async () => {
    const tenant = await createTestTenant({ monthly_budget_usd: 0.00001 });
    const key = await issue(tenant.id, { monthly_budget_usd: 50 });
    expect((await chat(key.api_key, { model: 'expensive' })).status).toBe(200);
    const refused = await chat(key.api_key);
    expect(refused.status).toBe(429);
    expect(refused.body.error.message).toMatch(/^The monthly budget of this tenant is spent/);
  });

  it.each(['kv', 'durable-object'])('holds under a concurrent burst (%s): reservations stop it at the key’s budget', async (store) => {
    // As the tenant burst test (limits.test.ts): each call reserves about $0.0103 and costs far less.
    const budgetUsd = 0.05;
    const tenant = await createTestTenant({ monthly_budget_usd: 1000, rate_limit_store: store });
    const key = await issue(tenant.id, { monthly_budget_usd: budgetUsd });
    const burst = await Promise.all(
      Array.from({ length: 40 }, async () => {
        const call = await postJson(
          '/v1/chat/completions',
          { model: 'expensive', messages: [{ role: 'user', content: `hello ${nonce()}` }] },
          { apiKey: key.api_key, env: { MOCK_LATENCY_MS: '400' } },
        );
        const body = (await call.response.json()) as { error?: { code: string; message: string } };
        await call.settled();
        return { status: call.response.status, error: body.error };
      }),
    );
    const served = burst.filter((r) => r.status === 200).length;
    const refused = burst.filter((r) => r.status === 429 && r.error?.code === 'insufficient_quota');
    expect(served + refused.length).toBe(40);
    expect(served).toBeGreaterThanOrEqual(1);
    expect(served).toBeLessThanOrEqual(5);
    for (const r of refused) expect(r.error!.message).toContain('this API key');
    const spentNano = (await rowsForTenant(tenant.id)).filter((r) => r.key_id === key.key_id).reduce((sum, r) => sum + r.cost_nano, 0);
    expect(spentNano).toBeLessThanOrEqual(budgetUsd * 1e9);
    // The refused calls held nothing in the tenant's ledger: its first key is served at once.
    expect((await chat(tenant.apiKey, { model: 'expensive' })).status).toBe(200);
  });
});

describe("a key's rate limits", () => {
  it.each(['kv', 'durable-object'])('rpm (%s): the key is refused at its own limit, headers show the tighter one, other keys go on', async (store) => {
    const tenant = await createTestTenant({ rpm: 100, rate_limit_store: store });
    const key = await issue(tenant.id, { rpm: 2 });
    for (let i = 0; i < 2; i++) {
      const ok = await chat(key.api_key);
      expect(ok.status).toBe(200);
      expect(ok.headers.get('x-ratelimit-limit-requests')).toBe('2');
      expect(ok.headers.get('x-ratelimit-remaining-requests')).toBe(String(1 - i));
    }
    const refused = await chat(key.api_key);
    expect(refused.status).toBe(429);
    expect(refused.body.error).toMatchObject({ type: 'requests', code: 'rate_limit_exceeded' });
    expect(refused.body.error.message).toMatch(/^Rate limit reached for requests per minute on this API key \(limit 2\)\. Try again in \d+s\.$/);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(refused.headers.get('x-ratelimit-limit-requests')).toBe('2');
    expect(refused.headers.get('x-ratelimit-remaining-requests')).toBe('0');

    // The tenant's bucket took the key's two calls, not the refused one; its other key goes on.
    const other = await chat(tenant.apiKey);
    expect(other.status).toBe(200);
    expect(other.headers.get('x-ratelimit-limit-requests')).toBe('100');
    expect(other.headers.get('x-ratelimit-remaining-requests')).toBe('97');

    const anthropic = await message(key.api_key);
    expect(anthropic.status).toBe(429);
    expect(anthropic.body.error.type).toBe('rate_limit_error');
    expect(anthropic.body.error.message).toContain('requests per minute on this API key');
    expect(anthropic.headers.get('retry-after')).not.toBeNull();
  });

  it("names the tenant when the tenant's limit is the tighter one", async () => {
    const tenant = await createTestTenant({ rpm: 1 });
    const key = await issue(tenant.id, { rpm: 50 });
    const ok = await chat(key.api_key);
    expect(ok.headers.get('x-ratelimit-limit-requests')).toBe('1');
    const refused = await chat(key.api_key);
    expect(refused.status).toBe(429);
    expect(refused.body.error.message).toMatch(/^Rate limit reached for requests per minute on this tenant \(limit 1\)/);
    const anthropic = await message(key.api_key);
    expect(anthropic.body.error).toMatchObject({ type: 'rate_limit_error', message: expect.stringContaining('on this tenant') });
  });

  it('tpm: the key reserves against its own bucket too and gets back what it did not use', async () => {
    const tenant = await createTestTenant({ tpm: 100_000 });
    const key = await issue(tenant.id, { tpm: 1000 });
    const first = await chat(key.api_key, { max_tokens: 900 });
    expect(first.status).toBe(200);
    expect(first.headers.get('x-ratelimit-limit-tokens')).toBe('1000');
    expect(Number(first.headers.get('x-ratelimit-remaining-tokens'))).toBeLessThan(100);
    // Corrected to the real usage after the call: a second large one fits.
    expect((await chat(key.api_key, { max_tokens: 800 })).status).toBe(200);
    const greedy = await chat(key.api_key, { max_tokens: 999, messages: [{ role: 'user', content: 'x'.repeat(400) }] });
    expect(greedy.status).toBe(429);
    expect(greedy.body.error).toMatchObject({ type: 'tokens', code: 'rate_limit_exceeded' });
    expect(greedy.body.error.message).toMatch(/^Rate limit reached for tokens per minute on this API key \(limit 1000\)/);
    expect((await chat(tenant.apiKey, { max_tokens: 999 })).status).toBe(200);
  });

  it('apply from the next call after a PATCH, and a key without limits keeps no buckets of its own', async () => {
    const tenant = await createTestTenant({ rpm: 10 });
    const key = await issue(tenant.id);
    expect((await chat(key.api_key)).headers.get('x-ratelimit-limit-requests')).toBe('10');
    expect((await env.KV.list({ prefix: `rl:key:${key.key_id}` })).keys).toEqual([]);

    expect((await patch(key.key_id, { rpm: 1 })).response.status).toBe(200);
    const limited = await chat(key.api_key);
    expect(limited.status).toBe(200);
    expect(limited.headers.get('x-ratelimit-limit-requests')).toBe('1');
    expect((await chat(key.api_key)).status).toBe(429);
  });
});

describe("a key's expiry", () => {
  it('refuses an expired key with 401 saying so, in both shapes; a later expiry or null brings it back', async () => {
    const tenant = await createTestTenant();
    const key = await issue(tenant.id, { expires_at: new Date(Date.now() + 3_600_000).toISOString() });
    expect((await chat(key.api_key)).status).toBe(200);

    // A past time on PATCH expires the key now.
    const past = '2020-01-01T00:00:00.000Z';
    expect(await jsonOf(await patch(key.key_id, { expires_at: past }))).toMatchObject({ expires_at: past });
    const refused = await chat(key.api_key);
    expect(refused.status).toBe(401);
    expect(refused.body.error).toMatchObject({ code: 'invalid_api_key', message: expect.stringContaining(`expired at ${past}`) });
    const anthropic = await message(key.api_key);
    expect(anthropic.status).toBe(401);
    expect(anthropic.body.error).toMatchObject({ type: 'authentication_error', message: expect.stringContaining('expired') });
    // The tenant's other key is not affected.
    expect((await chat(tenant.apiKey)).status).toBe(200);

    expect((await patch(key.key_id, { expires_at: null })).response.status).toBe(200);
    expect((await chat(key.api_key)).status).toBe(200);
  });
});
