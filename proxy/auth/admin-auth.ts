/**
 * Guards /admin/* with ADMIN_TOKEN, compared in constant time. Without a configured token the
 * admin API is closed (503) rather than open.
 */
import type { MiddlewareHandler } from 'hono';
import { invalidApiKey, ProxyError } from '../core/errors';
import { bearerToken, secretsEqual } from './keys';
import type { AppEnv } from '../http/context';

export const adminAuth: MiddlewareHandler<AppEnv> = async (c, next) => {
  const expected = c.env.ADMIN_TOKEN;
  if (!expected) {
    throw new ProxyError(503, 'The admin API is disabled: set the ADMIN_TOKEN secret (wrangler secret put ADMIN_TOKEN).', {
      type: 'server_error',
      code: 'admin_disabled',
    });
  }
  const token = bearerToken(c.req.raw);
  if (!token || !(await secretsEqual(token, expected))) throw invalidApiKey('A valid admin token is required: Authorization: Bearer <ADMIN_TOKEN>.');
  await next();
};
