/**
 * Malformed, oversized, deeply nested, wrongly typed and hostile requests at every route of the
 * Worker. Each must get a clear 4xx in OpenAI's error shape (never a 5xx or a crash), with
 * `param` naming the field at fault, and nothing may be written wrongly: no upstream call, no
 * tenant, key or price; a refused proxy call is logged once, as what it was (its status, no
 * cost, no attempt).
 *
 * This file: the coverage check (every route of the app is in hostile-routes.ts, every admin
 * field and query parameter has hostile values), the proxy's own routes (/v1/*, /health, /),
 * and wrong methods and junk query strings at every route. hostile-admin.test.ts: the admin API.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_DEPTH } from '../../proxy/http/body';
import { createTestTenant, loggedRow, type TestTenant } from './fixtures';
import { callAdmin, callProxy, nonce, TEST_ADMIN_TOKEN, upstreamEnv } from './harness';
import { DEFAULT_MAX_BODY_BYTES } from '../../proxy/core/config';
import { chatRequestSchema } from '../../proxy/endpoints/chat-completions/schema';
import { embeddingsRequestSchema } from '../../proxy/endpoints/embeddings/schema';
import {
  adminOperations,
  deepArray,
  expectClientError,
  hostileFieldValues,
  hostileQueryValues,
  isolatedUpstream,
  methodOf,
  pathOf,
  ROUTES,
  routeKeys,
  servedRoutes,
  storedState,
  type Fixtures,
} from './hostile-routes';

// Every refused call below must leave the fake upstream untouched: the providers point at a
// path of it only this file uses, and the suite counts what arrived there.
const upstream = isolatedUpstream();

/** What a request could have written, plus what reached the fake upstream from this file. */
const state = async (): Promise<Record<string, unknown>> => ({ ...(await storedState()), upstream: await upstream.calls() });

let tenant: TestTenant;
let fixtures: Fixtures;
beforeAll(async () => {
  tenant = await createTestTenant();
  const call = await callProxy('/v1/chat/completions', {
    method: 'POST',
    headers: { authorization: `Bearer ${tenant.apiKey}` },
    body: JSON.stringify(ROUTES['POST /v1/chat/completions'].validBody!(null as never)),
  });
  expect(call.response.status).toBe(200);
  await call.response.text();
  await call.settled();
  fixtures = { tenantId: tenant.id, apiKey: tenant.apiKey, keyId: tenant.keyId, requestId: call.response.headers.get('x-request-id')! };
});

// --- Coverage ----------------------------------------------------------------------------------

type Case = { what: string; body: string | Uint8Array; status: number; param?: string | null; code?: string; contentType?: string | null };

/** A body whose one field is raw JSON text, on a valid base that would reach the upstream. */
const chatWith = (field: string, raw: string) => {
  const base: Record<string, unknown> = { model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'hostile' }] };
  delete base[field];
  return `${JSON.stringify(base).slice(0, -1)},${JSON.stringify(field)}:${raw}}`;
};
const embeddingsWith = (field: string, raw: string) => {
  const base: Record<string, unknown> = { model: 'openai/text-embedding-3-small', input: 'hostile' };
  delete base[field];
  return `${JSON.stringify(base).slice(0, -1)},${JSON.stringify(field)}:${raw}}`;
};
const field =
  (make: (field: string, raw: string) => string) =>
  (name: string, raw: string, status = 400, param: string | null = name, code?: string): Case => ({
    what: `${name}: ${raw.length > 60 ? `${raw.slice(0, 40)}… (${raw.length} chars)` : raw}`,
    body: make(name, raw),
    status,
    param,
    code,
  });
const chatField = field(chatWith);
const embeddingsField = field(embeddingsWith);
const msg = (raw: string) => `[${raw}]`;

/** Bodies that are not a request at all: the same answer at both proxy routes. */
const notARequest: Case[] = [
  { what: 'an empty body', body: '', status: 400, param: null, code: 'invalid_json' },
  { what: 'whitespace', body: ' \n\t ', status: 400, param: null, code: 'invalid_json' },
  { what: 'form data', body: 'model=cheap&messages=hi', status: 400, param: null, code: 'invalid_json' },
  { what: 'truncated JSON', body: '{"model":"cheap","messages":[', status: 400, param: null, code: 'invalid_json' },
  { what: 'single quotes', body: "{'model':'cheap'}", status: 400, param: null, code: 'invalid_json' },
  { what: 'a trailing comma', body: '{"model":"cheap",}', status: 400, param: null, code: 'invalid_json' },
  { what: 'two JSON documents', body: '{}{}', status: 400, param: null, code: 'invalid_json' },
  { what: 'a NaN literal', body: '{"model":"cheap","temperature":NaN}', status: 400, param: null, code: 'invalid_json' },
  { what: 'an Infinity literal', body: '{"model":"cheap","temperature":Infinity}', status: 400, param: null, code: 'invalid_json' },
  // Decoded as U+FFFD: a model id that is not ASCII.
  {
    what: 'invalid UTF-8 in the model',
    body: new Uint8Array([
      ...new TextEncoder().encode('{"model":"openai/'),
      0xff,
      0xfe,
      ...new TextEncoder().encode('","messages":[{"role":"user","content":"hi"}],"input":"hi"}'),
    ]),
    status: 400,
    param: 'model',
    code: 'invalid_value',
  },
  { what: 'JSON null', body: 'null', status: 400, param: null, code: 'invalid_json' },
  { what: 'a JSON array', body: '[{"model":"cheap"}]', status: 400, param: null, code: 'invalid_json' },
  { what: 'a JSON string', body: '"cheap"', status: 400, param: null, code: 'invalid_json' },
  { what: 'a number', body: '42', status: 400, param: null, code: 'invalid_json' },
  { what: 'true', body: 'true', status: 400, param: null, code: 'invalid_json' },
  {
    what: `nesting ${MAX_DEPTH + 1} deep`,
    body: `{"model":"cheap","messages":[],"metadata":${deepArray(MAX_DEPTH + 1)}}`,
    status: 400,
    param: null,
    code: 'too_deeply_nested',
  },
  { what: '10,000 nested arrays', body: `{"model":"cheap","x":${deepArray(10_000)}}`, status: 400, param: null, code: 'too_deeply_nested' },
  { what: '100,000 nested objects', body: `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`, status: 400, param: null, code: 'too_deeply_nested' },
  { what: 'a text/plain body that is not JSON', body: 'hello', status: 400, param: null, code: 'invalid_json', contentType: 'text/plain' },
  {
    what: 'a multipart body',
    body: '--b\r\nContent-Disposition: form-data; name="model"\r\n\r\ncheap\r\n--b--',
    status: 400,
    param: null,
    code: 'invalid_json',
    contentType: 'multipart/form-data; boundary=b',
  },
  { what: 'no content-type and no JSON', body: 'x', status: 400, param: null, code: 'invalid_json', contentType: null },
  {
    what: '__proto__ carrying the required fields',
    body: '{"__proto__":{"model":"cheap","messages":[{"role":"user","content":"hi"}],"input":"hi"}}',
    status: 400,
    param: 'model',
    code: 'missing_required_parameter',
  },
  {
    what: 'constructor.prototype carrying the model',
    body: '{"constructor":{"prototype":{"model":"cheap"}},"messages":[{"role":"user","content":"hi"}],"input":"hi"}',
    status: 400,
    param: 'model',
    code: 'missing_required_parameter',
  },
];

/** Bad model ids, at both proxy routes (`make` builds the body). */
const badModels = (make: (name: string, raw: string, status?: number, param?: string | null, code?: string) => Case): Case[] => [
  make('model', '123'),
  make('model', 'null'),
  make('model', '""'),
  make('model', '{}'),
  make('model', '["cheap"]'),
  make('model', 'true'),
  make('model', JSON.stringify('x'.repeat(10_000))),
  make('model', '"openai/gpt-4o-mini\\u0000"'),
  make('model', '"openai/gpt-4o-mini\\r\\nx-injected: 1"'),
  make('model', '"openai/gpt-4o-\\ud800"'),
  make('model', '"openai/gpt-4o-\u4e2d"'),
  make('model', '"openai/gpt 4o"'),
  make('model', '"cheap\\u0000"'),
  make('model', '"gpt-999"', 404, 'model', 'model_not_found'),
  make('model', '"../../etc/passwd"', 404, 'model', 'model_not_found'),
  make('model', '"openai/"', 404, 'model', 'model_not_found'),
  make('model', '"cheap/x"', 404, 'model', 'model_not_found'),
  make('model', '"__proto__"', 404, 'model', 'model_not_found'),
  make('model', '"constructor"', 404, 'model', 'model_not_found'),
  make('model', '"hasOwnProperty"', 404, 'model', 'model_not_found'),
  make('model', '"mock/__proto__"', 404, 'model', 'model_not_found'),
];

const chatCases: Case[] = [
  ...notARequest,
  { what: 'no model', body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }), status: 400, param: 'model', code: 'missing_required_parameter' },
  ...badModels(chatField),
  chatField('model', '"text-embedding-3-small"', 400, 'model', 'model_not_supported'),
  { what: 'no messages', body: JSON.stringify({ model: 'openai/gpt-4o-mini' }), status: 400, param: 'messages', code: 'missing_required_parameter' },
  chatField('messages', '"hi"'),
  chatField('messages', '[]'),
  chatField('messages', 'null'),
  chatField('messages', '{"0":{"role":"user","content":"hi"}}'),
  chatField('messages', msg('null'), 400, 'messages[0]'),
  chatField('messages', msg('"hi"'), 400, 'messages[0]'),
  chatField('messages', msg('{"role":"root","content":"x"}'), 400, 'messages[0].role'),
  chatField('messages', msg('{"role":"USER","content":"x"}'), 400, 'messages[0].role'),
  chatField('messages', msg('{"content":"x"}'), 400, 'messages[0].role', 'missing_required_parameter'),
  chatField('messages', msg('{"__proto__":{"role":"user"},"content":"x"}'), 400, 'messages[0].role', 'missing_required_parameter'),
  chatField('messages', msg('{"role":"user","content":42}'), 400, 'messages[0].content'),
  chatField('messages', msg('{"role":"user","content":{"text":"x"}}'), 400, 'messages[0].content'),
  chatField('messages', msg('{"role":"user","content":[{"text":"x"}]}'), 400, 'messages[0].content'),
  chatField('messages', msg('{"role":"user","content":"x","name":5}'), 400, 'messages[0].name'),
  chatField('messages', msg('{"role":"tool","content":"x","tool_call_id":5}'), 400, 'messages[0].tool_call_id'),
  chatField('messages', msg('{"role":"assistant","tool_calls":"x"}'), 400, 'messages[0].tool_calls'),
  chatField(
    'messages',
    msg('{"role":"assistant","tool_calls":[{"id":"c","type":"evil","function":{"name":"f","arguments":"{}"}}]}'),
    400,
    'messages[0].tool_calls[0].type',
  ),
  chatField(
    'messages',
    msg('{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":{}}}]}'),
    400,
    'messages[0].tool_calls[0].function.arguments',
  ),
  chatField('stream', '"yes"'),
  chatField('stream', '1'),
  chatField('stream', '{}'),
  chatField('stream_options', '"x"'),
  chatField('stream_options', '{"include_usage":"yes"}', 400, 'stream_options.include_usage'),
  ...['-1', '0', '1.5', '"10"', '1e999', '-1e999', '1e300', '9007199254740993', '[]'].map((raw) => chatField('max_tokens', raw)),
  ...['-1', '0', '1e999', '"5"'].map((raw) => chatField('max_completion_tokens', raw)),
  ...['"hot"', '5', '-1', '2.0001', '1e999', '-1e999', 'true'].map((raw) => chatField('temperature', raw)),
  ...['2', '-0.5', '"1"', '1e999'].map((raw) => chatField('top_p', raw)),
  ...['0', '-1', '1e9', '1.5', '129', '"2"'].map((raw) => chatField('n', raw)),
  ...['5', '{}', '[1]', '["a","b","c","d","e"]', 'true'].map((raw) => chatField('stop', raw)),
  chatField('tools', '{}'),
  chatField('tools', '"x"'),
  chatField('tools', '[{"type":"evil","function":{"name":"f"}}]', 400, 'tools[0].type'),
  chatField('tools', '[{"type":"function","function":{"name":""}}]', 400, 'tools[0].function.name'),
  chatField('tools', `[{"type":"function","function":{"name":"${'f'.repeat(65)}"}}]`, 400, 'tools[0].function.name'),
  chatField('tools', '[{"type":"function","function":{"name":"f","parameters":"x"}}]', 400, 'tools[0].function.parameters'),
  chatField('tools', JSON.stringify(Array.from({ length: 129 }, (_, i) => ({ type: 'function', function: { name: `f${i}` } })))),
  ...['5', '{}', 'true', '["u"]'].map((raw) => chatField('user', raw)),
];

const embeddingsCases: Case[] = [
  ...notARequest,
  { what: 'no model', body: JSON.stringify({ input: 'hi' }), status: 400, param: 'model', code: 'missing_required_parameter' },
  ...badModels(embeddingsField),
  embeddingsField('model', '"openai/gpt-4o-mini"', 400, 'model', 'model_not_supported'),
  { what: 'no input', body: JSON.stringify({ model: 'openai/text-embedding-3-small' }), status: 400, param: 'input', code: 'missing_required_parameter' },
  embeddingsField('input', '[[]]', 400, 'input[0]'),
  ...['{}', '[]', '[1.5]', 'null', '[null]', 'true', '[1e999]', '[["a"]]', '[{"text":"x"}]', JSON.stringify(Array(2049).fill('a'))].map((raw) =>
    embeddingsField('input', raw),
  ),
  ...['"hex"', '""', '1', '"FLOAT"'].map((raw) => embeddingsField('encoding_format', raw)),
  ...['0', '-1', '1.5', '"5"', '1e999', '8193'].map((raw) => embeddingsField('dimensions', raw)),
  ...['5', '{}', 'true'].map((raw) => embeddingsField('user', raw)),
];

describe('coverage', () => {
  it('lists every route the Worker serves, and nothing else', () => {
    expect([...routeKeys].sort()).toEqual(servedRoutes());
  });

  it('lists every admin operation of the OpenAPI document, with its body as documented', () => {
    const operations = adminOperations();
    expect(operations.length).toBeGreaterThan(10);
    for (const op of operations) {
      expect(routeKeys, op.key).toContain(op.key);
      expect(ROUTES[op.key].body, op.key).toBe(op.body ? 'json' : 'ignored');
      if (op.body) expect(ROUTES[op.key].validBody, `${op.key} needs a valid body`).toBeDefined();
    }
    // Every admin route is an OpenAPI operation except the two that serve the document itself.
    const documented = new Set(operations.map((op) => op.key));
    expect(routeKeys.filter((key) => pathOf(key).startsWith('/admin/') && !documented.has(key))).toEqual(['GET /admin/openapi.json', 'GET /admin/docs']);
  });

  it('has hostile values for every admin body field and query parameter', () => {
    // hostileFieldValues / hostileQueryValues throw for a schema they do not know.
    for (const op of adminOperations()) {
      for (const [name, schema] of Object.entries(op.body?.properties ?? {})) expect(hostileFieldValues(schema).length, `${op.key} ${name}`).toBeGreaterThan(5);
      for (const p of op.query) expect(hostileQueryValues(p.name, p.schema).length, `${op.key} ?${p.name}`).toBeGreaterThan(3);
    }
  });

  it.each([
    ['POST /v1/chat/completions', chatRequestSchema.shape, chatCases],
    ['POST /v1/embeddings', embeddingsRequestSchema.shape, embeddingsCases],
  ] as const)('has a case naming every field of %s', (_route, shape, cases) => {
    const params = cases.map((c) => c.param).filter((p): p is string => typeof p === 'string');
    for (const name of Object.keys(shape)) {
      expect(
        params.some((p) => p === name || p.startsWith(`${name}.`) || p.startsWith(`${name}[`)),
        name,
      ).toBe(true);
    }
  });

  it('really notices an upstream call (the control for every "no upstream call" below)', async () => {
    const control = isolatedUpstream();
    const call = await callProxy(
      '/v1/chat/completions',
      {
        method: 'POST',
        headers: { authorization: `Bearer ${tenant.apiKey}` },
        body: JSON.stringify({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
      },
      { ...control.env, UPSTREAM_MAX_RETRIES: '0', FALLBACK_MODEL: 'none' },
    );
    await call.response.text();
    await call.settled();
    expect(await control.calls()).toBe(1);
    expect(await upstream.calls()).toBe(0);
  });
});

// --- The proxy's routes ------------------------------------------------------------------------

/** Sends a refused proxy call; checks its answer, its one logged row, and that nothing else changed. */
async function expectRefusedByProxy(path: string, init: RequestInit, expected: { status: number; param?: string | null; code?: string }, envOverrides = {}) {
  const before = await state();
  const call = await callProxy(path, init, { ...upstream.env, ...envOverrides });
  const error = await expectClientError(call.response, expected.status);
  if (expected.param !== undefined) expect(error.param).toBe(expected.param);
  if (expected.code !== undefined) expect(error.code).toBe(expected.code);
  await call.settled();
  const after = await state();
  // One row, the refusal as it was: its status, no cost, no upstream attempt.
  expect(await loggedRow(call.response.headers.get('x-request-id'))).toMatchObject({
    tenant_id: tenant.id,
    status: expected.status,
    cost_nano: 0,
    attempts: 0,
  });
  expect(after.requests).toEqual([{ n: (before.requests as Array<{ n: number }>)[0].n + 1 }]);
  expect({ ...after, requests: null }).toEqual({ ...before, requests: null });
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  return error;
}

const post = (body: BodyInit, contentType: string | null = 'application/json', headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  headers: { authorization: `Bearer ${tenant.apiKey}`, ...(contentType ? { 'content-type': contentType } : {}), ...headers },
  body,
});

describe.each([
  ['POST /v1/chat/completions', '/v1/chat/completions', chatCases],
  ['POST /v1/embeddings', '/v1/embeddings', embeddingsCases],
] as const)('%s', (_route, path, cases) => {
  it.each(cases.map((c) => [c.what, c] as const))('refuses %s, calls no upstream, logs the refusal once', async (_what, c) => {
    await expectRefusedByProxy(path, post(c.body, c.contentType === undefined ? 'application/json' : c.contentType), c);
  });

  it('refuses a body over MAX_BODY_BYTES with 413: the default cap, a lower one, declared or streamed', async () => {
    const padding = 'x'.repeat(DEFAULT_MAX_BODY_BYTES);
    const overDefault = JSON.stringify({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: padding }], input: padding.slice(0, 10) });
    await expectRefusedByProxy(path, post(overDefault), { status: 413, code: 'request_too_large', param: null });
    const limits = { MAX_BODY_BYTES: '1024' };
    const big = JSON.stringify({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'x'.repeat(2048) }], input: 'x'.repeat(2048) });
    await expectRefusedByProxy(path, post(big), { status: 413, code: 'request_too_large' }, limits);
    // Streamed without a length: cut off while reading, whatever follows.
    const chunks = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 64; i++) controller.enqueue(new TextEncoder().encode('x'.repeat(100)));
        controller.close();
      },
    });
    await expectRefusedByProxy(path, { ...post(chunks), duplex: 'half' } as RequestInit, { status: 413, code: 'request_too_large' }, limits);
  });

  it('refuses every bad credential with 401, logging and writing nothing', async () => {
    const gone = await createTestTenant();
    await callAdmin(`/admin/tenants/${gone.id}`, { method: 'DELETE' });
    const revoked = await createTestTenant();
    await callAdmin(`/admin/keys/${revoked.keyId}`, { method: 'DELETE' });
    const body = JSON.stringify(ROUTES[_route].validBody!(fixtures));
    const credentials: Array<Record<string, string>> = [
      {},
      { authorization: '' },
      { authorization: 'Bearer' },
      { authorization: 'Bearer ' },
      { authorization: `Bearer ${TEST_ADMIN_TOKEN}` },
      { authorization: `Bearer ${tenant.apiKey}x` },
      { authorization: `Bearer ${tenant.apiKey.slice(0, -1)}` },
      { authorization: `Bearer ${tenant.apiKey.toUpperCase()}` },
      { authorization: `Basic ${btoa(`user:${tenant.apiKey}`)}` },
      { authorization: tenant.apiKey },
      { 'x-api-key': `${tenant.apiKey}x` },
      { 'x-api-key': '' },
      { authorization: `Bearer ${'x'.repeat(10_000)}` },
      { authorization: `Bearer ${gone.apiKey}` },
      { authorization: `Bearer ${revoked.apiKey}` },
    ];
    for (const headers of credentials) {
      const before = await state();
      const call = await callProxy(path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body }, upstream.env);
      expect((await expectClientError(call.response, 401)).code).toBe('invalid_api_key');
      await call.settled();
      expect(await loggedRow(call.response.headers.get('x-request-id'))).toBeNull();
      expect(await state()).toEqual(before);
    }
  });
});

describe('POST /v1/chat/completions: hostile headers', () => {
  const body = JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: 'hi' }] });
  it.each([
    ['x-task', 'x'.repeat(5000)],
    ['x-task', 'evil'],
    ['x-task', '__proto__'],
    ['x-task', 'constructor'],
    ['x-task', 'toString'],
    ['x-proxy-cache-ttl', '-1'],
    ['x-proxy-cache-ttl', 'abc'],
    ['x-proxy-cache-ttl', '1.5'],
    ['x-proxy-cache-ttl', '1e3'],
    ['x-proxy-cache-ttl', '0x10'],
    ['x-proxy-cache-ttl', '99999999999999999999'],
    ['x-proxy-cache-ttl', "1' OR 1=1"],
    ['x-proxy-user', 'x'.repeat(5000)],
    ['x-proxy-user', 'a\tb'],
    ['x-proxy-tags', 'x'.repeat(5000)],
    ['x-proxy-tags', '__proto__'],
    ['x-proxy-tags', "team' OR 1=1 --=x"],
    ['x-proxy-tags', 'a=1,a=2'],
    ['x-proxy-tags', Array.from({ length: 200 }, (_, i) => `k${i}=v`).join(',')],
  ])('refuses %s: %s with a 400 naming the header', async (name, value) => {
    await expectRefusedByProxy('/v1/chat/completions', post(body, 'application/json', { [name]: value }), { status: 400, param: name });
  });
});

describe('the proxy, leniently', () => {
  it('reads a JSON body whatever its content-type (SDKs send JSON; curl sends form)', async () => {
    for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', null]) {
      const call = await callProxy('/v1/chat/completions', post(JSON.stringify({ model: 'cheap', messages: [{ role: 'user', content: 'hi' }] }), contentType));
      expect(call.response.status).toBe(200);
      await call.response.text();
      await call.settled();
    }
  });

  it('forwards __proto__, constructor, lone surrogates and NUL bytes in content as data, polluting nothing', async () => {
    const tag = nonce();
    const body = `{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"${tag} \\ud800 \\u0000 \\u202e"}],"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}`;
    const call = await callProxy('/v1/chat/completions', post(body), upstreamEnv());
    expect(call.response.status).toBe(200);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    await call.response.text();
    await call.settled();
  });
});

describe('a response header that cannot be sent', () => {
  it('still gets an answer in shape, never an uncaught exception', async () => {
    // A deployment whose tier id holds a control character (a misconfiguration, not a client's
    // doing): x-proxy-model cannot carry it. The call fails, but as a 500 in OpenAI's shape.
    for (const model of ['openai/gpt-4o-mini\u0000', 'openai/gpt-4o-mini\r\nx-injected: 1']) {
      const call = await callProxy('/v1/chat/completions', post(JSON.stringify({ model: 'cheap', messages: [{ role: 'user', content: 'hi' }] })), {
        ...upstreamEnv(),
        CHEAP_MODEL: model,
        // Served unpriced, so that the call gets as far as its headers.
        ALLOW_UNPRICED_MODELS: 'true',
      });
      expect(call.response.status).toBe(500);
      expect(((await call.response.json()) as { error: { code: string } }).error.code).toBe('internal_error');
      expect(call.response.headers.get('x-injected')).toBeNull();
      await call.settled();
    }
  });
});

describe('GET /v1/models, GET /health, GET /', () => {
  it('answer a junk query string as if it were not there', async () => {
    const junk = `?__proto__=x&constructor=y&limit=-1&a[b]=c&%ff=%00&${encodeURIComponent("' OR 1=1 --")}=1`;
    for (const [path, auth] of [
      ['/v1/models', tenant.apiKey],
      ['/health', null],
      ['/', null],
    ] as const) {
      const headers = auth ? { authorization: `Bearer ${auth}` } : undefined;
      const plain = (await callProxy(path, { headers, redirect: 'manual' })).response;
      const hostile = (await callProxy(path + junk, { headers, redirect: 'manual' })).response;
      expect(hostile.status, path).toBe(plain.status);
      expect(plain.status).toBeLessThan(400);
      expect(hostile.headers.get('location'), path).toBe(plain.headers.get('location'));
      if (path !== '/') expect(await hostile.json()).toEqual(await plain.json());
    }
  });

  it('/ redirects to the dashboard only, whatever the query', async () => {
    for (const query of ['?next=https://evil.example', '?redirect=//evil.example', '?%0d%0aLocation:%20https://evil.example']) {
      const response = (await callProxy(`/${query}`, { redirect: 'manual' })).response;
      expect(response.status).toBe(302);
      expect(response.headers.get('location')).toBe('/dashboard/');
    }
  });

  it('/v1/models refuses bad credentials', async () => {
    for (const headers of [{} as Record<string, string>, { authorization: `Bearer ${TEST_ADMIN_TOKEN}` }, { authorization: 'Bearer sk-proxy-guess' }]) {
      expect((await expectClientError((await callProxy('/v1/models', { headers })).response, 401)).code).toBe('invalid_api_key');
    }
  });
});

// --- Every route ---------------------------------------------------------------------------------

const credentialsFor = (key: string): Record<string, string> => {
  const auth = ROUTES[key].auth;
  return auth === 'admin' ? { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } : auth === 'tenant' ? { authorization: `Bearer ${fixtures.apiKey}` } : {};
};

describe('every route', () => {
  const paths = [...new Set(routeKeys.map(pathOf))];
  it.each(paths)('%s answers the methods it does not serve with 404 in shape, writing nothing', async (path) => {
    const served = routeKeys.filter((key) => pathOf(key) === path);
    const route = served[0];
    const url = ROUTES[route].url(fixtures).split('?')[0];
    for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
      if (served.some((key) => methodOf(key) === method)) continue;
      const before = await state();
      const call = await callProxy(url, {
        method,
        headers: { ...credentialsFor(route), 'content-type': 'application/json' },
        ...(method === 'GET' || method === 'OPTIONS' ? {} : { body: '{"name":"x","model":"cheap"}' }),
      });
      const error = await expectClientError(call.response, 404);
      expect(error.code ?? error.type, `${method} ${url}`).toBe(ROUTES[route].errors === 'anthropic' ? 'not_found_error' : 'unknown_url');
      await call.settled();
      const after = await state();
      // A wrong method on /v1 is logged as the 404 it was; nothing else is written.
      expect({ ...after, requests: null }).toEqual({ ...before, requests: null });
    }
  });

  // Admin routes that read a query refuse parameters they do not know (a misspelt filter must not
  // widen a report); every other route has no query and ignores one.
  const validatesQuery = new Set(
    adminOperations()
      .filter((op) => op.query.length > 0)
      .map((op) => op.key),
  );

  it.each(routeKeys)('%s treats a junk query string as absent, or refuses it as unknown parameters if it reads a query', async (key) => {
    const route = ROUTES[key];
    const method = methodOf(key);
    // A request each route answers without changing anything: a read, or a refused write.
    const harmless = method === 'GET' ? route.url(fixtures) : route.url({ ...fixtures, tenantId: 'ten_unknown', keyId: 'key_unknown' });
    const init = (): RequestInit => ({
      method,
      redirect: 'manual',
      headers: { ...credentialsFor(key), 'content-type': 'application/json' },
      ...(method === 'GET' ? {} : { body: route.body === 'json' ? 'null' : '' }),
    });
    const join = harmless.includes('?') ? '&' : '?';
    const junk = `__proto__=x&constructor=y&toString=1&a[b]=c&%ff=%00&${encodeURIComponent("' OR 1=1 --")}=1&${'p'.repeat(2000)}=${'v'.repeat(2000)}`;
    const before = await state();
    const plain = await callProxy(harmless, init(), upstream.env);
    const hostile = await callProxy(`${harmless}${join}${junk}`, init(), upstream.env);
    if (validatesQuery.has(key)) {
      expect(plain.response.status).toBe(200);
      expect((await expectClientError(hostile.response, 400)).code).toBe('unknown_parameter');
    } else {
      expect(hostile.response.status).toBe(plain.response.status);
      expect(hostile.response.status).toBeLessThan(500);
      expect(hostile.response.headers.get('content-type')).toBe(plain.response.headers.get('content-type'));
      await hostile.response.text();
    }
    await plain.response.text();
    await plain.settled();
    await hostile.settled();
    const after = await state();
    expect({ ...after, requests: null }).toEqual({ ...before, requests: null });
  });

  it('answers unknown paths, encoded tricks and traversal in the same shape', async () => {
    const admin = { authorization: `Bearer ${TEST_ADMIN_TOKEN}` };
    for (const [path, headers, status] of [
      ['/v2/anything', {}, 404],
      ['/v1', { authorization: `Bearer ${tenant.apiKey}` }, 404],
      ['/v1/chat/completions/', { authorization: `Bearer ${tenant.apiKey}` }, 404],
      ['/v1/completions/../../admin/tenants', { authorization: `Bearer ${tenant.apiKey}` }, 401],
      ['/v1/%2e%2e/admin/tenants', { authorization: `Bearer ${tenant.apiKey}` }, 401],
      ['/admin/tenants/../../v1/models', {}, 401],
      ['/admin/nope', admin, 404],
      ['/admin/nope', {}, 401],
      ['/admin', {}, 401],
      ['/ADMIN/tenants', {}, 404],
      ['//admin/tenants', {}, 404],
      ['/admin/openapi.json/', {}, 401],
      [`/${'a/'.repeat(2000)}`, {}, 404],
    ] as Array<[string, Record<string, string>, number]>) {
      await expectClientError((await callProxy(path, { method: 'POST', headers })).response, status);
    }
  });
});
