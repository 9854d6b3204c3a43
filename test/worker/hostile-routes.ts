/**
 * The hostile-input suites' map of the Worker: every route it serves, how to reach it, and the
 * checks every hostile request shares (a 4xx in OpenAI's shape, nothing written).
 *
 * `ROUTES` must list exactly the routes of proxy/app.ts (read from Hono's own route table), and
 * the admin routes' parameters and body fields are read from the same definitions that produce
 * /admin/openapi.json: a route, a query parameter or a body field added without hostile
 * coverage fails hostile-input.test.ts.
 */
import { expect } from 'vitest';
import { admin } from '../../proxy/admin/api';
import { app } from '../../proxy/app';
import { env, upstreamUrl, TEST_ANTHROPIC_KEY, TEST_OPENAI_KEY } from './harness';

export type Auth = 'public' | 'tenant' | 'admin';

/** Real objects the routes' URLs point at (created by each suite). */
export interface Fixtures {
  tenantId: string;
  apiKey: string;
  keyId: string;
  /** The x-request-id of a logged call. */
  requestId: string;
}

export interface RouteSpec {
  auth: Auth;
  /** `json`: the route reads a JSON body; `ignored`: it takes none (a body is not read). */
  body: 'json' | 'ignored';
  /** A URL that reaches the route's handler, for real objects where it has ids. */
  url(f: Fixtures): string;
  /** A body the route accepts (for `json` routes): a refusal then has one cause only. */
  validBody?(f: Fixtures): unknown;
  /** The route answers errors in Anthropic's shape (the Messages API), not OpenAI's. */
  errors?: 'anthropic';
}

const none = { body: 'ignored' } as const;

/** Every route of proxy/app.ts, as `METHOD /path` in Hono's pattern syntax. */
export const ROUTES: Record<string, RouteSpec> = {
  'GET /health': { auth: 'public', ...none, url: () => '/health' },
  'GET /': { auth: 'public', ...none, url: () => '/' },
  'POST /v1/chat/completions': {
    auth: 'tenant',
    body: 'json',
    url: () => '/v1/chat/completions',
    validBody: () => ({ model: 'cheap', messages: [{ role: 'user', content: 'hi' }] }),
  },
  'POST /v1/embeddings': { auth: 'tenant', body: 'json', url: () => '/v1/embeddings', validBody: () => ({ model: 'mock/mock-embed', input: 'hi' }) },
  'POST /v1/messages': {
    auth: 'tenant',
    body: 'json',
    errors: 'anthropic',
    url: () => '/v1/messages',
    validBody: () => ({ model: 'cheap', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }),
  },
  'POST /v1/messages/count_tokens': {
    auth: 'tenant',
    body: 'json',
    errors: 'anthropic',
    url: () => '/v1/messages/count_tokens',
    validBody: () => ({ model: 'cheap', messages: [{ role: 'user', content: 'hi' }] }),
  },
  'POST /v1/responses': { auth: 'tenant', body: 'json', url: () => '/v1/responses', validBody: () => ({ model: 'cheap', input: 'hi' }) },
  // No stored response has this id: the route answers its own 404 once past authentication.
  'GET /v1/responses/:id': { auth: 'tenant', ...none, url: () => '/v1/responses/resp_hostile' },
  'DELETE /v1/responses/:id': { auth: 'tenant', ...none, url: () => '/v1/responses/resp_hostile' },
  'GET /v1/models': { auth: 'tenant', ...none, url: () => '/v1/models' },
  'GET /admin/openapi.json': { auth: 'public', ...none, url: () => '/admin/openapi.json' },
  'GET /admin/docs': { auth: 'public', ...none, url: () => '/admin/docs' },
  'POST /admin/tenants': { auth: 'admin', body: 'json', url: () => '/admin/tenants', validBody: () => ({ name: 'hostile-valid' }) },
  'GET /admin/tenants': { auth: 'admin', ...none, url: () => '/admin/tenants' },
  'GET /admin/tenants/:id': { auth: 'admin', ...none, url: (f) => `/admin/tenants/${f.tenantId}` },
  'PATCH /admin/tenants/:id': { auth: 'admin', body: 'json', url: (f) => `/admin/tenants/${f.tenantId}`, validBody: () => ({ rpm: 1 }) },
  'DELETE /admin/tenants/:id': { auth: 'admin', ...none, url: (f) => `/admin/tenants/${f.tenantId}` },
  'GET /admin/tenants/:id/keys': { auth: 'admin', ...none, url: (f) => `/admin/tenants/${f.tenantId}/keys` },
  'POST /admin/tenants/:id/keys': {
    auth: 'admin',
    body: 'json',
    url: (f) => `/admin/tenants/${f.tenantId}/keys`,
    validBody: () => ({ name: 'hostile-valid' }),
  },
  'PATCH /admin/keys/:key_id': { auth: 'admin', body: 'json', url: (f) => `/admin/keys/${f.keyId}`, validBody: () => ({ rpm: 1 }) },
  'DELETE /admin/keys/:key_id': { auth: 'admin', ...none, url: (f) => `/admin/keys/${f.keyId}` },
  'GET /admin/requests': { auth: 'admin', ...none, url: () => '/admin/requests' },
  'GET /admin/alerts': { auth: 'admin', ...none, url: () => '/admin/alerts' },
  'GET /admin/requests/:id': { auth: 'admin', ...none, url: (f) => `/admin/requests/${f.requestId}` },
  'GET /admin/analytics/summary': { auth: 'admin', ...none, url: () => '/admin/analytics/summary' },
  'GET /admin/analytics/breakdown': { auth: 'admin', ...none, url: () => '/admin/analytics/breakdown?group_by=tenant' },
  'GET /admin/analytics/timeseries': { auth: 'admin', ...none, url: () => '/admin/analytics/timeseries' },
  'GET /admin/analytics/spend': { auth: 'admin', ...none, url: () => '/admin/analytics/spend' },
  'GET /admin/analytics/unpriced': { auth: 'admin', ...none, url: () => '/admin/analytics/unpriced' },
  'GET /admin/analytics/routing-quality': { auth: 'admin', ...none, url: () => '/admin/analytics/routing-quality' },
  'GET /admin/export.csv': { auth: 'admin', ...none, url: () => '/admin/export.csv' },
  'GET /admin/storage': { auth: 'admin', ...none, url: () => '/admin/storage' },
  'GET /admin/archive': { auth: 'admin', ...none, url: () => '/admin/archive' },
  'GET /admin/prices': { auth: 'admin', ...none, url: () => '/admin/prices' },
  'PUT /admin/prices/:model{.+}': {
    auth: 'admin',
    body: 'json',
    url: () => '/admin/prices/openai/hostile-valid',
    validBody: () => ({ input_per_mtok: 1, output_per_mtok: 2 }),
  },
};

export const routeKeys = Object.keys(ROUTES);
export const methodOf = (key: string) => key.slice(0, key.indexOf(' '));
export const pathOf = (key: string) => key.slice(key.indexOf(' ') + 1);

/** What the app really serves: Hono's route table without middleware (`ALL`). */
export function servedRoutes(): string[] {
  return [...new Set(app.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method} ${r.path}`))].sort();
}

// --- The admin API's own description of its inputs -------------------------------------------

export interface JsonSchema {
  type?: string | string[];
  enum?: unknown[];
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  anyOf?: JsonSchema[];
  example?: unknown;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean;
  $ref?: string;
}

export interface Operation {
  /** `METHOD /admin/...` in Hono's syntax, as in ROUTES. */
  key: string;
  query: Array<{ name: string; schema: JsonSchema; required: boolean }>;
  path: Array<{ name: string; schema: JsonSchema }>;
  body: JsonSchema | null;
  /** Whether a request must have the body (an optional one may be left out, with its content-type). */
  bodyRequired: boolean;
}

type Doc = {
  paths: Record<
    string,
    Record<
      string,
      {
        parameters?: Array<{ name: string; in: string; required?: boolean; schema: JsonSchema }>;
        requestBody?: { content: Record<string, { schema: JsonSchema }>; required?: boolean };
      }
    >
  >;
  components?: { schemas?: Record<string, JsonSchema> };
};

/** The admin operations as the OpenAPI document describes them (built from the route definitions). */
export function adminOperations(): Operation[] {
  const doc = admin.getOpenAPI31Document({ openapi: '3.1.0', info: { title: 'hostile', version: '0' } }) as unknown as Doc;
  const resolve = (schema: JsonSchema): JsonSchema => (schema.$ref ? doc.components!.schemas![schema.$ref.split('/').pop()!] : schema);
  const operations: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const params = op.parameters ?? [];
      const body = op.requestBody?.content['application/json']?.schema;
      operations.push({
        key: `${method.toUpperCase()} /admin${path.replace(/\{(\w+)(\{[^}]*\})?\}/g, ':$1$2')}`,
        query: params.filter((p) => p.in === 'query').map((p) => ({ name: p.name, schema: resolve(p.schema), required: p.required ?? false })),
        path: params.filter((p) => p.in === 'path').map((p) => ({ name: p.name, schema: resolve(p.schema) })),
        body: body ? resolve(body) : null,
        bodyRequired: op.requestBody?.required ?? false,
      });
    }
  }
  return operations;
}

const typesOf = (schema: JsonSchema) => [schema.type ?? []].flat();

/** `levels` nested arrays as JSON text (JSON.stringify would recurse). */
export const deepArray = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);

/**
 * Hostile values for one body field, as raw JSON text (so Infinity can be sent as 1e999), read
 * from its schema. Throws for a schema it does not know: a new kind of field needs new cases.
 */
export function hostileFieldValues(schema: JsonSchema): Array<[string, string]> {
  const types = typesOf(schema);
  const values: Array<[string, string]> = [
    // An empty object or array is a valid value of a field of that type: its hostile values follow.
    ...(types.includes('object') ? [] : ([['an object', '{}']] as Array<[string, string]>)),
    ...(types.includes('array') ? [] : ([['an array', '[]']] as Array<[string, string]>)),
    ['10,000 nested arrays', deepArray(10_000)],
    ['a __proto__ object', '{"__proto__":{"polluted":true}}'],
  ];
  if (!types.includes('null')) values.push(['null', 'null']);
  if (types.includes('array') && schema.items?.enum) {
    const option = JSON.stringify(schema.items.enum[0]);
    values.push(
      ['an option alone, not in an array', option],
      ['an unknown option', '["evil"]'],
      ['an option in capitals', JSON.stringify([String(schema.items.enum[0]).toUpperCase()])],
      ['a number in it', '[1]'],
      ['null in it', '[null]'],
    );
    if (schema.maxItems !== undefined)
      values.push([
        `${schema.maxItems + 1} items`,
        `[${Array(schema.maxItems + 1)
          .fill(option)
          .join(',')}]`,
      ]);
  } else if (types.includes('object') && schema.properties) {
    // An object of known, optional keys (per-task tiers): unknown keys and bad values.
    const [key, valueSchema] = Object.entries(schema.properties)[0];
    const value = JSON.stringify(valueSchema.enum?.[0] ?? '');
    values.push(
      ['a string', '"x"'],
      ['a number', '1'],
      ['an unknown key', `{"evil":${value}}`],
      ['a constructor key', `{"constructor":${value}}`],
      ['a bad value', `{${JSON.stringify(key)}:"evil"}`],
      ['a null value', `{${JSON.stringify(key)}:null}`],
      ['a nested object', `{${JSON.stringify(key)}:{}}`],
    );
  } else if (schema.enum) {
    values.push(
      ['an unknown option', '"evil"'],
      ['an option in capitals', JSON.stringify(String(schema.enum[0]).toUpperCase())],
      ['an empty string', '""'],
      ['a number', '1'],
    );
  } else if (types.includes('string')) {
    // A patterned field (a model id) gets values that match the rest of its pattern.
    const prefix = schema.pattern ? 'openai/' : '';
    values.push(
      ['a number', '12345'],
      ['a boolean', 'true'],
      ['a lone surrogate', `"${prefix}a\\ud800b"`],
      ['a NUL byte', `"${prefix}a\\u0000b"`],
      ['CR LF', `"${prefix}a\\r\\nx-injected: 1"`],
      ['only spaces', '"   "'],
    );
    if (schema.maxLength !== undefined)
      values.push(
        [`${schema.maxLength + 1} characters`, JSON.stringify(prefix + 'x'.repeat(schema.maxLength + 1 - prefix.length))],
        ['60,000 characters', JSON.stringify(prefix + 'x'.repeat(60_000))],
      );
    if (schema.pattern) values.push(['no provider', '"gpt-4o-mini"'], ['an unknown provider', '"evil/gpt-4o-mini"'], ['a provider alone', '"openai/"']);
  } else if (types.includes('integer') || types.includes('number')) {
    values.push(
      ['a numeric string', '"5"'],
      ['a boolean', 'true'],
      ['"NaN"', '"NaN"'],
      ['Infinity (1e999)', '1e999'],
      ['-Infinity (-1e999)', '-1e999'],
      ['1e300', '1e300'],
      ['-1e300', '-1e300'],
    );
    if (types.includes('integer')) values.push(['a fraction', '1.5'], ['2^53 + 1', '9007199254740993']);
    if (schema.minimum !== undefined) values.push(['under its minimum', String(schema.minimum - 1)]);
    if (schema.exclusiveMinimum !== undefined) values.push(['its exclusive minimum', String(schema.exclusiveMinimum)], ['a negative number', '-1']);
    if (schema.maximum !== undefined) values.push(['over its maximum', String(schema.maximum + 1)]);
  } else if (types.includes('boolean')) {
    values.push(['a string', '"true"'], ['a number', '1']);
  } else if (types.includes('array') && schema.items) {
    // The array itself, then each hostile value of its items as its one item.
    values.push(['a string', '"x"'], ['a number', '1'], ['a boolean', 'true']);
    if (schema.maxItems !== undefined)
      values.push([`${schema.maxItems + 1} items`, `[${Array.from({ length: schema.maxItems + 1 }, (_, i) => i + 1).join(',')}]`]);
    for (const [what, raw] of hostileFieldValues(schema.items)) values.push([`an item that is ${what}`, `[${raw}]`]);
  } else {
    throw new Error(`no hostile values for a field of schema ${JSON.stringify(schema)}: add some to hostileFieldValues`);
  }
  return values;
}

/** A body with one field set to raw JSON text: `base` without that field, then the field. */
export function withField(base: Record<string, unknown>, field: string, raw: string): string {
  const { [field]: _dropped, ...rest } = base;
  const head = JSON.stringify(rest).slice(0, -1);
  return `${head}${Object.keys(rest).length ? ',' : ''}${JSON.stringify(field)}:${raw}}`;
}

export interface HostileQuery {
  what: string;
  /** The raw query string (without `?`). */
  query: string;
  /** A free-text filter: it may be answered (then with nothing it should not show), or refused. */
  mayAnswer: boolean;
}

const SQLISH = ["' OR 1=1 --", '1; DROP TABLE tenants; --', '" OR ""="', '%', '_'];
const enc = encodeURIComponent;

/** Hostile values for one query parameter, read from its schema. Throws for a schema it does not know. */
export function hostileQueryValues(name: string, schema: JsonSchema): HostileQuery[] {
  const types = typesOf(schema);
  // A date-time, or a choice of date forms (a date-time or a plain date).
  const formats = schema.anyOf ? schema.anyOf.map((alternative) => alternative.format) : [schema.format];
  const isDate = formats.every((f) => f === 'date-time' || f === 'date') && formats.length > 0 && formats[0] !== undefined;
  // Options or a pattern (group_by: `user`, or `tag:<key>`): its example is a valid value to spoil.
  const isChoice = !isDate && schema.anyOf?.every((alternative) => alternative.enum || alternative.pattern) && typeof schema.example === 'string';
  if (schema.anyOf && !isDate && !isChoice)
    throw new Error(`no hostile values for query parameter ${name} of schema ${JSON.stringify(schema)}: add some to hostileQueryValues`);
  const q = (what: string, value: string, mayAnswer = false): HostileQuery => ({ what: `${name} ${what}`, query: `${name}=${enc(value)}`, mayAnswer });
  // Repeated: an array where a single value is expected (unless the schema says array).
  const sample = schema.enum ? String(schema.enum[0]) : isDate ? '2026-01-01T00:00:00Z' : types.includes('integer') || types.includes('number') ? '10' : 'x';
  const values: HostileQuery[] = types.includes('array')
    ? []
    : [{ what: `${name} repeated`, query: `${name}=${enc(sample)}&${name}=${enc(sample)}`, mayAnswer: false }];
  if (schema.enum) {
    values.push(q('an unknown option', 'evil'), q('an empty value', ''), q('SQL', `${sample}' OR 1=1 --`), q('a NUL byte', `${sample}\u0000`));
  } else if (isChoice) {
    const example = String(schema.example);
    values.push(
      q('an unknown option', 'evil'),
      q('an empty value', ''),
      q('SQL', `${example}' OR 1=1 --`),
      q('a NUL byte', `${example}\u0000`),
      q('1,000 characters', `${example}${'x'.repeat(1000)}`),
    );
  } else if (isDate) {
    values.push(
      q('a word', 'yesterday'),
      q('February 30th', '2026-02-30T00:00:00Z'),
      q('February 30th, as a date', '2026-02-30'),
      q('month 13', '2026-13-01'),
      q('hour 25', '2026-01-01T25:00:00Z'),
      q('no offset', '2026-01-01T00:00:00'),
      q('epoch seconds', '1767225600'),
      q('SQL', `2026-01-01T00:00:00Z${SQLISH[0]}`),
      q('a NUL byte', '2026-01-01\u0000'),
      q('an empty value', ''),
      q('1,000 digits', '9'.repeat(1000)),
    );
  } else if (types.includes('integer') || types.includes('number')) {
    values.push(
      q('negative', '-5'),
      q('zero', '0'),
      q('1e9', '1e9'),
      q('letters', 'abc'),
      q('a fraction', '1.5'),
      q('empty', ''),
      q('Infinity', 'Infinity'),
      q('NaN', 'NaN'),
      q('SQL', '10 OR 1=1'),
    );
  } else if (types.includes('string')) {
    for (const value of SQLISH) values.push(q(`SQL ${value}`, value, !schema.pattern));
    values.push(
      q('a NUL byte', 'a\u0000b', !schema.pattern),
      q('a lone surrogate escape', '%ED%A0%80', !schema.pattern),
      q('10,000 characters', 'x'.repeat(10_000), schema.maxLength === undefined && !schema.pattern),
    );
    if (schema.maxLength !== undefined) values.push(q(`${schema.maxLength + 1} characters`, 'x'.repeat(schema.maxLength + 1)));
  } else {
    throw new Error(`no hostile values for query parameter ${name} of schema ${JSON.stringify(schema)}: add some to hostileQueryValues`);
  }
  return values;
}

/** Hostile values for a path parameter, raw (percent-encoded where it matters), some around a real one. */
export function hostilePathValues(): Array<[string, (real: string) => string]> {
  const swapCase = (text: string) => [...text].map((ch) => (ch === ch.toUpperCase() ? ch.toLowerCase() : ch.toUpperCase())).join('');
  return [
    ['an unknown id', () => 'ten_doesnotexist00'],
    ['a 10,000-character id', () => 'x'.repeat(10_000)],
    ['an encoded slash', () => 'a%2Fb'],
    ['an encoded ../..', () => '..%2F..%2Fadmin%2Ftenants'],
    ['encoded dots', () => '%2e%2e'],
    ['a NUL byte', () => '%00'],
    ['invalid UTF-8', () => '%ff'],
    ['a broken escape', () => '%E0%A4%A'],
    ['a lone surrogate', () => '%ED%A0%80'],
    ['CR LF', () => '%0d%0aX-Injected:%201'],
    ['SQL', () => "'%20OR%20'1'%3D'1"],
    ['a LIKE wildcard', () => '%25'],
    ['__proto__', () => '__proto__'],
    ['constructor', () => 'constructor'],
    ['the real id plus a NUL', (real) => `${real}%00`],
    ['the real id plus a space', (real) => `${real}%20`],
    ['the real id with its case swapped', swapCase],
    ['the real id cut short', (real) => real.slice(0, -1)],
    ['the real id plus SQL', (real) => `${real}'%20OR%20'1'%3D'1`],
  ];
}

// --- Shared checks -----------------------------------------------------------------------------

export interface ErrorBody {
  message: string;
  type: string;
  param: string | null;
  code: string | null;
}

/**
 * Checks a 4xx in OpenAI's error shape (JSON, with a request id), or in Anthropic's for the
 * routes that speak it; returns the error (an Anthropic error has its type and no code or param).
 */
export async function expectClientError(response: Response, status: number | number[]): Promise<ErrorBody> {
  const text = await response.text();
  expect(Array.isArray(status) ? status : [status], text.slice(0, 300)).toContain(response.status);
  expect(response.status).toBeGreaterThanOrEqual(400);
  expect(response.status).toBeLessThan(500);
  expect(response.headers.get('content-type')).toContain('application/json');
  expect(response.headers.get('x-request-id')).toMatch(/^req_/);
  if ((JSON.parse(text) as { type?: unknown }).type === 'error') {
    const anthropic = JSON.parse(text) as { type: string; error: { type: string; message: string }; request_id: string };
    expect(Object.keys(anthropic).sort()).toEqual(['error', 'request_id', 'type']);
    expect(Object.keys(anthropic.error).sort()).toEqual(['message', 'type']);
    expect(anthropic.error.type).toMatch(/^[a-z_]+_error$|^request_too_large$/);
    expect(response.headers.get('request-id')).toBe(anthropic.request_id);
    return { message: anthropic.error.message, type: anthropic.error.type, param: null, code: null };
  }
  const body = JSON.parse(text) as { error: ErrorBody };
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
  expect(typeof body.error.message).toBe('string');
  expect(body.error.message.length).toBeGreaterThan(0);
  expect(body.error.message.length).toBeLessThan(500);
  expect(body.error.type).toMatch(/^[a-z_]+$/);
  expect(body.error.param === null || typeof body.error.param === 'string').toBe(true);
  expect(body.error.code === null || typeof body.error.code === 'string').toBe(true);
  return body.error;
}

/** Everything a request could write: the admin tables in full, the rest by count, and KV's keys. */
export async function storedState(): Promise<Record<string, unknown>> {
  const statements = {
    tenants: 'SELECT * FROM tenants ORDER BY id',
    api_keys: 'SELECT * FROM api_keys ORDER BY id',
    price_overrides: 'SELECT * FROM price_overrides ORDER BY model',
    tenant_spend: 'SELECT * FROM tenant_spend ORDER BY 1, 2',
    key_spend: 'SELECT * FROM key_spend ORDER BY 1, 2',
    requests: 'SELECT COUNT(*) AS n FROM requests',
    request_attempts: 'SELECT COUNT(*) AS n FROM request_attempts',
    request_content: 'SELECT COUNT(*) AS n FROM request_content',
    alerts: 'SELECT COUNT(*) AS n FROM alerts',
    alert_deliveries: 'SELECT COUNT(*) AS n FROM alert_deliveries',
    evaluations: 'SELECT COUNT(*) AS n FROM evaluations',
    eval_spend: 'SELECT * FROM eval_spend ORDER BY month',
  };
  const results = await env.DB.batch(Object.values(statements).map((sql) => env.DB.prepare(sql)));
  const state: Record<string, unknown> = Object.fromEntries(Object.keys(statements).map((name, i) => [name, results[i].results]));
  state.kv = (await env.KV.list()).keys.map((k) => k.name).sort();
  return state;
}

/** Points every real provider at a path of the fake upstream that only this suite uses. */
export function isolatedUpstream() {
  const prefix = `/hostile-${crypto.randomUUID().slice(0, 8)}`;
  const paths = [
    `${prefix}/v1/chat/completions`,
    `${prefix}/v1/embeddings`,
    `${prefix}/v1/responses`,
    `${prefix}/v1/messages`,
    `${prefix}/v1/messages/count_tokens`,
  ];
  return {
    env: {
      OPENAI_BASE_URL: `${upstreamUrl()}${prefix}/v1`,
      OPENAI_API_KEY: TEST_OPENAI_KEY,
      ANTHROPIC_BASE_URL: `${upstreamUrl()}${prefix}`,
      ANTHROPIC_API_KEY: TEST_ANTHROPIC_KEY,
    },
    /** How many requests the fake upstream received from this suite. */
    async calls(): Promise<number> {
      const counts = await Promise.all(
        paths.map(async (path) => ((await (await fetch(`${upstreamUrl()}/__requests?path=${encodeURIComponent(path)}`)).json()) as unknown[]).length),
      );
      return counts.reduce((a, b) => a + b, 0);
    },
  };
}

/** Bad credentials: none of them may open an admin route or a proxy route. */
export function badCredentials(tenantApiKey: string, adminToken: string): Array<[string, Record<string, string>]> {
  return [
    ['no credentials', {}],
    ['an empty bearer', { authorization: 'Bearer ' }],
    ['a bare scheme', { authorization: 'Bearer' }],
    ['a tenant API key', { authorization: `Bearer ${tenantApiKey}` }],
    ['a wrong token', { authorization: 'Bearer not-the-admin-token' }],
    ['the admin token plus a character', { authorization: `Bearer ${adminToken}x` }],
    ['the admin token in capitals', { authorization: `Bearer ${adminToken.toUpperCase()}` }],
    ['the admin token cut short', { authorization: `Bearer ${adminToken.slice(0, -1)}` }],
    ['the admin token as Basic auth', { authorization: `Basic ${btoa(`admin:${adminToken}`)}` }],
    ['the admin token without a scheme', { authorization: adminToken }],
    ['the admin token in x-api-key', { 'x-api-key': adminToken }],
    ['the admin token in a cookie', { cookie: `token=${adminToken}` }],
    ['a 10,000-character token', { authorization: `Bearer ${'x'.repeat(10_000)}` }],
    ['two tokens', { authorization: `Bearer not-it, Bearer ${adminToken}` }],
  ];
}
