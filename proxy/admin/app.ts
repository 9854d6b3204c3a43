/**
 * The admin API: an OpenAPIHono app, so every route is validated by its zod schema and
 * documented in /admin/openapi.json from the same definition.
 */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { queryRequestLog } from '../../analytics/requests';
import { adminAuth } from '../auth/admin-auth';
import type { AppEnv } from '../context';
import { invalidRequest, ProxyError } from '../errors';
import { createTenant, getTenant, issueKey, listTenants, revokeKey } from '../tenants';
import {
  CreatedTenantSchema, ErrorSchema, IssuedKeySchema, RequestLogQuery, RequestLogRowSchema, TenantSchema, TenantSettingsSchema,
} from './schemas';

const DAY_MS = 86_400_000;

const json = <T extends z.ZodType>(schema: T, description: string) => ({ content: { 'application/json': { schema } }, description });
const errors = {
  400: json(ErrorSchema, 'Invalid request'),
  401: json(ErrorSchema, 'Missing or wrong admin token'),
  503: json(ErrorSchema, 'ADMIN_TOKEN is not configured'),
};
const security = [{ AdminToken: [] }];
const notFound = (what: string) => new ProxyError(404, `No ${what} with that id.`, 'invalid_request_error', 'not_found');

export const admin = new OpenAPIHono<AppEnv>({
  // Validation failures answer in the same OpenAI error shape as the rest of the proxy.
  defaultHook: (result) => {
    if (result.success) return;
    const issue = result.error.issues[0];
    const param = issue.path.join('.') || null;
    throw invalidRequest(`Invalid value for '${param ?? 'body'}': ${issue.message}.`, param, 'invalid_value');
  },
});

// The OpenAPI document is public: it describes the API and holds no data.
admin.use('*', async (c, next) => (c.req.path.endsWith('/openapi.json') ? next() : adminAuth(c, next)));
admin.openAPIRegistry.registerComponent('securitySchemes', 'AdminToken', { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN' });
admin.doc31('/openapi.json', {
  openapi: '3.1.0',
  info: { title: 'AI cost proxy admin API', version: '0.1.0', description: 'Tenants, keys and the request log. Bearer ADMIN_TOKEN.' },
});

admin.openapi(
  createRoute({
    method: 'post', path: '/tenants', security, summary: 'Create a tenant and its first API key',
    request: { body: { content: { 'application/json': { schema: TenantSettingsSchema } }, required: true } },
    responses: { 201: json(CreatedTenantSchema, 'The tenant, with its API key shown once'), ...errors },
  }),
  async (c) => {
    const { tenant, key } = await createTenant(c.env, c.req.valid('json'));
    return c.json({ ...tenant, key_id: key.key_id, api_key: key.api_key, key_prefix: key.key_prefix }, 201);
  },
);

admin.openapi(
  createRoute({
    method: 'get', path: '/tenants', security, summary: 'List tenants',
    responses: { 200: json(z.object({ data: z.array(TenantSchema) }), 'All tenants'), ...errors },
  }),
  async (c) => c.json({ data: await listTenants(c.env) }, 200),
);

const TenantParams = z.object({ id: z.string().openapi({ param: { name: 'id', in: 'path' } }) });

admin.openapi(
  createRoute({
    method: 'get', path: '/tenants/{id}', security, summary: 'Get a tenant',
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
    method: 'post', path: '/tenants/{id}/keys', security, summary: 'Issue another API key for a tenant',
    request: { params: TenantParams },
    responses: { 201: json(IssuedKeySchema, 'The key, shown once'), 404: json(ErrorSchema, 'No such tenant'), ...errors },
  }),
  async (c) => {
    const tenant = await getTenant(c.env, c.req.valid('param').id);
    if (!tenant) throw notFound('tenant');
    return c.json(await issueKey(c.env, tenant), 201);
  },
);

admin.openapi(
  createRoute({
    method: 'delete', path: '/keys/{key_id}', security, summary: 'Revoke an API key',
    request: { params: z.object({ key_id: z.string().openapi({ param: { name: 'key_id', in: 'path' } }) }) },
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
    method: 'get', path: '/requests', security, summary: 'The request log, newest first, cursor-paginated',
    request: { query: RequestLogQuery },
    responses: { 200: json(z.object({ data: z.array(RequestLogRowSchema), next_cursor: z.string().nullable() }), 'One page of calls'), ...errors },
  }),
  async (c) => {
    const q = c.req.valid('query');
    const to = q.to ? Date.parse(q.to) : Date.now();
    const from = q.from ? Date.parse(q.from) : to - DAY_MS;
    return c.json(await queryRequestLog(c.env.DB, { ...q, from, to }), 200);
  },
);
