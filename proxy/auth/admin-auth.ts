/**
 * Guards /admin/* with ADMIN_TOKEN, compared in constant time. Without a configured token the
 * admin API is closed (503) rather than open; deployed, so it is with a token shorter than 32
 * characters. Deployed, an address that keeps presenting wrong tokens waits (429) before its next
 * one is compared (admin-guard.ts).
 */
import type { MiddlewareHandler } from 'hono';
import { invalidApiKey, ProxyError } from '../core/errors';
import {
  adminLoginSucceeded,
  adminLoginWait,
  adminTokenProblem,
  failedAdminLogin,
  isLocalDevelopment,
  tooManyFailedLogins,
  weakAdminToken,
} from './admin-guard';
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
  const problem = adminTokenProblem(c.env);
  if (problem) throw weakAdminToken(problem);
  // Cloudflare sets it on every request from outside; without it (a service binding, a test) nothing is counted.
  // Nor in local development, whose token may be the well-known dev one: slowing guesses there
  // protects nothing, and would lock the developer (every local request comes from 127.0.0.1) out.
  const address = isLocalDevelopment(c.env) ? undefined : c.req.header('cf-connecting-ip');
  const wait = address ? adminLoginWait(address) : 0;
  if (wait > 0) throw tooManyFailedLogins(wait);
  const token = bearerToken(c.req.raw);
  if (!token || !(await secretsEqual(token, expected))) {
    // Only a bearer token can be a guess at this one; a missing or other header is refused alone.
    if (token && address) failedAdminLogin(address);
    throw invalidApiKey('A valid admin token is required: Authorization: Bearer <ADMIN_TOKEN>.');
  }
  if (address) adminLoginSucceeded(address);
  await next();
};
