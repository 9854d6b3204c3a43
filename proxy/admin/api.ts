/**
 * The admin API: an OpenAPIHono app, so every route is validated by its zod schema and
 * documented in /admin/openapi.json from the same definition.
 */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import { analyticsEngineConfig, summaryFromAnalyticsEngine, timeseriesFromAnalyticsEngine } from '../../analytics/analytics-engine';
import { spendCsv, tenantSpend } from '../../analytics/finance';
import { checkArchive } from '../../analytics/archive';
import { queryRequestLog, requestDetail } from '../../analytics/requests';
import { isDimensionGroupBy } from '../../analytics/aggregate-query';
import { breakdown, summary } from '../../analytics/summary';
import { timeseries } from '../../analytics/timeseries';
import { unpricedCalls } from '../../analytics/unpriced';
import { listDeliveries } from '../alerts/deliveries';
import { checkTenantWebhook } from '../alerts/destinations';
import { AlertDeliveryPageSchema, AlertsQuery } from '../alerts/schemas';
import { routingQuality } from '../../analytics/routing-quality';
import { evalBudgetNano, evalSpendThisMonth } from '../evaluation/store';
import { adminAuth } from '../auth/admin-auth';
import { invalidRequest, ProxyError } from '../core/errors';
import { listPrices, setPriceOverride } from '../pricing/overrides';
import { storageReport } from '../request-log/storage';
import { createTenant, deleteTenant, getTenant, issueKey, listKeys, listTenants, revokeKey, updateKey, updateTenant } from '../tenants/store';
import { REFERENCE_PAGE } from './reference-page';
import { ErrorSchema, PriceEntrySchema, PriceSchema } from './schemas';
import { PRICES_AS_OF } from '../pricing/catalog';
import type { AppEnv } from '../http/context';
import type { Scope } from '../../analytics/aggregate';
import type { TagFilter } from '../../analytics/types';
import {
  AnalyticsQuery,
  BreakdownQuery,
  BreakdownSchema,
  ExportQuery,
  FilteredAnalyticsQuery,
  SpendSchema,
  SummarySchema,
  TimeseriesQuery,
  TimeseriesSchema,
  RequestLogQuery,
  RequestDetailSchema,
  RequestLogPageSchema,
  StorageSchema,
  ArchiveCheckSchema,
  UnpricedSchema,
  RoutingQualitySchema,
} from '../../analytics/schemas';
import {
  CreatedTenantSchema,
  IssuedKeySchema,
  KeyPatchSchema,
  KeySettingsSchema,
  KeySummarySchema,
  ModelIdSchema,
  TenantPatchSchema,
  TenantSchema,
  TenantSettingsSchema,
} from '../tenants/schemas';

const DAY_MS = 86_400_000;

/** `from`/`to` as epoch ms; the default window is the 24 hours before `to` (default now). */
function windowOf(q: { from?: string; to?: string }): { from: number; to: number } {
  const to = q.to ? Date.parse(q.to) : Date.now();
  const from = q.from ? Date.parse(q.from) : to - DAY_MS;
  if (from >= to) throw invalidRequest('`from` must be before `to`.', 'from', 'invalid_value');
  return { from, to };
}

/** A report's scope: its window, tenant and attribution filters (absent filters left out). */
const scopeOf = (q: { from?: string; to?: string; tenant?: string; user?: string; tag?: TagFilter }): Scope => ({
  ...windowOf(q),
  ...(q.tenant === undefined ? {} : { tenant: q.tenant }),
  ...(q.user === undefined ? {} : { user: q.user }),
  ...(q.tag === undefined ? {} : { tag: q.tag }),
});

const json = <T extends z.ZodType>(schema: T, description: string) => ({ content: { 'application/json': { schema } }, description });
const errors = {
  400: json(ErrorSchema, 'Invalid request'),
  401: json(ErrorSchema, 'Missing or wrong admin token'),
  503: json(ErrorSchema, 'ADMIN_TOKEN is not configured'),
};
const security = [{ AdminToken: [] }];
const ModelIdParam = ModelIdSchema.openapi({ param: { name: 'model', in: 'path' }, example: 'openai/gpt-4o-mini' });
const notFound = (what: string) => new ProxyError(404, `No ${what} with that id.`, { type: 'invalid_request_error', code: 'not_found' });

export const admin = new OpenAPIHono<AppEnv>({
  // Validation failures answer in the same OpenAI error shape as the rest of the proxy.
  defaultHook: (result) => {
    if (result.success) return;
    const issue = result.error.issues[0];
    // A strict body's unknown field is named as the param (it has no path of its own).
    if (issue.code === 'unrecognized_keys') {
      const key = [...issue.path, issue.keys[0]].join('.').slice(0, 100);
      throw invalidRequest(`Unrecognized parameter: '${key}'.`, key, 'unknown_parameter');
    }
    const param = issue.path.join('.') || null;
    throw invalidRequest(`Invalid value for '${param ?? 'body'}': ${issue.message}.`, param, 'invalid_value');
  },
});

// The OpenAPI document and its reference page are public: they describe the API and hold no data.
const PUBLIC_PATHS = new Set(['/admin/openapi.json', '/admin/docs']);
admin.use('*', async (c, next) => (PUBLIC_PATHS.has(c.req.path) ? next() : adminAuth(c, next)));
// Admin bodies are a few settings: anything larger is refused before it is read (after the token check).
export const MAX_ADMIN_BODY_BYTES = 64 * 1024;
admin.use(
  '*',
  bodyLimit({
    maxSize: MAX_ADMIN_BODY_BYTES,
    onError: () => {
      throw new ProxyError(413, `The request body is larger than the ${MAX_ADMIN_BODY_BYTES} bytes the admin API accepts.`, {
        type: 'invalid_request_error',
        code: 'request_too_large',
      });
    },
  }),
);
admin.openAPIRegistry.registerComponent('securitySchemes', 'AdminToken', { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN' });

const OPENAPI_INFO = {
  openapi: '3.1.0',
  info: {
    title: 'AI cost proxy admin API',
    version: '0.1.0',
    description: 'Tenants, keys, prices and the request log. Send `Authorization: Bearer <ADMIN_TOKEN>`. A readable reference is at /admin/docs.',
  },
};
admin.get('/openapi.json', (c) => {
  const doc = admin.getOpenAPI31Document(OPENAPI_INFO);
  // Hono's `{model{.+}}` (a parameter that may contain slashes) is plain `{model}` in OpenAPI.
  doc.paths = Object.fromEntries(Object.entries(doc.paths ?? {}).map(([path, item]) => [path.replace(/\{(\w+)\{[^}]*\}\}/g, '{$1}'), item]));
  return c.json(doc);
});
admin.get('/docs', (c) => c.html(REFERENCE_PAGE));

admin.openapi(
  createRoute({
    method: 'post',
    path: '/tenants',
    security,
    summary: 'Create a tenant and its first API key',
    request: { body: { content: { 'application/json': { schema: TenantSettingsSchema } }, required: true } },
    responses: { 201: json(CreatedTenantSchema, 'The tenant, with its API key shown once'), ...errors },
  }),
  async (c) => {
    const settings = c.req.valid('json');
    checkTenantWebhook(c.env, settings.alert_webhook_url);
    const { tenant, key } = await createTenant(c.env, settings);
    return c.json({ ...tenant, key_id: key.key_id, api_key: key.api_key, key_prefix: key.key_prefix }, 201);
  },
);

admin.openapi(
  createRoute({
    method: 'get',
    path: '/tenants',
    security,
    summary: 'List tenants',
    responses: { 200: json(z.object({ data: z.array(TenantSchema) }), 'All tenants'), ...errors },
  }),
  async (c) => c.json({ data: await listTenants(c.env) }, 200),
);

const TenantParams = z.object({ id: z.string().openapi({ param: { name: 'id', in: 'path' } }) });

admin.openapi(
  createRoute({
    method: 'get',
    path: '/tenants/{id}',
    security,
    summary: 'Get a tenant',
    request: { params: TenantParams },
    responses: { 200: json(TenantSchema, 'The tenant'), 404: json(ErrorSchema, 'No such tenant'), ...errors },
  }),
  async (c) => {
    const tenant = await getTenant(c.env, c.req.valid('param').id);
    if (!tenant) throw notFound('tenant');
    return c.json(tenant, 200);
  },
);

admin.openapi(
  createRoute({
    method: 'patch',
    path: '/tenants/{id}',
    security,
    summary: 'Change a tenant’s settings (takes effect on its next call)',
    request: { params: TenantParams, body: { content: { 'application/json': { schema: TenantPatchSchema } }, required: true } },
    responses: { 200: json(TenantSchema, 'The updated tenant'), 404: json(ErrorSchema, 'No such tenant'), ...errors },
  }),
  async (c) => {
    const patch = c.req.valid('json');
    checkTenantWebhook(c.env, patch.alert_webhook_url);
    const tenant = await updateTenant(c.env, c.req.valid('param').id, patch);
    if (!tenant) throw notFound('tenant');
    return c.json(tenant, 200);
  },
);

admin.openapi(
  createRoute({
    method: 'delete',
    path: '/tenants/{id}',
    security,
    summary: 'Delete a tenant and its keys (its request log stays)',
    request: { params: TenantParams },
    responses: { 200: json(z.object({ id: z.string(), deleted: z.literal(true) }), 'Deleted'), 404: json(ErrorSchema, 'No such tenant'), ...errors },
  }),
  async (c) => {
    const { id } = c.req.valid('param');
    if (!(await deleteTenant(c.env, id))) throw notFound('tenant');
    return c.json({ id, deleted: true as const }, 200);
  },
);

admin.openapi(
  createRoute({
    method: 'get',
    path: '/tenants/{id}/keys',
    security,
    summary: 'List a tenant’s keys (prefixes only), with their settings and month-to-date spend',
    request: { params: TenantParams },
    responses: { 200: json(z.object({ data: z.array(KeySummarySchema) }), 'The keys'), 404: json(ErrorSchema, 'No such tenant'), ...errors },
  }),
  async (c) => {
    const { id } = c.req.valid('param');
    if (!(await getTenant(c.env, id))) throw notFound('tenant');
    return c.json({ data: await listKeys(c.env, id) }, 200);
  },
);

admin.openapi(
  createRoute({
    method: 'post',
    path: '/tenants/{id}/keys',
    security,
    summary: 'Issue another API key for a tenant, with its own limits, budget and expiry if given (on top of the tenant’s)',
    request: {
      params: TenantParams,
      // Optional: a request without a body (and without a content-type) issues a key with no settings of its own.
      body: { content: { 'application/json': { schema: KeySettingsSchema } }, required: false },
    },
    responses: { 201: json(IssuedKeySchema, 'The key, shown once'), 404: json(ErrorSchema, 'No such tenant'), ...errors },
  }),
  async (c) => {
    const settings = c.req.valid('json');
    // A key that could never be used is a mistake; PATCH takes a past time (to expire a key now).
    if (settings.expires_at && Date.parse(settings.expires_at) <= Date.now()) {
      throw invalidRequest('`expires_at` is in the past: the key would never work.', 'expires_at', 'invalid_value');
    }
    const tenant = await getTenant(c.env, c.req.valid('param').id);
    if (!tenant) throw notFound('tenant');
    return c.json(await issueKey(c.env, tenant, settings), 201);
  },
);

const KeyParams = z.object({ key_id: z.string().openapi({ param: { name: 'key_id', in: 'path' } }) });

admin.openapi(
  createRoute({
    method: 'patch',
    path: '/keys/{key_id}',
    security,
    summary: 'Change a key’s name, limits, budget or expiry (null clears one; a past expires_at expires the key now)',
    request: { params: KeyParams, body: { content: { 'application/json': { schema: KeyPatchSchema } }, required: true } },
    responses: { 200: json(KeySummarySchema, 'The key'), 404: json(ErrorSchema, 'No such key, or a revoked one'), ...errors },
  }),
  async (c) => {
    const key = await updateKey(c.env, c.req.valid('param').key_id, c.req.valid('json'));
    if (!key) throw notFound('key');
    return c.json(key, 200);
  },
);

admin.openapi(
  createRoute({
    method: 'delete',
    path: '/keys/{key_id}',
    security,
    summary: 'Revoke an API key',
    request: { params: KeyParams },
    responses: { 200: json(z.object({ key_id: z.string(), revoked: z.literal(true) }), 'Revoked'), 404: json(ErrorSchema, 'No such live key'), ...errors },
  }),
  async (c) => {
    const { key_id } = c.req.valid('param');
    if (!(await revokeKey(c.env, key_id))) throw notFound('live key');
    return c.json({ key_id, revoked: true as const }, 200);
  },
);

admin.openapi(
  createRoute({
    method: 'get',
    path: '/requests',
    security,
    summary: 'The request log, newest first, cursor-paginated',
    request: { query: RequestLogQuery },
    responses: { 200: json(RequestLogPageSchema, 'One page of calls'), ...errors },
  }),
  async (c) => {
    const q = c.req.valid('query');
    return c.json(await queryRequestLog(c.env, { ...q, ...windowOf(q) }), 200);
  },
);

admin.openapi(
  createRoute({
    method: 'get',
    path: '/requests/{id}',
    security,
    summary: 'One call, with the upstream attempts that failed before its last one',
    request: { params: z.object({ id: z.string().max(100) }) },
    responses: { 200: json(RequestDetailSchema, 'The call'), 404: json(ErrorSchema, 'No such call'), ...errors },
  }),
  async (c) => {
    const detail = await requestDetail(c.env, c.req.valid('param').id);
    if (!detail) throw notFound('request');
    return c.json(detail, 200);
  },
);

admin.openapi(
  createRoute({
    method: 'get',
    path: '/alerts',
    security,
    summary: 'Alert deliveries, newest first, cursor-paginated: what was sent, when, to where (host only), and the outcome',
    request: { query: AlertsQuery },
    responses: { 200: json(AlertDeliveryPageSchema, 'One page of deliveries'), ...errors },
  }),
  async (c) => c.json(await listDeliveries(c.env.DB, c.req.valid('query')), 200),
);

admin.openapi(
  createRoute({
    method: 'get',
    path: '/analytics/summary',
    security,
    summary: 'Headline numbers of a window: requests, errors, tokens, cost, savings, cheap-tier share, cache hit rate, latency percentiles',
    request: { query: FilteredAnalyticsQuery },
    responses: { 200: json(SummarySchema, 'The summary'), ...errors },
  }),
  async (c) => {
    const q = c.req.valid('query');
    const scope = scopeOf(q);
    // The user and tag filters are D1's alone: exact, where Analytics Engine samples.
    const ae = q.user === undefined && q.tag === undefined ? analyticsEngineConfig(c.env) : null;
    c.header('x-analytics-source', ae ? 'analytics-engine' : 'd1');
    return c.json(ae ? await summaryFromAnalyticsEngine(ae, scope) : await summary(c.env.DB, scope), 200);
  },
);

admin.openapi(
  createRoute({
    method: 'get',
    path: '/analytics/breakdown',
    security,
    summary: 'The summary per tenant, model, tier, provider, endpoint, user, key or tag value (largest spend first); always from D1',
    request: { query: BreakdownQuery },
    responses: { 200: json(BreakdownSchema, 'One summary per group'), ...errors },
  }),
  async (c) => {
    const q = c.req.valid('query');
    c.header('x-analytics-source', 'd1');
    return c.json(await breakdown(c.env.DB, scopeOf(q), q.group_by), 200);
  },
);

admin.openapi(
  createRoute({
    method: 'get',
    path: '/analytics/timeseries',
    security,
    summary: 'The same numbers per minute, hour or day, optionally per tenant, model, tier, provider, endpoint, user, key or tag value',
    request: { query: TimeseriesQuery },
    responses: { 200: json(TimeseriesSchema, 'One series per group, every bucket present'), ...errors },
  }),
  async (c) => {
    const q = c.req.valid('query');
    const scope = scopeOf(q);
    const groupBy = q.group_by;
    // Users, keys, tags and their filters are D1's alone: exact, where Analytics Engine samples.
    const ae = q.user === undefined && q.tag === undefined ? analyticsEngineConfig(c.env) : null;
    const fromAe = ae !== null && isDimensionGroupBy(groupBy);
    c.header('x-analytics-source', fromAe ? 'analytics-engine' : 'd1');
    try {
      return c.json(fromAe ? await timeseriesFromAnalyticsEngine(ae, scope, q.interval, groupBy) : await timeseries(c.env.DB, scope, q.interval, groupBy), 200);
    } catch (error) {
      if (error instanceof RangeError) throw invalidRequest(error.message, 'interval', 'too_many_points');
      throw error;
    }
  },
);

admin.openapi(
  createRoute({
    method: 'get',
    path: '/analytics/spend',
    security,
    summary: 'Month-to-date spend per tenant, budget use, and a month-end forecast from the last 7 days',
    responses: { 200: json(SpendSchema, 'Per tenant'), ...errors },
  }),
  async (c) => c.json(await tenantSpend(c.env.DB), 200),
);

admin.openapi(
  createRoute({
    method: 'get',
    path: '/analytics/unpriced',
    security,
    summary: 'Calls served with no price in force (ALLOW_UNPRICED_MODELS), and the models to price',
    request: { query: AnalyticsQuery },
    responses: { 200: json(UnpricedSchema, 'Unpriced calls in the window'), ...errors },
  }),
  async (c) => {
    const q = c.req.valid('query');
    return c.json(await unpricedCalls(c.env.DB, { ...windowOf(q), ...(q.tenant ? { tenant: q.tenant } : {}) }), 200);
  },
);

admin.openapi(
  createRoute({
    method: 'get',
    path: '/analytics/routing-quality',
    security,
    summary: 'Shadow evaluation per task and tier: agreement of the cheap tier with a 95% interval, costs, the saving a move would bring, a recommendation',
    request: { query: AnalyticsQuery },
    responses: { 200: json(RoutingQualitySchema, 'Per task and served tier, with agreement over time and evaluation spend'), ...errors },
  }),
  async (c) => {
    const q = c.req.valid('query');
    const spend = { monthToDateNano: await evalSpendThisMonth(c.env), capNano: evalBudgetNano(c.env) };
    return c.json(await routingQuality(c.env.DB, { ...windowOf(q), ...(q.tenant ? { tenant: q.tenant } : {}) }, spend), 200);
  },
);

admin.openapi(
  createRoute({
    method: 'get',
    path: '/export.csv',
    security,
    summary: 'Spend per day, tenant, model and endpoint (or per day, tenant and `group_by`), as CSV (exact USD, 9 decimals)',
    request: { query: ExportQuery },
    responses: { 200: { content: { 'text/csv': { schema: z.string() } }, description: 'CSV with a header row' }, ...errors },
  }),
  async (c) => {
    const q = c.req.valid('query');
    const csv = await spendCsv(c.env.DB, windowOf(q), q.group_by);
    return c.body(csv, 200, { 'content-type': 'text/csv; charset=utf-8', 'content-disposition': 'attachment; filename="ai-proxy-spend.csv"' });
  },
);

admin.openapi(
  createRoute({
    method: 'get',
    path: '/storage',
    security,
    summary: "The request log's storage: D1's size against its limit, the R2 archive's progress, calls waiting in the overflow, and warnings",
    responses: { 200: json(StorageSchema, 'Where storage stands'), ...errors },
  }),
  async (c) => c.json(await storageReport(c.env), 200),
);

admin.openapi(
  createRoute({
    method: 'get',
    path: '/archive',
    security,
    summary: 'The R2 archive of raw rows checked against the daily rollups: calls and cost of every day archived',
    responses: { 200: json(ArchiveCheckSchema, 'One row per day archived, oldest first'), ...errors },
  }),
  async (c) => c.json({ data: await checkArchive(c.env.DB) }, 200),
);

admin.openapi(
  createRoute({
    method: 'get',
    path: '/prices',
    security,
    summary: 'Prices in force: the built-in table with overrides applied',
    responses: { 200: json(z.object({ data: z.array(PriceEntrySchema), as_of: z.string() }), 'USD per million tokens'), ...errors },
  }),
  async (c) => c.json({ data: await listPrices(c.env), as_of: PRICES_AS_OF }, 200),
);

admin.openapi(
  createRoute({
    method: 'put',
    path: '/prices/{model{.+}}',
    security,
    summary: 'Override (or add) the price of a model',
    request: {
      params: z.object({ model: ModelIdParam }),
      body: { content: { 'application/json': { schema: PriceSchema } }, required: true },
    },
    responses: { 200: json(PriceEntrySchema, 'The price now in force'), ...errors },
  }),
  async (c) => {
    const { model } = c.req.valid('param');
    await setPriceOverride(c.env, model, c.req.valid('json'));
    const entry = (await listPrices(c.env)).find((p) => p.model === model)!;
    return c.json(entry, 200);
  },
);
