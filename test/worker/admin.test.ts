import { describe, expect, it } from 'vitest';
import { generateApiKey, sha256Hex } from '../../proxy/auth/keys';
import { createTestTenant } from './fixtures';
import { callAdmin, callProxy, env, postJson } from './harness';

const hello = { model: 'cheap', messages: [{ role: 'user', content: 'hello' }] };

describe('admin authentication', () => {
  it('requires the admin token, and a tenant key is not one', async () => {
    expect((await callProxy('/admin/tenants')).response.status).toBe(401);
    expect((await callAdmin('/admin/tenants', { headers: { authorization: 'Bearer wrong' } })).response.status).toBe(401);
    const tenant = await createTestTenant();
    const withTenantKey = await callAdmin('/admin/tenants', { headers: { authorization: `Bearer ${tenant.apiKey}` } });
    expect(withTenantKey.response.status).toBe(401);
    expect(((await withTenantKey.response.json()) as { error: { code: string } }).error.code).toBe('invalid_api_key');
  });

  it('is closed with 503 when ADMIN_TOKEN is not configured', async () => {
    const call = await callAdmin('/admin/tenants', {}, { ADMIN_TOKEN: undefined });
    expect(call.response.status).toBe(503);
    expect(((await call.response.json()) as { error: { code: string } }).error.code).toBe('admin_disabled');
  });

  it('publishes the OpenAPI 3.1 document', async () => {
    const call = await callProxy('/admin/openapi.json');
    const doc = (await call.response.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/tenants', '/tenants/{id}', '/tenants/{id}/keys', '/keys/{key_id}', '/requests']));
  });
});

describe('tenants and keys', () => {
  it('creates a tenant with defaults and shows its key once, storing only the hash', async () => {
    const call = await callAdmin('/admin/tenants', { method: 'POST', json: { name: 'acme', rpm: 60 } });
    expect(call.response.status).toBe(201);
    const created = (await call.response.json()) as Record<string, unknown> & { id: string; api_key: string; key_id: string };
    expect(created).toMatchObject({ name: 'acme', rpm: 60, tpm: null, monthly_budget_usd: null, routing: 'passthrough', cache_ttl_s: 3600 });
    expect(created.api_key).toMatch(/^sk-proxy-[0-9A-Za-z]{40}$/);

    const stored = await env.DB.prepare('SELECT * FROM api_keys WHERE id = ?').bind(created.key_id).first<Record<string, unknown>>();
    expect(stored!.key_hash).toBe(await sha256Hex(created.api_key));
    expect(JSON.stringify(stored)).not.toContain(created.api_key);

    const fetched = await callAdmin(`/admin/tenants/${created.id}`);
    const tenant = (await fetched.response.json()) as Record<string, unknown>;
    expect(tenant).not.toHaveProperty('api_key');
    expect(tenant.name).toBe('acme');

    const list = (await (await callAdmin('/admin/tenants')).response.json()) as { data: { id: string }[] };
    expect(list.data.map((t) => t.id)).toContain(created.id);
  });

  it('validates the tenant body with a clear OpenAI-shaped 400', async () => {
    const call = await callAdmin('/admin/tenants', { method: 'POST', json: { name: '', rpm: -1 } });
    expect(call.response.status).toBe(400);
    const { error } = (await call.response.json()) as { error: { type: string; param: string } };
    expect(error.type).toBe('invalid_request_error');
    expect(error.param).toBe('name');
  });

  it('issues more keys and revokes one without touching the others', async () => {
    const tenant = await createTestTenant();
    const issued = await callAdmin(`/admin/tenants/${tenant.id}/keys`, { method: 'POST' });
    expect(issued.response.status).toBe(201);
    const second = (await issued.response.json()) as { key_id: string; api_key: string };

    expect((await postJson('/v1/chat/completions', hello, { apiKey: second.api_key })).response.status).toBe(200);
    expect((await callAdmin(`/admin/keys/${second.key_id}`, { method: 'DELETE' })).response.status).toBe(200);
    expect((await postJson('/v1/chat/completions', hello, { apiKey: second.api_key })).response.status).toBe(401);
    expect((await postJson('/v1/chat/completions', hello, { apiKey: tenant.apiKey })).response.status).toBe(200);
    expect((await callAdmin(`/admin/keys/${second.key_id}`, { method: 'DELETE' })).response.status).toBe(404);
  });

  it('answers 404 for keys of an unknown tenant', async () => {
    expect((await callAdmin('/admin/tenants/ten_nope/keys', { method: 'POST' })).response.status).toBe(404);
    expect((await callAdmin('/admin/tenants/ten_nope')).response.status).toBe(404);
  });

  it('authenticates from D1 when KV does not have the key, and refills KV', async () => {
    // A key issued by another isolate (this one has never seen it) whose KV entry is gone.
    const apiKey = generateApiKey();
    const keyHash = await sha256Hex(apiKey);
    await env.DB.batch([
      env.DB.prepare(
        "INSERT INTO tenants (id, name, routing, cache_ttl_s, created_at, updated_at) VALUES ('ten_elsewhere', 'Elsewhere', 'passthrough', 3600, 0, 0)",
      ),
      env.DB.prepare(
        "INSERT INTO api_keys (id, tenant_id, key_hash, key_prefix, created_at) VALUES ('key_elsewhere', 'ten_elsewhere', ?, 'sk-proxy-xxxx', 0)",
      ).bind(keyHash),
    ]);
    expect((await postJson('/v1/chat/completions', hello, { apiKey })).response.status).toBe(200);
    expect(await env.KV.get(`apikey:${keyHash}`, 'json')).toMatchObject({ tenantId: 'ten_elsewhere', keyId: 'key_elsewhere' });
  });
});

describe('GET /admin/requests', () => {
  it('pages through one tenant’s calls newest first, with filters', async () => {
    const tenant = await createTestTenant();
    for (let i = 0; i < 5; i++) {
      const call = await postJson(
        '/v1/chat/completions',
        { model: i % 2 ? 'expensive' : 'cheap', messages: [{ role: 'user', content: `call ${i}` }] },
        { apiKey: tenant.apiKey },
      );
      await call.response.text();
      await call.settled();
    }
    const failed = await postJson(
      '/v1/chat/completions',
      { model: 'cheap', messages: [{ role: 'user', content: 'mock:fail=500' }] },
      { apiKey: tenant.apiKey },
    );
    await failed.settled();

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `/admin/requests?tenant=${tenant.id}&limit=4${cursor ? `&cursor=${cursor}` : ''}`;
      const page = (await (await callAdmin(query)).response.json()) as { data: { id: string; ts: string; cost_usd: number }[]; next_cursor: string | null };
      seen.push(...page.data.map((r) => r.id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen).toHaveLength(6);
    expect(new Set(seen).size).toBe(6);
    expect(seen[0]).toBe(failed.response.headers.get('x-request-id'));

    const errors = (await (await callAdmin(`/admin/requests?tenant=${tenant.id}&status=error`)).response.json()) as { data: { status: number }[] };
    expect(errors.data.map((r) => r.status)).toEqual([502]);
    const expensive = (await (await callAdmin(`/admin/requests?tenant=${tenant.id}&tier=expensive`)).response.json()) as { data: { tier: string }[] };
    // Two routed there, and the failed call, whose last attempt was the fallback to the expensive tier.
    expect(expensive.data).toHaveLength(3);
    const old = (await (await callAdmin(`/admin/requests?tenant=${tenant.id}&to=2020-01-01T00:00:00Z`)).response.json()) as { data: unknown[] };
    expect(old.data).toHaveLength(0);
  });

  it('filters by endpoint, from the rows the proxy writes', async () => {
    const tenant = await createTestTenant();
    const chat = await postJson('/v1/chat/completions', hello, { apiKey: tenant.apiKey });
    await chat.response.text();
    await chat.settled();
    const embeddings = await postJson('/v1/embeddings', { model: 'mock/mock-embed', input: ['one', 'two'] }, { apiKey: tenant.apiKey });
    await embeddings.response.text();
    await embeddings.settled();
    const idsFor = async (query: string) =>
      ((await (await callAdmin(`/admin/requests?tenant=${tenant.id}${query}`)).response.json()) as { data: { id: string; endpoint: string }[] }).data.map(
        (r) => [r.id, r.endpoint],
      );
    const chatId = chat.response.headers.get('x-request-id');
    const embeddingsId = embeddings.response.headers.get('x-request-id');
    expect((await idsFor('')).sort()).toEqual(
      [
        [chatId, 'chat'],
        [embeddingsId, 'embeddings'],
      ].sort(),
    );
    expect(await idsFor('&endpoint=embeddings')).toEqual([[embeddingsId, 'embeddings']]);
    expect(await idsFor('&endpoint=chat')).toEqual([[chatId, 'chat']]);
    expect(await idsFor('&endpoint=messages')).toEqual([]);
    // With the other filters: an embeddings call is on the cheap tier.
    expect(await idsFor('&endpoint=embeddings&tier=expensive')).toEqual([]);
  });

  it('rejects a bad filter', async () => {
    expect((await callAdmin('/admin/requests?limit=100000')).response.status).toBe(400);
    // Only digits: no exponents, hex, fractions or signs.
    for (const limit of ['1e2', '0x10', '5.0', '+5', '0', '501', ''])
      expect((await callAdmin(`/admin/requests?limit=${limit}`)).response.status, limit).toBe(400);
    expect((await callAdmin('/admin/requests?limit=007')).response.status).toBe(200);
    expect((await callAdmin('/admin/requests?from=yesterday')).response.status).toBe(400);
    // One of the five endpoints, as named: no other value, no other case.
    for (const endpoint of ['completions', 'Chat', 'chat,embeddings', ''])
      expect((await callAdmin(`/admin/requests?endpoint=${endpoint}`)).response.status, endpoint).toBe(400);
    const refused = (await (await callAdmin('/admin/requests?endpoint=completions')).response.json()) as { error: { param: string; code: string } };
    expect(refused.error).toMatchObject({ param: 'endpoint', code: 'invalid_value' });
    for (const endpoint of ['chat', 'embeddings', 'responses', 'messages', 'count_tokens'])
      expect((await callAdmin(`/admin/requests?endpoint=${endpoint}`)).response.status, endpoint).toBe(200);
  });
});
