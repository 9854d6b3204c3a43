/**
 * Hostile input at every admin route (see hostile-input.test.ts for the proxy's routes and the
 * coverage check). The hostile values are read from the same schemas that validate the routes
 * and produce /admin/openapi.json, so a new field or query parameter is attacked as soon as it
 * exists. Every refusal must be a 4xx in OpenAI's shape with `param` naming the culprit, and
 * must change nothing: the tenants, keys and prices tables row for row, the other tables' counts,
 * KV's keys.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_ADMIN_BODY_BYTES } from '../../proxy/admin/api';
import { createTestTenant } from './fixtures';
import { callAdmin, callProxy, nonce, TEST_ADMIN_TOKEN, upstreamEnv, webhookUrl } from './harness';
import {
  adminOperations,
  badCredentials,
  deepArray,
  expectClientError,
  hostileFieldValues,
  hostilePathValues,
  hostileQueryValues,
  methodOf,
  pathOf,
  ROUTES,
  routeKeys,
  storedState,
  withField,
  type Fixtures,
  type JsonSchema,
  type Operation,
} from './hostile-routes';

const operations = adminOperations();
const SEEDED_NAME = `seeded-${nonce()}`;
let fixtures: Fixtures;

beforeAll(async () => {
  // A tenant with calls in the default window, every one evaluated, and an alert their spend raised: what a leak would show.
  const tenant = await createTestTenant({
    name: SEEDED_NAME,
    monthly_budget_usd: 1,
    alert_thresholds: [1e-6],
    alert_webhook_url: webhookUrl(nonce('hostile')),
    shadow_eval_rate: 1,
  });
  let requestId = '';
  for (const [body, env] of [
    [{ model: 'cheap', messages: [{ role: 'user', content: 'hi' }] }, {}],
    [{ model: 'gpt-999', messages: [{ role: 'user', content: 'hi' }] }, {}],
    // Served with no price in force, for the unpriced report.
    [
      { model: 'openai/gpt-hostile-unpriced', messages: [{ role: 'user', content: 'hi' }] },
      { ...upstreamEnv(), ALLOW_UNPRICED_MODELS: 'true' },
    ],
  ] as const) {
    const call = await callProxy(
      '/v1/chat/completions',
      { method: 'POST', headers: { authorization: `Bearer ${tenant.apiKey}` }, body: JSON.stringify(body) },
      env,
    );
    await call.response.text();
    await call.settled();
    requestId ||= call.response.headers.get('x-request-id')!;
  }
  fixtures = { tenantId: tenant.id, apiKey: tenant.apiKey, keyId: tenant.keyId, requestId };
});

const polluted = () => (({}) as Record<string, unknown>).polluted;

/** Calls an admin route and checks the refusal and that nothing changed. */
async function expectRefused(
  url: string,
  init: RequestInit,
  status: number | number[],
  check?: (error: Awaited<ReturnType<typeof expectClientError>>) => void,
) {
  const before = await storedState();
  const call = await callProxy(url, { ...init, headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, ...(init.headers as Record<string, string>) } });
  const error = await expectClientError(call.response, status);
  check?.(error);
  await call.settled();
  expect(await storedState()).toEqual(before);
  expect(polluted()).toBeUndefined();
  return error;
}

const json = (method: string, body: BodyInit | null, contentType: string | null = 'application/json'): RequestInit => ({
  method,
  headers: contentType ? { 'content-type': contentType } : {},
  ...(body === null ? {} : { body }),
});

// --- Bodies ------------------------------------------------------------------------------------

const bodyOperations = operations.filter((op): op is Operation & { body: JsonSchema } => op.body !== null);

describe.each(bodyOperations.map((op) => [op.key, op] as const))('%s', (key, op) => {
  const method = methodOf(key);
  const url = () => ROUTES[key].url(fixtures);
  const valid = () => ROUTES[key].validBody!(fixtures) as Record<string, unknown>;
  const validText = () => JSON.stringify(valid());
  const firstKey = () => Object.keys(valid())[0];
  const utf8 = (text: string) => new TextEncoder().encode(text);

  type ShapeCase = [what: string, body: () => BodyInit, status: number, param: string | null | undefined, code: string | undefined];
  const shapes: ShapeCase[] = [
    ['an empty body', () => '', 400, null, 'invalid_json'],
    ['whitespace', () => ' \n ', 400, null, 'invalid_json'],
    ['form data', () => 'name=acme&rpm=5', 400, null, 'invalid_json'],
    ['truncated JSON', () => validText().slice(0, -3), 400, null, 'invalid_json'],
    ['single quotes', () => validText().replaceAll('"', "'"), 400, null, 'invalid_json'],
    ['a trailing comma', () => `${validText().slice(0, -1)},}`, 400, null, 'invalid_json'],
    ['two JSON documents', () => validText() + validText(), 400, null, 'invalid_json'],
    ['a NaN literal', () => withField(valid(), firstKey(), 'NaN'), 400, null, 'invalid_json'],
    ['an Infinity literal', () => withField(valid(), firstKey(), 'Infinity'), 400, null, 'invalid_json'],
    ['a comment', () => `/* hi */${validText()}`, 400, null, 'invalid_json'],
    ['JSON null', () => 'null', 400, null, 'invalid_value'],
    ['a JSON array', () => `[${validText()}]`, 400, null, 'invalid_value'],
    ['a JSON string', () => JSON.stringify(validText()), 400, null, 'invalid_value'],
    ['a number', () => '42', 400, null, 'invalid_value'],
    ['true', () => 'true', 400, null, 'invalid_value'],
    // As deep as fits in the size cap (the depth of a body over it does not matter: see the 413 below).
    ['10,000 nested arrays', () => deepArray(10_000), 400, null, 'invalid_value'],
    [
      '10,000 nested objects in an unknown field',
      () => withField(valid(), 'a', `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`),
      400,
      'a',
      'unknown_parameter',
    ],
    ['10,000 nested arrays in a field', () => withField(valid(), firstKey(), deepArray(10_000)), 400, undefined, 'invalid_value'],
    [
      'invalid UTF-8 in a key',
      () => new Uint8Array([...utf8(`${validText().slice(0, -1)},"na`), 0xff, ...utf8('me":1}')]),
      400,
      'na\ufffdme',
      'unknown_parameter',
    ],
    ['an unknown field', () => withField(valid(), 'rpn', '10'), 400, 'rpn', 'unknown_parameter'],
    ['a __proto__ field', () => withField(valid(), '__proto__', '{"polluted":true,"rpm":1}'), 400, '__proto__', 'unknown_parameter'],
    ['a constructor field', () => withField(valid(), 'constructor', '{"prototype":{"polluted":true}}'), 400, 'constructor', 'unknown_parameter'],
    ['a prototype field', () => withField(valid(), 'prototype', '{"polluted":true}'), 400, 'prototype', 'unknown_parameter'],
    ['a toString field', () => withField(valid(), 'toString', '"x"'), 400, 'toString', 'unknown_parameter'],
    ['an empty key', () => withField(valid(), '', '1'), 400, '', 'unknown_parameter'],
    ['a 10,000-character key', () => withField(valid(), 'k'.repeat(10_000), '1'), 400, 'k'.repeat(100), 'unknown_parameter'],
    ['a duplicate key whose last value is wrong', () => `${validText().slice(0, -1)},${JSON.stringify(firstKey())}:{}}`, 400, undefined, 'invalid_value'],
  ];

  it.each(shapes.map((s) => [s[0], s] as const))('refuses %s, writing nothing', async (_what, [, body, status, param, code]) => {
    await expectRefused(url(), json(method, body()), status, (error) => {
      if (param !== undefined) expect(error.param).toBe(param);
      if (code !== undefined) expect(error.code).toBe(code);
    });
  });

  it.each([null, 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=b', 'application/xml', 'text/json', 'application/jsonx'])(
    'refuses a valid body sent as %s with 415, writing nothing',
    async (contentType) => {
      await expectRefused(url(), json(method, validText(), contentType), 415, (error) => expect(error.code).toBe('unsupported_media_type'));
    },
  );

  it(`refuses a missing body with 400 when it claims JSON${op.bodyRequired ? ', or claims nothing' : ''}`, async () => {
    await expectRefused(url(), json(method, null), 400, (error) => expect(error.code).toBe('invalid_json'));
    // An optional body may be left out altogether (POST /admin/tenants/{id}/keys: below).
    if (op.bodyRequired) await expectRefused(url(), json(method, null, null), 400);
  });

  it(`refuses a body over ${MAX_ADMIN_BODY_BYTES} bytes with 413, declared or streamed`, async () => {
    const big = withField(valid(), 'padding', JSON.stringify('x'.repeat(MAX_ADMIN_BODY_BYTES)));
    await expectRefused(url(), json(method, big), 413, (error) => expect(error.code).toBe('request_too_large'));
    const chunks = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(utf8(big));
        controller.close();
      },
    });
    await expectRefused(url(), { ...json(method, chunks), duplex: 'half' } as RequestInit, 413, (error) => expect(error.code).toBe('request_too_large'));
  });

  const fieldCases = Object.entries(op.body.properties ?? {}).flatMap(([name, schema]) =>
    hostileFieldValues(schema).map(([what, raw]) => [`${name}: ${what}`, name, raw] as const),
  );
  it.each(fieldCases)('refuses %s with a 400 naming the field, writing nothing', async (_what, name, raw) => {
    await expectRefused(url(), json(method, withField(valid(), name, raw)), 400, (error) => {
      // The field, or a part of it (an array's item, an object's key: an unknown one is an unknown parameter).
      expect(error.param === name || error.param?.startsWith(`${name}.`), `param ${error.param}`).toBe(true);
      expect(error.code).toEqual(error.param === name ? 'invalid_value' : expect.stringMatching(/^(invalid_value|unknown_parameter)$/));
    });
  });

  it.each(op.body.required ?? [])('refuses a body without %s, naming it', async (name) => {
    const { [name]: _missing, ...rest } = valid();
    await expectRefused(url(), json(method, JSON.stringify(rest)), 400, (error) => expect(error.param).toBe(name));
  });
});

describe('admin bodies, specifically', () => {
  it('PATCH refuses an empty change and a change of nothing but nulls for required settings', async () => {
    for (const body of ['{}', '{"name":null}', '{"routing":null}', '{"store_content":null}', '{"cache_ttl_s":null}']) {
      await expectRefused(`/admin/tenants/${fixtures.tenantId}`, json('PATCH', body), 400);
    }
  });

  it('PUT /admin/prices refuses more than six decimals', async () => {
    for (const field of ['input_per_mtok', 'output_per_mtok', 'cached_input_per_mtok', 'cache_write_per_mtok']) {
      const body = withField({ input_per_mtok: 1, output_per_mtok: 1 }, field, '0.1234567');
      await expectRefused('/admin/prices/openai/hostile-decimals', json('PUT', body), 400, (error) => expect(error.param).toBe(field));
    }
  });

  it.each([
    ['a NUL byte', 'openai/gpt-4o-mini%00', 400],
    ['a space', 'openai/gpt-4o-mini%20', 400],
    ['a tab', 'openai/gpt%094o', 400],
    ['a non-ASCII character', 'openai/gpt-%E4%B8%AD', 400],
    ['an unknown provider', 'evil/gpt-4o-mini', 400],
    ['a capitalised provider', 'OpenAI/gpt-4o-mini', 400],
    ['a 300-character model', `openai/${'x'.repeat(300)}`, 400],
    // The route's `.+` does not match a line break: no route at all.
    ['CR LF', 'openai/gpt-4o-mini%0d%0ax-injected:%201', 404],
  ])('PUT /admin/prices/{model} refuses a model id with %s', async (_what, model, status) => {
    await expectRefused(`/admin/prices/${model}`, json('PUT', '{"input_per_mtok":1,"output_per_mtok":1}'), status, (error) =>
      expect(error).toMatchObject(status === 400 ? { param: 'model', code: 'invalid_value' } : { code: 'unknown_url' }),
    );
  });

  it('stores hostile but valid strings exactly, as data', async () => {
    const name = "Robert'); DROP TABLE tenants;-- <script>alert(1)</script> \u202e ${x} {{x}} %s =cmd|' /C calc'!A0";
    const call = await callAdmin('/admin/tenants', { method: 'POST', json: { name } });
    expect(call.response.status).toBe(201);
    const created = (await call.response.json()) as { id: string; name: string };
    expect(created.name).toBe(name);
    const read = (await (await callAdmin(`/admin/tenants/${created.id}`)).response.json()) as { name: string };
    expect(read.name).toBe(name);
    const patched = await callAdmin(`/admin/tenants/${created.id}`, { method: 'PATCH', json: { name: `${name} 2` } });
    expect(((await patched.response.json()) as { name: string }).name).toBe(`${name} 2`);
    const listed = (await (await callAdmin('/admin/tenants')).response.json()) as { data: Array<{ name: string }> };
    expect(listed.data.map((t) => t.name)).toContain(`${name} 2`);
  });

  it('POST /admin/tenants/{id}/keys takes an optional body: without one it issues a key with no settings; one not JSON is refused', async () => {
    const url = `/admin/tenants/${fixtures.tenantId}/keys`;
    const before = await storedState();
    const call = await callAdmin(url, { method: 'POST' });
    expect(call.response.status).toBe(201);
    const issued = (await call.response.json()) as { key_id: string };
    const after = await storedState();
    // Exactly one new key, for this tenant, with no settings; nothing else.
    expect(
      (after.api_keys as Array<{ id: string; tenant_id: string }>).filter((k) => !(before.api_keys as Array<{ id: string }>).some((b) => b.id === k.id)),
    ).toMatchObject([{ id: issued.key_id, tenant_id: fixtures.tenantId, name: null, rpm: null, tpm: null, monthly_budget_nano: null, expires_at: null }]);
    expect({ ...after, api_keys: null, kv: null }).toEqual({ ...before, api_keys: null, kv: null });
    await expectRefused(
      url,
      { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{"tenant_id":"ten_other","__proto__":{"polluted":true}} junk' },
      415,
    );
    await expectRefused(url, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x'.repeat(MAX_ADMIN_BODY_BYTES + 1) }, 413);
  });

  it('PATCH /admin/keys/{key_id} refuses an empty change', async () => {
    await expectRefused(`/admin/keys/${fixtures.keyId}`, json('PATCH', '{}'), 400);
  });
});

// --- Query strings -----------------------------------------------------------------------------

/** Recursively: every `requests` count is 0 and every `data` list is empty. */
function showsNothing(value: unknown): boolean {
  if (Array.isArray(value)) return value.every(showsNothing);
  if (typeof value !== 'object' || value === null) return true;
  return Object.entries(value).every(([k, v]) =>
    k === 'requests' && typeof v === 'number' ? v === 0 : k === 'data' && Array.isArray(v) ? v.length === 0 : showsNothing(v),
  );
}

const queryOperations = operations.filter((op) => op.query.length > 0);

describe.each(queryOperations.map((op) => [op.key, op] as const))('%s', (key, op) => {
  const base = () => ROUTES[key].url(fixtures).split('?')[0];
  /** Valid values for the required parameters other than `except`. */
  const required = (except: string) =>
    op.query
      .filter((p) => p.required && p.name !== except)
      .map((p) => `${p.name}=${encodeURIComponent(String(p.schema.enum?.[0] ?? p.schema.anyOf?.find((a) => a.enum)?.enum?.[0] ?? 'x'))}&`)
      .join('');

  it('shows the seeded calls without a filter (the control for "shows nothing" below)', async () => {
    const response = (await callAdmin(`${base()}?${required('')}`)).response;
    expect(response.status).toBe(200);
    const text = await response.text();
    if (response.headers.get('content-type')?.includes('json')) expect(showsNothing(JSON.parse(text))).toBe(false);
    else expect(text.split('\n').filter(Boolean).length).toBeGreaterThan(1);
  });

  it('refuses a parameter it does not know, naming it (a misspelt filter must not quietly widen the answer)', async () => {
    const error = await expectRefused(`${base()}?${required('')}tenat=${fixtures.tenantId}`, {}, 400);
    expect(error).toMatchObject({ param: 'tenat', code: 'unknown_parameter' });
  });

  const cases = op.query.flatMap((p) => hostileQueryValues(p.name, p.schema).map((q) => [q.what, p.name, q] as const));
  it.each(cases)('%s: refused naming it, or answered with nothing it should not show', async (_what, name, q) => {
    const url = `${base()}?${required(name)}${q.query}`;
    const before = await storedState();
    const call = await callAdmin(url);
    if (q.mayAnswer && call.response.status === 200) {
      const text = await call.response.text();
      expect(text).not.toContain(fixtures.tenantId);
      expect(text).not.toContain(SEEDED_NAME);
      if (call.response.headers.get('content-type')?.includes('json')) expect(showsNothing(JSON.parse(text))).toBe(true);
    } else {
      expect((await expectClientError(call.response, 400)).param).toBe(name);
    }
    await call.settled();
    expect(await storedState()).toEqual(before);
  });

  if (op.query.some((p) => p.name === 'from') && op.query.some((p) => p.name === 'to')) {
    it.each([
      ['from after to', 'from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z'],
      ['from equal to to', 'from=2026-01-01T00:00:00Z&to=2026-01-01T00:00:00Z'],
      ['from after a default to', 'from=2999-01-01T00:00:00Z'],
    ])('refuses %s, naming from', async (_what, query) => {
      await expectRefused(`${base()}?${required('from')}${query}`, {}, 400, (error) => expect(error.param).toBe('from'));
    });
  }
});

describe('admin query strings, specifically', () => {
  it.each([
    ['/admin/analytics/timeseries?interval=minute&from=2016-01-01T00:00:00Z&to=2026-01-01T00:00:00Z', 'interval'],
    ['/admin/analytics/breakdown', 'group_by'],
    ['/admin/requests?cursor=not-a-cursor', 'cursor'],
    [`/admin/requests?cursor=${btoa('abc:def')}`, 'cursor'],
    [`/admin/requests?cursor=${btoa('99999999999999999999:x')}`, 'cursor'],
    [`/admin/requests?cursor=${btoa('1:')}`, 'cursor'],
    [`/admin/requests?cursor=${encodeURIComponent('\u00ff\u00fe')}`, 'cursor'],
  ])('%s → 400 naming %s', async (url, param) => {
    await expectRefused(url, {}, 400, (error) => expect(error.param).toBe(param));
  });

  it('treats SQL inside a well-formed cursor as a value', async () => {
    const page = async (cursor?: string) => {
      const call = await callAdmin(`/admin/requests${cursor ? `?cursor=${encodeURIComponent(btoa(cursor))}` : ''}`);
      expect(call.response.status).toBe(200);
      return ((await call.response.json()) as { data: Array<{ id: string }> }).data.map((row) => row.id);
    };
    const all = await page();
    expect(all.length).toBeGreaterThan(0);
    // Keyset pagination: rows before the cursor's instant, whatever its id says.
    expect(await page("1:' OR 1=1 --")).toEqual([]);
    expect(await page("1:x') OR 1=1 --")).toEqual([]);
    expect(await page("99999999999999:' OR 1=1 --")).toEqual(all);
  });
});

// --- Path parameters ---------------------------------------------------------------------------

const pathOperations = operations.filter((op) => op.path.length > 0);
const tryDecode = (value: string) => {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
};

describe.each(pathOperations.map((op) => [op.key, op] as const))('%s', (key, op) => {
  const method = methodOf(key);
  const param = op.path[0];
  const real = (f: Fixtures) =>
    ({ id: key.includes('/requests/') ? f.requestId : f.tenantId, key_id: f.keyId, model: 'openai/gpt-4o-mini' })[param.name as 'id' | 'key_id' | 'model'];
  it('has one path parameter, with a real value', () => {
    expect(op.path).toHaveLength(1);
    expect(real(fixtures)).toBeTruthy();
  });

  it.each(hostilePathValues())('answers %s with 404, or 400 naming the parameter, writing nothing', async (_what, make) => {
    const value = make(real(fixtures));
    const decoded = tryDecode(value);
    const invalid =
      decoded.length > (param.schema.maxLength ?? Infinity) || (param.schema.pattern !== undefined && !new RegExp(param.schema.pattern).test(decoded));
    // A well-formed id is what PUT creates: not hostile.
    if (!invalid && method === 'PUT') return;
    const url = pathOf(key).replace(/:\w+(\{[^}]*\})?/, value);
    const body = ROUTES[key].body === 'json' ? JSON.stringify(ROUTES[key].validBody!(fixtures)) : null;
    const error = await expectRefused(url, json(method, body), invalid ? [400, 404] : 404);
    if (error.code === 'unknown_url') return; // the URL normalised to another path (%2e%2e)
    if (invalid) expect(error).toMatchObject({ param: param.name, code: 'invalid_value' });
    else expect(error).toMatchObject({ type: 'invalid_request_error', code: 'not_found' });
  });
});

// --- Credentials -------------------------------------------------------------------------------

const adminRoutes = routeKeys.filter((key) => pathOf(key).startsWith('/admin/'));
const protectedRoutes = adminRoutes.filter((key) => ROUTES[key].auth === 'admin');

describe('credentials', () => {
  it('every admin route but the document and its page is protected', () => {
    expect(adminRoutes.filter((key) => ROUTES[key].auth === 'public')).toEqual(['GET /admin/openapi.json', 'GET /admin/docs']);
  });

  it.each(protectedRoutes)('%s refuses every bad credential with 401 and shows nothing', async (key) => {
    const route = ROUTES[key];
    const method = methodOf(key);
    // A request the right token would have answered (and that would write, for writes).
    const body = route.body === 'json' ? JSON.stringify(route.validBody!(fixtures)) : undefined;
    const url = route.url(fixtures);
    for (const [what, headers] of [
      ...badCredentials(fixtures.apiKey, TEST_ADMIN_TOKEN),
      ['the admin token in the query string', {}] as [string, Record<string, string>],
    ]) {
      const before = await storedState();
      const target = what.includes('query') ? `${url}${url.includes('?') ? '&' : '?'}token=${TEST_ADMIN_TOKEN}&access_token=${TEST_ADMIN_TOKEN}` : url;
      const call = await callProxy(target, { method, headers: { 'content-type': 'application/json', ...headers }, ...(body ? { body } : {}) });
      const text = await call.response.clone().text();
      expect((await expectClientError(call.response, 401)).code, what).toBe('invalid_api_key');
      for (const secret of [fixtures.tenantId, SEEDED_NAME, fixtures.keyId, TEST_ADMIN_TOKEN]) expect(text, what).not.toContain(secret);
      await call.settled();
      expect(await storedState(), what).toEqual(before);
    }
  });

  it.each(protectedRoutes)('%s checks the token before reading the body', async (key) => {
    await expectClientError(
      (
        await callProxy(ROUTES[key].url(fixtures), {
          method: methodOf(key),
          headers: { 'content-type': 'application/json' },
          ...(methodOf(key) === 'GET' ? {} : { body: 'x'.repeat(MAX_ADMIN_BODY_BYTES * 2) }),
        })
      ).response,
      401,
    );
  });

  it('every protected route is closed (503), not open, without ADMIN_TOKEN', async () => {
    const before = await storedState();
    for (const key of protectedRoutes) {
      const route = ROUTES[key];
      for (const [adminToken, authorization] of [
        ['', 'Bearer '],
        [undefined, 'Bearer undefined'],
        ['', `Bearer ${TEST_ADMIN_TOKEN}`],
      ] as const) {
        const call = await callProxy(
          route.url(fixtures),
          {
            method: methodOf(key),
            headers: { authorization, 'content-type': 'application/json' },
            ...(route.body === 'json' ? { body: JSON.stringify(route.validBody!(fixtures)) } : {}),
          },
          { ADMIN_TOKEN: adminToken },
        );
        expect(call.response.status, key).toBe(503);
        expect(((await call.response.json()) as { error: { code: string } }).error.code).toBe('admin_disabled');
      }
    }
    expect(await storedState()).toEqual(before);
  });

  it('the public document and page answer anyone, and hold no data', async () => {
    for (const [, headers] of badCredentials(fixtures.apiKey, TEST_ADMIN_TOKEN)) {
      for (const [path, type] of [
        ['/admin/openapi.json', 'application/json'],
        ['/admin/docs', 'text/html'],
      ]) {
        const response = (await callProxy(path, { headers })).response;
        expect(response.status).toBe(200);
        expect(response.headers.get('content-type')).toContain(type);
        const text = await response.text();
        for (const secret of [fixtures.tenantId, SEEDED_NAME, TEST_ADMIN_TOKEN]) expect(text).not.toContain(secret);
      }
    }
  });
});
