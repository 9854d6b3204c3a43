/** Authenticates the tenant API key on /v1/*: `Authorization: Bearer` (OpenAI's convention, and Claude Code's auth token) or `x-api-key` (Anthropic's). */
import type { MiddlewareHandler } from 'hono';
import { invalidApiKey } from '../core/errors';
import { authenticateKey } from '../tenants/store';
import { clientKey } from './keys';
import type { AppEnv } from '../http/context';

export const tenantAuth: MiddlewareHandler<AppEnv> = async (c, next) => {
  const token = clientKey(c.req.raw);
  if (!token) throw invalidApiKey("You didn't provide an API key. Send it as 'Authorization: Bearer <key>' or 'x-api-key: <key>'.");
  const tenant = await authenticateKey(c.env, token);
  if (!tenant) throw invalidApiKey('Incorrect API key provided. Ask your administrator for a valid key.');
  // The expiry rides on the key's cached entry: checked on every call, at no cost.
  const expiresAt = tenant.key.expires_at;
  if (expiresAt !== null && Date.parse(expiresAt) <= Date.now()) {
    throw invalidApiKey(`This API key expired at ${expiresAt}. Ask your administrator to extend it or for a new key.`);
  }
  c.set('tenant', tenant);
  await next();
};
