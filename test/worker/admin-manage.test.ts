import { describe, expect, it } from 'vitest';
import { costNano } from '../../proxy/pricing/catalog';
import { effectivePrice } from '../../proxy/pricing/overrides';
import { createTestTenant, loggedRow } from './fixtures';
import { callAdmin, callProxy, env, postJson } from './harness';

const hello = { model: 'cheap', messages: [{ role: 'user', content: 'hello' }] };
const jsonOf = async <T = Record<string, any>>(call: { response: Response }) => (await call.response.json()) as T;

describe('PATCH /admin/tenants/{id}', () => {
  it('changes D1 and the next proxied call sees it', async () => {
    const tenant = await createTestTenant();
    expect((await postJson('/v1/chat/completions', hello, { apiKey: tenant.apiKey })).response.headers.get('x-proxy-model')).toBe('mock/mock-mini');

    const patched = await callAdmin(`/admin/tenants/${tenant.id}`, {
      method: 'PATCH',
      json: { cheap_model: 'mock/mock-large', rpm: 100, monthly_budget_usd: 12.5 },
    });
    expect(patched.response.status).toBe(200);
    expect(await jsonOf(patched)).toMatchObject({ id: tenant.id, cheap_model: 'mock/mock-large', rpm: 100, monthly_budget_usd: 12.5 });

    const after = await postJson('/v1/chat/completions', hello, { apiKey: tenant.apiKey });
    expect(after.response.headers.get('x-proxy-model')).toBe('mock/mock-large');
    expect(after.response.headers.get('x-ratelimit-limit-requests')).toBe('100');
    expect(await jsonOf(await callAdmin(`/admin/tenants/${tenant.id}`))).toMatchObject({ rpm: 100, monthly_budget_usd: 12.5 });
  });

  it('clears a setting with null, validates, and answers 404 for an unknown tenant', async () => {
    const tenant = await createTestTenant({ rpm: 5 });
    expect(await jsonOf(await callAdmin(`/admin/tenants/${tenant.id}`, { method: 'PATCH', json: { rpm: null } }))).toMatchObject({ rpm: null });
    expect((await callAdmin(`/admin/tenants/${tenant.id}`, { method: 'PATCH', json: {} })).response.status).toBe(400);
    const bad = await callAdmin(`/admin/tenants/${tenant.id}`, { method: 'PATCH', json: { routing: 'sideways' } });
    expect(bad.response.status).toBe(400);
    expect((await jsonOf(bad)).error.param).toBe('routing');
    expect((await callAdmin('/admin/tenants/ten_missing', { method: 'PATCH', json: { rpm: 1 } })).response.status).toBe(404);
  });
});

describe('DELETE /admin/tenants/{id}', () => {
  it('removes the tenant and shuts out its keys; its request log stays', async () => {
    const tenant = await createTestTenant();
    const call = await postJson('/v1/chat/completions', hello, { apiKey: tenant.apiKey });
    await call.settled();
    const deleted = await callAdmin(`/admin/tenants/${tenant.id}`, { method: 'DELETE' });
    expect(await jsonOf(deleted)).toEqual({ id: tenant.id, deleted: true });
    expect((await postJson('/v1/chat/completions', hello, { apiKey: tenant.apiKey })).response.status).toBe(401);
    expect((await callAdmin(`/admin/tenants/${tenant.id}`)).response.status).toBe(404);
    expect((await callAdmin(`/admin/tenants/${tenant.id}`, { method: 'DELETE' })).response.status).toBe(404);
    expect(await loggedRow(call.response.headers.get('x-request-id'))).not.toBeNull();
  });
});

describe('GET /admin/tenants/{id}/keys', () => {
  it('lists prefixes and revocations, never the key or its hash', async () => {
    const tenant = await createTestTenant();
    await callAdmin(`/admin/keys/${tenant.keyId}`, { method: 'DELETE' });
    await callAdmin(`/admin/tenants/${tenant.id}/keys`, { method: 'POST' });
    const { data } = await jsonOf<{ data: Record<string, unknown>[] }>(await callAdmin(`/admin/tenants/${tenant.id}/keys`));
    expect(data).toHaveLength(2);
    expect(data[0]).toMatchObject({ key_id: tenant.keyId, key_prefix: tenant.apiKey.slice(0, 13) });
    expect(data[0].revoked_at).toEqual(expect.any(String));
    expect(data[1].revoked_at).toBeNull();
    expect(JSON.stringify(data)).not.toContain(tenant.apiKey);
    expect(Object.keys(data[0])).not.toContain('key_hash');
  });
});

describe('prices', () => {
  it('lists the built-in table with its date', async () => {
    const body = await jsonOf<{ data: Record<string, unknown>[]; as_of: string }>(await callAdmin('/admin/prices'));
    expect(body.as_of).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(body.data.find((p) => p.model === 'openai/gpt-4o-mini')).toMatchObject({
      input_per_mtok: 0.15,
      output_per_mtok: 0.6,
      cached_input_per_mtok: 0.075,
      source: 'built-in',
    });
  });

  it('overrides a price, which the next call is billed at', async () => {
    const put = await callAdmin('/admin/prices/mock/mock-mini', { method: 'PUT', json: { input_per_mtok: 1, output_per_mtok: 2 } });
    expect(put.response.status).toBe(200);
    expect(await jsonOf(put)).toMatchObject({ model: 'mock/mock-mini', input_per_mtok: 1, output_per_mtok: 2, cached_input_per_mtok: 1, source: 'override' });
    expect(
      (await jsonOf<{ data: { model: string; source: string }[] }>(await callAdmin('/admin/prices'))).data.find((p) => p.model === 'mock/mock-mini')?.source,
    ).toBe('override');

    const tenant = await createTestTenant();
    const call = await postJson('/v1/chat/completions', hello, { apiKey: tenant.apiKey });
    const usage = (await jsonOf<{ usage: { prompt_tokens: number; completion_tokens: number } }>(call)).usage;
    await call.settled();
    const expected = costNano(
      { promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens, cachedTokens: 0, cacheWriteTokens: 0 },
      { input_per_mtok: 1, output_per_mtok: 2 },
    );
    expect((await loggedRow(call.response.headers.get('x-request-id')))!.cost_nano).toBe(expected);
  });

  it('prices a model the built-in table does not know', async () => {
    const put = await callAdmin('/admin/prices/openai/my-finetune:v2', {
      method: 'PUT',
      json: { input_per_mtok: 0.3, output_per_mtok: 1.2, cached_input_per_mtok: 0.15 },
    });
    expect(put.response.status).toBe(200);
    expect(await effectivePrice(env, 'openai/my-finetune:v2', null)).toEqual({ input_per_mtok: 0.3, output_per_mtok: 1.2, cached_input_per_mtok: 0.15 });
    const slashes = await callAdmin('/admin/prices/workers-ai/@cf/meta/llama-3.1-8b-instruct', {
      method: 'PUT',
      json: { input_per_mtok: 0.3, output_per_mtok: 0.9 },
    });
    expect(await jsonOf(slashes)).toMatchObject({ model: 'workers-ai/@cf/meta/llama-3.1-8b-instruct', source: 'override' });
  });

  it('rejects prices that cannot be exact, and unknown providers', async () => {
    expect((await callAdmin('/admin/prices/openai/gpt-4o', { method: 'PUT', json: { input_per_mtok: 0.1234567, output_per_mtok: 1 } })).response.status).toBe(
      400,
    );
    expect((await callAdmin('/admin/prices/openai/gpt-4o', { method: 'PUT', json: { input_per_mtok: -1, output_per_mtok: 1 } })).response.status).toBe(400);
    expect((await callAdmin('/admin/prices/acme/model', { method: 'PUT', json: { input_per_mtok: 1, output_per_mtok: 1 } })).response.status).toBe(400);
  });
});

describe('the reference page and the admin guard', () => {
  it('serves a self-contained reference page at /admin/docs', async () => {
    const call = await callProxy('/admin/docs');
    expect(call.response.headers.get('content-type')).toContain('text/html');
    const html = await call.response.text();
    expect(html).toContain('openapi.json');
    expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)=["']?https?:/i);
  });

  it('documents every route, with a plain {model} parameter', async () => {
    const doc = await jsonOf<{ paths: Record<string, Record<string, unknown>> }>(await callProxy('/admin/openapi.json'));
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/prices', '/prices/{model}', '/tenants/{id}/keys']));
    expect(Object.keys(doc.paths['/tenants/{id}'])).toEqual(expect.arrayContaining(['get', 'patch', 'delete']));
  });

  it.each([
    ['GET', '/admin/tenants'],
    ['POST', '/admin/tenants'],
    ['GET', '/admin/tenants/x'],
    ['PATCH', '/admin/tenants/x'],
    ['DELETE', '/admin/tenants/x'],
    ['GET', '/admin/tenants/x/keys'],
    ['POST', '/admin/tenants/x/keys'],
    ['DELETE', '/admin/keys/x'],
    ['GET', '/admin/prices'],
    ['PUT', '/admin/prices/openai/gpt-4o'],
    ['GET', '/admin/requests'],
  ])('%s %s needs the admin token', async (method, path) => {
    const call = await callProxy(path, {
      method,
      headers: { 'content-type': 'application/json' },
      body: method === 'GET' || method === 'DELETE' ? undefined : '{}',
    });
    expect(call.response.status).toBe(401);
  });
});
