/**
 * CORS, off unless configured: CORS_ALLOWED_ORIGINS opens /v1/* to browser apps on those
 * origins (they still need a tenant key), ADMIN_CORS_ALLOWED_ORIGINS opens /admin/* (the
 * dashboard needs none: it is served from the same origin). Comma-separated origins, or `*`.
 * Unconfigured, no CORS header is ever sent and preflights get the usual 404, so browsers on
 * other origins cannot read the answers.
 */
import type { MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import type { Env } from '../core/env';
import type { AppEnv } from './context';

export function corsFor(setting: (env: Env) => string | undefined, options: { allowHeaders?: string[]; exposeHeaders: string[] }): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const origins = (setting(c.env) ?? '')
      .split(',')
      .map((o) => o.trim())
      .filter(Boolean);
    if (origins.length === 0) return next();
    return cors({ origin: origins.includes('*') ? '*' : origins, maxAge: 600, ...options })(c, next);
  };
}
