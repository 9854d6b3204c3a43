/**
 * Every admin API response checked against its OpenAPI schema.
 *
 * Why: the admin routes' zod schemas validate their *requests*, but nothing validates what a
 * handler *answers*: Hono's `c.json()` sends whatever object the store or analytics code built,
 * while /admin/openapi.json (and the dashboard and any client generated from it) promise the
 * documented shape. A handler that drifts from its documentation (a field dropped, renamed,
 * added, or of another type) would go unnoticed. This file drives the real Worker, calls every
 * route in `admin.openAPIRegistry` for real (real tenants, keys and logged calls), and validates
 * each body against that route's own response schema, made strict at every object level.
 *
 * The call table below is keyed by `METHOD /path` as documented; a route added to the registry
 * without an entry here, or an entry whose route is gone, fails the suite. So does a route added
 * to the admin app outside the registry (it would be served but neither documented nor checked).
 */
import { z } from '@hono/zod-openapi';
import { beforeAll, describe, expect, it } from 'vitest';
import { admin } from '../../proxy/admin/api';
import { createTestTenant } from './fixtures';
import { callAdmin, callProxy, nonce, postJson, upstreamEnv, webhookUrl, type ProxyCall } from './harness';

// ---------------------------------------------------------------------------------------------
// The registry: every route documented in /admin/openapi.json, with its response schemas.

interface MediaType {
  schema?: unknown;
}
interface ResponseDef {
  content?: Partial<Record<string, MediaType>>;
}
interface RouteDef {
  method: string;
  path: string;
  responses: Record<string, ResponseDef>;
  request?: { body?: unknown };
}

const ROUTES: RouteDef[] = admin.openAPIRegistry.definitions.flatMap((d) => (d.type === 'route' ? [d.route as unknown as RouteDef] : []));

/** Hono's `{model{.+}}` (a parameter that may hold slashes) is `{model}` in the OpenAPI document, as in api.ts. */
const documentedPath = (path: string) => path.replace(/\{(\w+)\{[^}]*\}\}/g, '{$1}');
const keyOf = (route: RouteDef) => `${route.method.toUpperCase()} ${documentedPath(route.path)}`;
/** A registry path with its parameters filled in, under /admin. */
const urlOf = (route: RouteDef, params: Record<string, string>) =>
  `/admin${documentedPath(route.path).replace(/\{(\w+)\}/g, (_, name: string) => params[name] ?? expect.fail(`no value for {${name}} of ${keyOf(route)}`))}`;

/** The one success response a route documents: its status, media type and (for JSON) zod schema. */
function successOf(route: RouteDef): { status: number; mediaType: string; schema: z.ZodType | null } {
  const successes = Object.entries(route.responses).filter(([status]) => /^2\d\d$/.test(status));
  expect(successes, `${keyOf(route)} documents one success response`).toHaveLength(1);
  const [status, response] = successes[0];
  const mediaTypes = Object.keys(response.content ?? {});
  expect(mediaTypes, `${keyOf(route)}'s success response has one media type`).toHaveLength(1);
  const schema = response.content![mediaTypes[0]]!.schema;
  if (mediaTypes[0] !== 'application/json') return { status: Number(status), mediaType: mediaTypes[0], schema: null };
  expect(schema, `${keyOf(route)}'s JSON response has a zod schema`).toBeInstanceOf(z.ZodType);
  return { status: Number(status), mediaType: mediaTypes[0], schema: schema as z.ZodType };
}

/** A documented error response's schema (always JSON). */
function errorSchemaOf(route: RouteDef, status: number): z.ZodType {
  const schema = route.responses[status]?.content?.['application/json']?.schema;
  expect(schema, `${keyOf(route)} documents a JSON ${status}`).toBeInstanceOf(z.ZodType);
  return schema as z.ZodType;
}

const isJsonRoute = (route: RouteDef) => successOf(route).mediaType === 'application/json';

// ---------------------------------------------------------------------------------------------
// Strict validation.

const LEAVES = [z.ZodString, z.ZodNumber, z.ZodBoolean, z.ZodLiteral, z.ZodEnum, z.ZodNull, z.ZodTemplateLiteral];

/**
 * The same schema with every object strict (an unknown key is an error, where zod's default
 * silently strips it). Rebuilt by walking the schema; a kind of schema this walk does not know
 * (an intersection, an object with its own refinements or catch-all...) throws, so that
 * strictness is never silently lost when the response schemas grow a new construct.
 */
function strict(schema: z.ZodType, at: string): z.ZodType {
  if (schema instanceof z.ZodObject) {
    const { catchall, checks } = schema.def;
    if ((catchall && !(catchall instanceof z.ZodNever)) || checks?.length)
      throw new Error(`strict(): ${at} has a catch-all or checks of its own; teach strict() about it`);
    return z.strictObject(Object.fromEntries(Object.entries(schema.shape).map(([key, value]) => [key, strict(value as z.ZodType, `${at}.${key}`)])));
  }
  if (schema instanceof z.ZodArray) {
    if (schema.def.checks?.length) throw new Error(`strict(): ${at} has array checks; teach strict() about them`);
    return z.array(strict(schema.element as z.ZodType, `${at}[]`));
  }
  if (schema instanceof z.ZodRecord) return z.record(schema.keyType as z.ZodString, strict(schema.valueType as z.ZodType, `${at}{}`));
  if (schema instanceof z.ZodNullable) return strict(schema.unwrap() as z.ZodType, at).nullable();
  if (schema instanceof z.ZodOptional) return strict(schema.unwrap() as z.ZodType, at).optional();
  if (schema instanceof z.ZodUnion)
    return z.union((schema.options as z.ZodType[]).map((option, i) => strict(option, `${at}|${i}`)) as [z.ZodType, ...z.ZodType[]]);
  if (LEAVES.some((Leaf) => schema instanceof Leaf)) return schema;
  throw new Error(`strict(): no rule for a ${schema.def.type} schema at ${at}`);
}

/**
 * The body matches the schema exactly: no field missing or of another type (the parse), no field
 * the schema does not document (strict objects), and the parsed value deep-equals the body, so a
 * transform, default or coercion in a response schema cannot make a body pass that is not
 * literally of the documented shape.
 */
function expectConforms(schema: z.ZodType, body: unknown, what: string): void {
  const result = strict(schema, '$').safeParse(body);
  if (!result.success)
    expect.fail(`${what}: the body does not match its documented schema:\n${z.prettifyError(result.error)}\nbody: ${JSON.stringify(body).slice(0, 3000)}`);
  expect(result.data, `${what}: the parsed body differs from the body sent`).toStrictEqual(body);
}

// ---------------------------------------------------------------------------------------------
// Real objects the routes are called on, and a real successful call of every route.

interface Fixtures {
  /** A tenant with store_content and a budget, which made the calls below. */
  tenantId: string;
  /** A logged successful call (with stored content). */
  okRequestId: string;
  /** A logged call that failed after a fallback (with failed attempts). */
  failedRequestId: string;
  /** A tenant with shadow_eval_rate 1, one of whose calls was evaluated. */
  evaluatedTenantId: string;
}

/** Bodies the routes that take one accept. */
const BODIES: Record<string, unknown> = {
  'POST /tenants': { name: 'openapi-minimal' },
  'PATCH /tenants/{id}': { rpm: 100 },
  'PATCH /keys/{key_id}': { rpm: 10 },
  'PUT /prices/{model}': { input_per_mtok: 0.15, output_per_mtok: 0.6, cached_input_per_mtok: 0.075 },
};

const EVERY_KEY_SETTING = { name: 'openapi-key', rpm: 60, tpm: 10_000, monthly_budget_usd: 5, expires_at: '2099-01-01T00:00:00Z' };

type Body = any; // eslint-disable-line @typescript-eslint/no-explicit-any -- bodies are checked by their schema first

interface Case {
  /** Successful calls of the route, by label: together they should reach the nullable and optional branches where they can. */
  calls(f: Fixtures): Promise<Record<string, ProxyCall>>;
  /** What a body must hold beyond its schema, so that the schema is checked on real data (not an empty list). */
  check?(body: Body, label: string, f: Fixtures): void;
}

const nonEmpty = (field: string) => (body: Body, label: string) =>
  expect(body[field].length, `${label}: ${field} is empty, so its items were not checked`).toBeGreaterThan(0);

const CASES: Record<string, Case> = {
  'POST /tenants': {
    calls: async () => ({
      minimal: await callAdmin('/admin/tenants', { method: 'POST', json: BODIES['POST /tenants'] }),
      'every setting': await callAdmin('/admin/tenants', {
        method: 'POST',
        json: {
          name: 'openapi-full',
          rpm: 60,
          tpm: 10_000,
          monthly_budget_usd: 25,
          routing: 'auto',
          cache_ttl_s: 60,
          cheap_model: 'mock/mock-mini',
          expensive_model: 'mock/mock-large',
          rate_limit_store: 'durable-object',
          store_content: true,
          alert_webhook_url: 'https://hooks.example.com/openapi',
          alert_thresholds: [0.9, 0.5],
        },
      }),
    }),
  },
  'GET /tenants': { calls: async () => ({ list: await callAdmin('/admin/tenants') }), check: nonEmpty('data') },
  'GET /tenants/{id}': { calls: async (f) => ({ tenant: await callAdmin(`/admin/tenants/${f.tenantId}`) }) },
  'PATCH /tenants/{id}': {
    calls: async () => {
      const tenant = await createTestTenant();
      return {
        patch: await callAdmin(`/admin/tenants/${tenant.id}`, { method: 'PATCH', json: BODIES['PATCH /tenants/{id}'] }),
        'clear with null': await callAdmin(`/admin/tenants/${tenant.id}`, { method: 'PATCH', json: { rpm: null, cheap_model: 'mock/mock-large' } }),
      };
    },
  },
  'DELETE /tenants/{id}': {
    calls: async () => {
      const tenant = await createTestTenant();
      return { delete: await callAdmin(`/admin/tenants/${tenant.id}`, { method: 'DELETE' }) };
    },
  },
  'GET /tenants/{id}/keys': {
    // A revoked key and a live one with every setting: revoked_at and the settings both ways.
    calls: async () => {
      const tenant = await createTestTenant();
      expect((await callAdmin(`/admin/keys/${tenant.keyId}`, { method: 'DELETE' })).response.status).toBe(200);
      expect((await callAdmin(`/admin/tenants/${tenant.id}/keys`, { method: 'POST', json: EVERY_KEY_SETTING })).response.status).toBe(201);
      return { 'revoked and live': await callAdmin(`/admin/tenants/${tenant.id}/keys`) };
    },
    check: (body: Body, label) => {
      expect(
        body.data.map((k: Body) => k.revoked_at === null),
        label,
      ).toEqual([false, true]);
      expect(body.data.map((k: Body) => k.expires_at === null)).toEqual([true, false]);
    },
  },
  'POST /tenants/{id}/keys': {
    calls: async (f) => ({
      'no body': await callAdmin(`/admin/tenants/${f.tenantId}/keys`, { method: 'POST' }),
      'every setting': await callAdmin(`/admin/tenants/${f.tenantId}/keys`, { method: 'POST', json: EVERY_KEY_SETTING }),
    }),
  },
  'PATCH /keys/{key_id}': {
    calls: async (f) => {
      const issued = await callAdmin(`/admin/tenants/${f.tenantId}/keys`, { method: 'POST', json: EVERY_KEY_SETTING });
      const { key_id } = (await issued.response.json()) as { key_id: string };
      return {
        patch: await callAdmin(`/admin/keys/${key_id}`, { method: 'PATCH', json: BODIES['PATCH /keys/{key_id}'] }),
        'clear with null': await callAdmin(`/admin/keys/${key_id}`, {
          method: 'PATCH',
          json: { name: null, rpm: null, tpm: null, monthly_budget_usd: null, expires_at: null },
        }),
      };
    },
  },
  'DELETE /keys/{key_id}': {
    calls: async (f) => {
      const issued = await callAdmin(`/admin/tenants/${f.tenantId}/keys`, { method: 'POST' });
      const { key_id } = (await issued.response.json()) as { key_id: string };
      return { revoke: await callAdmin(`/admin/keys/${key_id}`, { method: 'DELETE' }) };
    },
  },
  'GET /requests': {
    calls: async (f) => ({
      'last page': await callAdmin(`/admin/requests?tenant=${f.tenantId}`),
      'a page with a cursor': await callAdmin(`/admin/requests?tenant=${f.tenantId}&limit=1`),
      'one endpoint': await callAdmin(`/admin/requests?tenant=${f.tenantId}&endpoint=embeddings`),
      'one user and tag': await callAdmin(`/admin/requests?tenant=${f.tenantId}&user=openapi-user&tag=team=docs`),
    }),
    check: (body: Body, label) => {
      nonEmpty('data')(body, label);
      expect(body.next_cursor === null, label).toBe(label !== 'a page with a cursor');
      if (label === 'one endpoint') expect(body.data.map((r: Body) => r.endpoint)).toEqual(['embeddings']);
      if (label === 'one user and tag') expect(body.data.map((r: Body) => [r.user, r.tags])).toEqual([['openapi-user', { team: 'docs' }]]);
    },
  },
  'GET /alerts': {
    // A tenant whose one call crosses two thresholds: two deliveries, so a page of one has a cursor.
    calls: async () => {
      const tenant = await createTestTenant({ monthly_budget_usd: 1e-9, alert_thresholds: [0.5, 1], alert_webhook_url: webhookUrl(nonce('openapi')) });
      const call = await postJson('/v1/chat/completions', { model: 'cheap', messages: [{ role: 'user', content: 'alert me' }] }, { apiKey: tenant.apiKey });
      await call.response.text();
      await call.settled();
      return {
        'last page': await callAdmin(`/admin/alerts?tenant=${tenant.id}`),
        'a page with a cursor': await callAdmin(`/admin/alerts?tenant=${tenant.id}&kind=budget&limit=1`),
      };
    },
    check: (body: Body, label) => {
      nonEmpty('data')(body, label);
      expect(body.next_cursor === null, label).toBe(label !== 'a page with a cursor');
    },
  },
  'GET /requests/{id}': {
    calls: async (f) => ({
      succeeded: await callAdmin(`/admin/requests/${f.okRequestId}`),
      'failed after a fallback': await callAdmin(`/admin/requests/${f.failedRequestId}`),
    }),
    check: (body: Body, label) => {
      expect(body.content, `${label}: stored content`).not.toBeNull();
      if (label !== 'succeeded') expect(body.failed_attempts.length, `${label}: failed attempts`).toBeGreaterThan(0);
    },
  },
  'GET /analytics/summary': {
    calls: async (f) => ({
      all: await callAdmin('/admin/analytics/summary'),
      'one tenant': await callAdmin(`/admin/analytics/summary?tenant=${f.tenantId}`),
      'one user and tag': await callAdmin('/admin/analytics/summary?user=openapi-user&tag=team=docs'),
    }),
    check: (body: Body, label) => expect(body.requests, label).toBeGreaterThan(0),
  },
  'GET /analytics/breakdown': {
    calls: async (f) => {
      const calls: Record<string, ProxyCall> = {};
      for (const groupBy of ['tenant', 'model', 'tier', 'provider', 'endpoint', 'user', 'key', 'tag:team'])
        calls[`by ${groupBy}`] = await callAdmin(`/admin/analytics/breakdown?group_by=${groupBy}`);
      calls['one tenant by user, one tag'] = await callAdmin(`/admin/analytics/breakdown?group_by=user&tenant=${f.tenantId}&tag=team=docs`);
      calls['one tenant'] = await callAdmin(`/admin/analytics/breakdown?group_by=model&tenant=${f.tenantId}`);
      calls['one tenant by endpoint'] = await callAdmin(`/admin/analytics/breakdown?group_by=endpoint&tenant=${f.tenantId}`);
      return calls;
    },
    check: (body: Body, label) => {
      nonEmpty('data')(body, label);
      if (label.endsWith('by endpoint')) expect(body.data.map((g: Body) => g.key).sort(), label).toEqual(['chat', 'embeddings']);
      // The calls with no user, or no team tag, are a group keyed null.
      if (label === 'by user' || label === 'by tag:team')
        expect(
          body.data.map((g: Body) => g.key),
          label,
        ).toEqual(expect.arrayContaining([null]));
      if (label === 'one tenant by user, one tag')
        expect(
          body.data.map((g: Body) => g.key),
          label,
        ).toEqual(['openapi-user']);
    },
  },
  'GET /analytics/timeseries': {
    calls: async (f) => ({
      ungrouped: await callAdmin('/admin/analytics/timeseries'),
      'by model, per minute': await callAdmin(
        `/admin/analytics/timeseries?interval=minute&group_by=model&from=${new Date(Date.now() - 3_600_000).toISOString()}`,
      ),
      'one tenant by tier, per day': await callAdmin(`/admin/analytics/timeseries?interval=day&group_by=tier&tenant=${f.tenantId}`),
      'by endpoint': await callAdmin('/admin/analytics/timeseries?group_by=endpoint'),
      'by tag, one user': await callAdmin('/admin/analytics/timeseries?group_by=tag:team&user=openapi-user'),
    }),
    check: (body: Body, label) => {
      nonEmpty('series')(body, label);
      expect(body.series[0].points.length, `${label}: points`).toBeGreaterThan(0);
    },
  },
  'GET /analytics/spend': {
    calls: async () => ({ spend: await callAdmin('/admin/analytics/spend') }),
    check: (body: Body, label, f) =>
      expect(body.data.find((t: Body) => t.tenant_id === f.tenantId)?.budget_used, `${label}: the budgeted tenant`).toEqual(expect.any(Number)),
  },
  'GET /analytics/unpriced': {
    calls: async (f) => ({ all: await callAdmin('/admin/analytics/unpriced'), tenant: await callAdmin(`/admin/analytics/unpriced?tenant=${f.tenantId}`) }),
    check: (body: Body, label) =>
      expect(
        body.models.map((m: Body) => m.model),
        label,
      ).toContain('openai/gpt-openapi-unpriced'),
  },
  'GET /analytics/routing-quality': {
    calls: async (f) => ({
      all: await callAdmin('/admin/analytics/routing-quality'),
      'one tenant, a month': await callAdmin(
        `/admin/analytics/routing-quality?tenant=${f.evaluatedTenantId}&from=${new Date(Date.now() - 30 * 86_400_000).toISOString()}`,
      ),
    }),
    check: (body: Body, label) => {
      nonEmpty('data')(body, label);
      nonEmpty('series')(body, label);
    },
  },
  'GET /export.csv': {
    calls: async () => ({ csv: await callAdmin('/admin/export.csv'), 'by user': await callAdmin('/admin/export.csv?group_by=user') }),
  },
  'GET /storage': {
    calls: async () => ({ storage: await callAdmin('/admin/storage') }),
    check: (body: Body, label) => expect(body.d1.size_bytes, `${label}: D1's size`).toBeGreaterThan(0),
  },
  'GET /archive': {
    calls: async () => ({ days: await callAdmin('/admin/archive') }),
  },
  'GET /prices': { calls: async () => ({ list: await callAdmin('/admin/prices') }), check: nonEmpty('data') },
  'PUT /prices/{model}': {
    calls: async () => ({
      'a built-in model': await callAdmin('/admin/prices/openai/gpt-4o-mini', { method: 'PUT', json: BODIES['PUT /prices/{model}'] }),
      // Not in the built-in table: no kind nor tier.
      'a model of its own': await callAdmin('/admin/prices/openai/openapi-finetune:v1', { method: 'PUT', json: { input_per_mtok: 0.3, output_per_mtok: 1.2 } }),
    }),
  },
};

// ---------------------------------------------------------------------------------------------

let fixtures: Fixtures;

beforeAll(async () => {
  // Proxy traffic through the mock provider, so the request log and analytics have rows.
  const tenant = await createTestTenant({ store_content: true, monthly_budget_usd: 50 });
  const chat = async (content: string, status: number, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) => {
    const call = await postJson(
      '/v1/chat/completions',
      { model: 'cheap', messages: [{ role: 'user', content }], ...extra },
      { apiKey: tenant.apiKey, headers },
    );
    await call.response.text();
    await call.settled();
    expect(call.response.status, content).toBe(status);
    return call.response.headers.get('x-request-id')!;
  };
  // An end user and tags: the user and tags fields hold values, and the reports have such groups.
  const okRequestId = await chat('hello', 200, {}, { 'x-proxy-user': 'openapi-user', 'x-proxy-tags': 'team=docs' });
  await chat('what does the proxy record?', 200, { stream: true });
  // Another endpoint, so the request log's endpoint filter and the endpoint groups have more than one.
  const embeddings = await postJson('/v1/embeddings', { model: 'mock/mock-embed', input: 'grouped by endpoint' }, { apiKey: tenant.apiKey });
  await embeddings.response.text();
  await embeddings.settled();
  expect(embeddings.response.status).toBe(200);
  // Fails on the cheap tier, falls back to the expensive one, which fails too: failed attempts are logged.
  const failedRequestId = await chat('mock:fail=500', 502);
  // A call served with no price in force, so the unpriced report has a row.
  const unpriced = await postJson(
    '/v1/chat/completions',
    { model: 'openai/gpt-openapi-unpriced', messages: [{ role: 'user', content: 'hi' }] },
    { apiKey: tenant.apiKey, env: { ...upstreamEnv(), ALLOW_UNPRICED_MODELS: 'true' } },
  );
  await unpriced.response.text();
  await unpriced.settled();
  expect(unpriced.response.status).toBe(200);
  // A tenant whose every call is evaluated, so routing quality has a row.
  const evaluated = await createTestTenant({ shadow_eval_rate: 1 });
  const sampled = await postJson('/v1/chat/completions', { model: 'cheap', messages: [{ role: 'user', content: 'hi' }] }, { apiKey: evaluated.apiKey });
  await sampled.response.text();
  await sampled.settled();
  fixtures = { tenantId: tenant.id, okRequestId, failedRequestId, evaluatedTenantId: evaluated.id };
});

describe('the admin API answers in its documented shapes', () => {
  it('the call table covers exactly the routes of the registry', () => {
    expect(ROUTES.length).toBeGreaterThan(0);
    const keys = ROUTES.map(keyOf);
    expect(new Set(keys).size, 'a route is registered twice').toBe(keys.length);
    const registered = new Set(keys);
    expect(
      keys.filter((key) => !(key in CASES)),
      'routes in the registry that no call here exercises',
    ).toEqual([]);
    expect(
      Object.keys(CASES).filter((key) => !registered.has(key)),
      'calls here of routes no longer in the registry',
    ).toEqual([]);
    // The JSON routes are most of them; the CSV export is the one that is not.
    expect(ROUTES.filter((route) => !isJsonRoute(route)).map(keyOf)).toEqual(['GET /export.csv']);
  });

  it('every route the admin app serves is in the registry, but the document and its reference page', () => {
    // Hono's route table (middleware aside, one entry per handler): an `admin.get()` added outside
    // `admin.openapi()` would be served without documentation or a schema to check it against.
    const served = new Set(admin.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method} ${r.path}`));
    const registered = ROUTES.map((route) => `${route.method.toUpperCase()} ${route.path.replace(/\{(\w+)(\{[^}]*\})?\}/g, ':$1$2')}`);
    expect([...served].sort()).toEqual([...registered, 'GET /openapi.json', 'GET /docs'].sort());
  });

  for (const route of ROUTES) {
    const key = keyOf(route);
    it(`${key}: its real answers match the documented ${isJsonRoute(route) ? 'schema' : 'media type'}`, async () => {
      const spec = CASES[key];
      if (!spec) expect.fail(`${key} is in the admin API's registry but not exercised here: add it to CASES`);
      const { status, mediaType, schema } = successOf(route);
      const calls = await spec.calls(fixtures);
      expect(Object.keys(calls).length).toBeGreaterThan(0);
      for (const [label, call] of Object.entries(calls)) {
        const what = `${key} (${label})`;
        const text = await call.response.text();
        expect(call.response.status, `${what}: ${text.slice(0, 500)}`).toBe(status);
        expect(call.response.headers.get('content-type'), what).toContain(mediaType);
        if (!schema) {
          expect(text.length, `${what}: empty body`).toBeGreaterThan(0);
          continue;
        }
        const body: unknown = JSON.parse(text);
        expectConforms(schema, body, what);
        spec.check?.(body, label, fixtures);
      }
    });
  }

  it('the OpenAPI document and the reference page answer in their media types', async () => {
    const doc = await callProxy('/admin/openapi.json');
    expect(doc.response.status).toBe(200);
    expect(doc.response.headers.get('content-type')).toContain('application/json');
    const { paths } = (await doc.response.json()) as { paths: Record<string, Record<string, unknown>> };
    // It documents exactly the routes checked above.
    const documented = Object.entries(paths).flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`));
    expect(documented.sort()).toEqual(ROUTES.map(keyOf).sort());
    const page = await callProxy('/admin/docs');
    expect(page.response.status).toBe(200);
    expect(page.response.headers.get('content-type')).toContain('text/html');
    await page.response.text();
  });
});

describe('the admin API errors in their documented shape', () => {
  const missing = { id: 'missing-0', key_id: 'missing-0', model: 'openai/gpt-4o-mini' };
  const send = (route: RouteDef, params: Record<string, string>, init: RequestInit = {}, env = {}) => {
    const hasBody = ['POST', 'PATCH', 'PUT'].includes(route.method.toUpperCase());
    const body = hasBody ? JSON.stringify(BODIES[keyOf(route)] ?? {}) : undefined;
    return callProxy(
      urlOf(route, params),
      { method: route.method.toUpperCase(), body, ...init, headers: { 'content-type': 'application/json', ...init.headers } },
      env,
    );
  };
  const expectError = async (route: RouteDef, call: ProxyCall, status: number, code?: string) => {
    const what = `${keyOf(route)} ${status}`;
    const text = await call.response.text();
    expect(call.response.status, `${what}: ${text.slice(0, 500)}`).toBe(status);
    expect(call.response.headers.get('content-type'), what).toContain('application/json');
    const body = JSON.parse(text) as { error: { code: string | null } };
    expectConforms(errorSchemaOf(route, status), body, what);
    if (code) expect(body.error.code, what).toBe(code);
  };

  it('404 for an unknown id, on every route that documents one', async () => {
    const routes = ROUTES.filter((route) => route.responses[404]);
    expect(routes.map(keyOf)).toEqual(expect.arrayContaining(['GET /tenants/{id}', 'DELETE /keys/{key_id}', 'GET /requests/{id}']));
    for (const route of routes)
      await expectError(route, await send(route, missing, { headers: { authorization: 'Bearer test-admin-token' } }), 404, 'not_found');
  });

  it('401 without the admin token, on every route', async () => {
    for (const route of ROUTES) await expectError(route, await send(route, missing), 401);
  });

  it('503 when ADMIN_TOKEN is not configured, on every route', async () => {
    for (const route of ROUTES)
      await expectError(
        route,
        await send(route, missing, { headers: { authorization: 'Bearer test-admin-token' } }, { ADMIN_TOKEN: undefined }),
        503,
        'admin_disabled',
      );
  });

  it('400 for a refused body or query', async () => {
    const byKey = new Map(ROUTES.map((route) => [keyOf(route), route]));
    const refused: [string, string, RequestInit & { json?: unknown }][] = [
      ['POST /tenants', '/admin/tenants', { method: 'POST', json: { name: '', rpm: -1 } }],
      ['POST /tenants', '/admin/tenants', { method: 'POST', json: { name: 'x', colour: 'blue' } }],
      ['GET /requests', '/admin/requests?limit=0', {}],
      ['GET /requests', '/admin/requests?endpoint=completions', {}],
      ['GET /analytics/breakdown', '/admin/analytics/breakdown?group_by=endpoints', {}],
      ['GET /analytics/timeseries', '/admin/analytics/timeseries?interval=fortnight', {}],
      ['PUT /prices/{model}', '/admin/prices/acme/model', { method: 'PUT', json: BODIES['PUT /prices/{model}'] }],
    ];
    for (const [key, url, init] of refused) await expectError(byKey.get(key)!, await callAdmin(url, init), 400);
  });
});
