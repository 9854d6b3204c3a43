/**
 * Malformed, oversized, deeply nested, wrongly typed and hostile requests at every endpoint.
 * Each must get a clear 4xx in OpenAI's error shape, never a 5xx or a crash, and nothing may be
 * written wrongly: no upstream call, no tenant, no price; a refused proxy call is logged once,
 * as what it was (its status, no cost).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_DEPTH } from '../../proxy/body';
import { createTestTenant, loggedRow, type TestTenant } from './fixtures';
import { callAdmin, callProxy, env, nonce, upstreamEnv, upstreamRequests } from './harness';

let tenant: TestTenant;
beforeAll(async () => {
  tenant = await createTestTenant();
});

const deep = (levels: number) => JSON.parse('['.repeat(levels) + ']'.repeat(levels)) as unknown;
const hi = [{ role: 'user', content: 'hi' }];

/** Checks the OpenAI error shape and a 4xx status; returns the error. */
async function expectClientError(response: Response, status: number | number[]) {
  expect(Array.isArray(status) ? status : [status]).toContain(response.status);
  expect(response.headers.get('content-type')).toContain('application/json');
  const body = (await response.json()) as { error: { message: string; type: string; param: string | null; code: string | null } };
  expect(body.error.message.length).toBeGreaterThan(0);
  expect(body.error.message.length).toBeLessThan(500);
  expect(typeof body.error.type).toBe('string');
  expect(body.error).toHaveProperty('param');
  expect(body.error).toHaveProperty('code');
  return body.error;
}

const chatBodies: Array<[string, string, number, string | null]> = [
  ['an empty body', '', 400, 'invalid_json'],
  ['not JSON', 'model=cheap', 400, 'invalid_json'],
  ['truncated JSON', '{"model":"cheap","messages":[', 400, 'invalid_json'],
  ['JSON null', 'null', 400, 'invalid_json'],
  ['a JSON array', '[{"model":"cheap"}]', 400, 'invalid_json'],
  ['a JSON string', '"cheap"', 400, 'invalid_json'],
  ['a number', '42', 400, 'invalid_json'],
  ['no model', JSON.stringify({ messages: hi }), 400, 'missing_required_parameter'],
  ['a numeric model', JSON.stringify({ model: 123, messages: hi }), 400, 'invalid_value'],
  ['a 10,000-character model', JSON.stringify({ model: 'x'.repeat(10_000), messages: hi }), 400, 'invalid_value'],
  ['messages as a string', JSON.stringify({ model: 'cheap', messages: 'hi' }), 400, 'invalid_value'],
  ['no messages', JSON.stringify({ model: 'cheap', messages: [] }), 400, 'invalid_value'],
  ['an unknown role', JSON.stringify({ model: 'cheap', messages: [{ role: 'root', content: 'x' }] }), 400, 'invalid_value'],
  ['numeric content', JSON.stringify({ model: 'cheap', messages: [{ role: 'user', content: 42 }] }), 400, 'invalid_value'],
  ['a string temperature', JSON.stringify({ model: 'cheap', messages: hi, temperature: 'hot' }), 400, 'invalid_value'],
  ['temperature 5', JSON.stringify({ model: 'cheap', messages: hi, temperature: 5 }), 400, 'invalid_value'],
  ['negative max_tokens', JSON.stringify({ model: 'cheap', messages: hi, max_tokens: -1 }), 400, 'invalid_value'],
  ['a billion choices', JSON.stringify({ model: 'cheap', messages: hi, n: 1e9 }), 400, 'invalid_value'],
  ['stream as a string', JSON.stringify({ model: 'cheap', messages: hi, stream: 'yes' }), 400, 'invalid_value'],
  ['tools as an object', JSON.stringify({ model: 'cheap', messages: hi, tools: {} }), 400, 'invalid_value'],
  ['five stop sequences', JSON.stringify({ model: 'cheap', messages: hi, stop: ['a', 'b', 'c', 'd', 'e'] }), 400, 'invalid_value'],
  ['an unknown model', JSON.stringify({ model: 'gpt-999', messages: hi }), 404, 'model_not_found'],
  ['a path for a model', JSON.stringify({ model: '../../etc/passwd', messages: hi }), 404, 'model_not_found'],
  ['a provider without a model', JSON.stringify({ model: 'openai/', messages: hi }), 404, 'model_not_found'],
  ['an embeddings model', JSON.stringify({ model: 'text-embedding-3-small', messages: hi }), 400, 'model_not_supported'],
  [`nesting ${MAX_DEPTH + 1} deep`, JSON.stringify({ model: 'cheap', messages: hi, metadata: deep(MAX_DEPTH + 1) }), 400, 'too_deeply_nested'],
  ['nesting 100,000 deep', `{"model":"cheap","messages":[{"role":"user","content":"hi"}],"x":${'['.repeat(100_000)}${']'.repeat(100_000)}}`, 400, 'too_deeply_nested'],
];

describe('POST /v1/chat/completions', () => {
  it.each(chatBodies)('refuses %s with a clear %i, calls no upstream, logs the refusal once', async (_what, body, status, code) => {
    const before = (await upstreamRequests('')).length;
    const call = await callProxy('/v1/chat/completions', { method: 'POST', headers: { authorization: `Bearer ${tenant.apiKey}`, 'content-type': 'application/json' }, body }, upstreamEnv());
    const error = await expectClientError(call.response, status);
    expect(error.code).toBe(code);
    await call.settled();
    expect((await upstreamRequests('')).length).toBe(before);
    const row = await loggedRow(call.response.headers.get('x-request-id'));
    expect(row).toMatchObject({ status, cost_nano: 0, attempts: 0 });
  });

  it('refuses a body over MAX_BODY_BYTES with 413, declared or not', async () => {
    const big = JSON.stringify({ model: 'cheap', messages: [{ role: 'user', content: 'x'.repeat(2048) }] });
    const limits = { MAX_BODY_BYTES: '1024' };
    const declared = await callProxy('/v1/chat/completions', { method: 'POST', headers: { authorization: `Bearer ${tenant.apiKey}` }, body: big }, limits);
    expect((await expectClientError(declared.response, 413)).code).toBe('request_too_large');
    // Streamed without a length: cut off while reading.
    const chunks = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 64; i++) controller.enqueue(new TextEncoder().encode('x'.repeat(100)));
        controller.close();
      },
    });
    const streamed = await callProxy('/v1/chat/completions', { method: 'POST', headers: { authorization: `Bearer ${tenant.apiKey}` }, body: chunks, duplex: 'half' } as RequestInit, limits);
    expect((await expectClientError(streamed.response, 413)).code).toBe('request_too_large');
  });

  it('refuses hostile headers: unknown or enormous x-task, bad cache TTLs, odd credentials', async () => {
    const headers = (extra: Record<string, string>) => ({ authorization: `Bearer ${tenant.apiKey}`, 'content-type': 'application/json', ...extra });
    const body = JSON.stringify({ model: 'auto', messages: hi });
    const task = await callProxy('/v1/chat/completions', { method: 'POST', headers: headers({ 'x-task': 'x'.repeat(5000) }), body });
    const taskError = await expectClientError(task.response, 400);
    expect(taskError.param).toBe('x-task');
    for (const ttl of ['-1', 'abc', '1.5']) {
      const call = await callProxy('/v1/chat/completions', { method: 'POST', headers: headers({ 'x-proxy-cache-ttl': ttl }), body });
      expect((await expectClientError(call.response, 400)).param).toBe('x-proxy-cache-ttl');
    }
    for (const authorization of ['', 'Basic dXNlcjpwYXNz', `Bearer ${'x'.repeat(10_000)}`, 'Bearer', `Bearer ${tenant.apiKey}x`]) {
      const call = await callProxy('/v1/chat/completions', { method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body });
      expect((await expectClientError(call.response, 401)).code).toBe('invalid_api_key');
      // Unauthenticated calls write nothing.
      expect(await loggedRow(call.response.headers.get('x-request-id'))).toBeNull();
    }
  });

  it('forwards __proto__ and constructor keys as data, polluting nothing', async () => {
    const tag = nonce();
    const body = `{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"${tag}"}],"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}`;
    const call = await callProxy('/v1/chat/completions', { method: 'POST', headers: { authorization: `Bearer ${tenant.apiKey}`, 'content-type': 'application/json' }, body }, upstreamEnv());
    expect(call.response.status).toBe(200);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    await call.response.text();
  });

  it('answers wrong methods and unknown paths in the same shape', async () => {
    await expectClientError((await callProxy('/v1/chat/completions', { headers: { authorization: `Bearer ${tenant.apiKey}` } })).response, 404);
    await expectClientError((await callProxy('/v1/completions/../../admin/tenants', { method: 'POST', headers: { authorization: `Bearer ${tenant.apiKey}` } })).response, [401, 404]);
    await expectClientError((await callProxy('/v2/anything')).response, 404);
  });
});

describe('POST /v1/embeddings', () => {
  it.each([
    ['an object input', { model: 'text-embedding-3-small', input: {} }, 400],
    ['an empty input list', { model: 'text-embedding-3-small', input: [] }, 400],
    ['an empty token list', { model: 'text-embedding-3-small', input: [[]] }, 400],
    ['a chat model', { model: 'gpt-4o-mini', input: 'x' }, 400],
    ['an unknown encoding', { model: 'text-embedding-3-small', input: 'x', encoding_format: 'hex' }, 400],
    ['zero dimensions', { model: 'text-embedding-3-small', input: 'x', dimensions: 0 }, 400],
  ])('refuses %s', async (_what, body, status) => {
    const call = await callProxy('/v1/embeddings', { method: 'POST', headers: { authorization: `Bearer ${tenant.apiKey}` }, body: JSON.stringify(body) }, upstreamEnv());
    await expectClientError(call.response, status);
  });
});

describe('the admin API', () => {
  const tenantCount = async () => (await env.DB.prepare('SELECT COUNT(*) AS n FROM tenants').first<{ n: number }>())!.n;
  const raw = (path: string, method: string, body: string) => callAdmin(path, { method, headers: { 'content-type': 'application/json' }, body });

  it.each([
    ['an empty body', ''],
    ['not JSON', 'name=acme'],
    ['JSON null', 'null'],
    ['no name', '{}'],
    ['an empty name', '{"name":""}'],
    ['a 201-character name', JSON.stringify({ name: 'x'.repeat(201) })],
    ['a numeric name', '{"name":5}'],
    ['a negative rpm', '{"name":"a","rpm":-1}'],
    ['a fractional tpm', '{"name":"a","tpm":1.5}'],
    ['a negative budget', '{"name":"a","monthly_budget_usd":-5}'],
    ['an unknown routing', '{"name":"a","routing":"evil"}'],
    ['a cache TTL of 30,000 years', '{"name":"a","cache_ttl_s":1000000000000}'],
    ['a tier without a provider', '{"name":"a","cheap_model":"gpt-4o-mini"}'],
    ['a misspelt setting', '{"name":"a","rpn":10}'],
    ['nesting 10,000 deep', `{"name":"a","x":${'['.repeat(10_000)}${']'.repeat(10_000)}}`],
  ])('refuses a tenant with %s and creates none', async (_what, body) => {
    const before = await tenantCount();
    const call = await raw('/admin/tenants', 'POST', body);
    await expectClientError(call.response, 400);
    expect(await tenantCount()).toBe(before);
  });

  it('refuses an admin body over 64 KiB with 413', async () => {
    const before = await tenantCount();
    const call = await raw('/admin/tenants', 'POST', JSON.stringify({ name: 'big', padding: 'x'.repeat(70_000) }));
    expect((await expectClientError(call.response, 413)).code).toBe('request_too_large');
    expect(await tenantCount()).toBe(before);
  });

  it('stores a hostile tenant name as data', async () => {
    const name = "Robert'); DROP TABLE tenants;-- <script>alert(1)</script> \u202e\u0000";
    const call = await callAdmin('/admin/tenants', { method: 'POST', json: { name } });
    expect(call.response.status).toBe(201);
    const created = (await call.response.json()) as { id: string; name: string };
    expect(created.name).toBe(name.trim());
    const read = (await (await callAdmin(`/admin/tenants/${created.id}`)).response.json()) as { name: string };
    expect(read.name).toBe(name.trim());
    expect(await tenantCount()).toBeGreaterThan(0);
  });

  it.each([
    ['PATCH', '/admin/tenants/ten_unknown', '{"rpm":5}', 404],
    ['PATCH', `/admin/tenants/TENANT`, '{}', 400],
    ['PATCH', `/admin/tenants/TENANT`, '{"rpm":"many"}', 400],
    ['DELETE', '/admin/tenants/%00', '', 404],
    ['GET', '/admin/tenants/..%2F..%2Fetc%2Fpasswd', '', 404],
    ['POST', '/admin/tenants/ten_unknown/keys', '', 404],
    ['DELETE', '/admin/keys/key_unknown', '', 404],
    ['PUT', '/admin/prices/openai%2Fgpt-4o-mini', '{"input_per_mtok":-1,"output_per_mtok":1}', 400],
    ['PUT', '/admin/prices/openai%2Fgpt-4o-mini', '{"input_per_mtok":"free","output_per_mtok":1}', 400],
    ['PUT', '/admin/prices/openai%2Fgpt-4o-mini', '{"input_per_mtok":1e12,"output_per_mtok":1}', 400],
    ['PUT', '/admin/prices/openai%2Fgpt-4o-mini', '{"input_per_mtok":0.1234567,"output_per_mtok":1}', 400],
    ['PUT', '/admin/prices/openai%2Fgpt-4o-mini', '{"input_per_mtok":1}', 400],
    ['PUT', '/admin/prices/not-a-model', '{"input_per_mtok":1,"output_per_mtok":1}', 400],
    ['GET', '/admin/requests?limit=-5', '', 400],
    ['GET', '/admin/requests?limit=10000000000', '', 400],
    ['GET', '/admin/requests?limit=abc', '', 400],
    ['GET', '/admin/requests?cursor=not-a-cursor', '', 400],
    ['GET', '/admin/requests?status=500%20OR%201=1', '', 400],
    ['GET', `/admin/requests/${'x'.repeat(1000)}`, '', 400],
    ['GET', '/admin/analytics/summary?from=yesterday', '', 400],
    ['GET', '/admin/analytics/summary?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z', '', 400],
    ['GET', '/admin/analytics/timeseries?interval=week', '', 400],
    ['GET', '/admin/analytics/timeseries?interval=minute&from=2020-01-01T00:00:00Z', '', 400],
    ['GET', '/admin/analytics/breakdown?group_by=colour', '', 400],
    ['GET', '/admin/export.csv?from=2020-01-01T00:00:00Z&to=2019-01-01T00:00:00Z', '', 400],
  ])('%s %s %s → %i', async (method, path, body, status) => {
    const prices = await env.DB.prepare('SELECT COUNT(*) AS n FROM price_overrides').first<{ n: number }>();
    const call = await callAdmin(path.replace('TENANT', tenant.id), { method, ...(body ? { body, headers: { 'content-type': 'application/json' } } : {}) });
    await expectClientError(call.response, status);
    expect(await env.DB.prepare('SELECT COUNT(*) AS n FROM price_overrides').first<{ n: number }>()).toEqual(prices);
  });

  it('treats a hostile tenant filter as a value', async () => {
    const call = await callAdmin(`/admin/requests?tenant=${encodeURIComponent("' OR 1=1 --")}`);
    expect(call.response.status).toBe(200);
    expect(((await call.response.json()) as { data: unknown[] }).data).toEqual([]);
  });
});
