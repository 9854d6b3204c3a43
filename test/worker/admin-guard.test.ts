/**
 * What guards the admin token beyond comparing it: deployed, an ADMIN_TOKEN shorter than 32
 * characters closes the admin API with a clear 503 (locally, ENVIRONMENT=development allows the
 * short well-known ones); an address that keeps presenting wrong tokens gets 429 with
 * retry-after, before its next token is even compared, while right tokens are never held back.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FAILED_LOGIN_WINDOW_MS, MAX_FAILED_ADMIN_LOGINS } from '../../proxy/auth/admin-guard';
import type { Env } from '../../proxy/core/env';
import { callProxy, TEST_ADMIN_TOKEN } from './harness';

afterEach(() => {
  vi.restoreAllMocks();
});

type ErrorBody = { error: { type: string; code: string; message: string } };

/** GET /admin/tenants with `token`, from `address` when given. */
const adminCallIn = (token: string, address?: string, env: Partial<Env> = {}) =>
  callProxy('/admin/tenants', { headers: { authorization: `Bearer ${token}`, ...(address ? { 'cf-connecting-ip': address } : {}) } }, env);

/** A client address no other test uses (the counts live in the isolate's memory). */
const newAddress = () => `203.0.113.${Math.floor(Math.random() * 250) + 1}-${crypto.randomUUID().slice(0, 8)}`;

describe('a weak ADMIN_TOKEN, deployed', () => {
  // Deployed: no ENVIRONMENT=development, which npm start and the tests set.
  const deployed = (adminToken: string | undefined): Partial<Env> => ({ ENVIRONMENT: undefined, ADMIN_TOKEN: adminToken });

  it('closes every admin route with a 503 that says why, even to the right token', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    for (const token of ['dev-admin-token', 'x'.repeat(31)]) {
      for (const path of ['/admin/tenants', '/admin/analytics/summary', '/admin/prices']) {
        const call = await callProxy(path, { headers: { authorization: `Bearer ${token}` } }, deployed(token));
        expect(call.response.status, path).toBe(503);
        const text = await call.response.text();
        expect(text).not.toContain(token);
        const body = JSON.parse(text) as ErrorBody;
        expect(body.error).toMatchObject({ type: 'server_error', code: 'admin_token_too_short' });
        expect(body.error.message).toContain('shorter than 32 characters');
      }
    }
    expect(errors.mock.calls.some((c) => String(c[0]).includes('ADMIN_TOKEN is shorter than 32 characters'))).toBe(true);
  });

  it('serves a token of 32 characters or more, and a short one under local development', async () => {
    const strong = 'a-strong-admin-token-of-32-chars';
    expect(strong.length).toBe(32);
    expect((await adminCallIn(strong, undefined, deployed(strong))).response.status).toBe(200);
    expect((await adminCallIn('dev-admin-token', undefined, { ENVIRONMENT: 'development', ADMIN_TOKEN: 'dev-admin-token' })).response.status).toBe(200);
    // The check is the deployment's, not the caller's: a wrong token still gets 401.
    expect((await adminCallIn('wrong', undefined, deployed(strong))).response.status).toBe(401);
  });

  it('still leaves the admin API closed (admin_disabled), not open, without a token', async () => {
    const call = await adminCallIn('anything', undefined, deployed(undefined));
    expect(call.response.status).toBe(503);
    expect(((await call.response.json()) as ErrorBody).error.code).toBe('admin_disabled');
  });
});

describe('failed admin logins', () => {
  // Deployed (no ENVIRONMENT=development), with a token long enough to be accepted there.
  const RIGHT = 'a-deployed-admin-token-of-40-characters!';
  const deployedEnv: Partial<Env> = { ENVIRONMENT: undefined, ADMIN_TOKEN: RIGHT };
  const adminCall = (token: string, address?: string) => adminCallIn(token, address, deployedEnv);

  it(`slow an address down after ${MAX_FAILED_ADMIN_LOGINS} wrong tokens: 429 with retry-after, before the next token is compared`, async () => {
    const address = newAddress();
    for (let i = 0; i < MAX_FAILED_ADMIN_LOGINS; i++) {
      const call = await adminCall(`wrong-${i}`, address);
      expect(call.response.status, `wrong token ${i + 1}`).toBe(401);
    }
    const compared = vi.spyOn(crypto.subtle, 'timingSafeEqual');
    for (const token of ['wrong-again', RIGHT]) {
      const call = await adminCall(token, address);
      expect(call.response.status, token).toBe(429);
      const retryAfter = Number(call.response.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(FAILED_LOGIN_WINDOW_MS / 1000);
      expect(((await call.response.json()) as ErrorBody).error).toMatchObject({ type: 'rate_limit_error', code: 'too_many_failed_logins' });
    }
    expect(compared).not.toHaveBeenCalled();
    // Another address is not held to them.
    expect((await adminCall(RIGHT, newAddress())).response.status).toBe(200);
  });

  it('count only wrong tokens: right ones are never slowed, and clear the wrong ones before them', async () => {
    const address = newAddress();
    for (let i = 0; i < MAX_FAILED_ADMIN_LOGINS * 3; i++) expect((await adminCall(RIGHT, address)).response.status).toBe(200);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < MAX_FAILED_ADMIN_LOGINS - 1; i++) expect((await adminCall(`typo-${i}`, address)).response.status).toBe(401);
      expect((await adminCall(RIGHT, address)).response.status).toBe(200);
    }
  });

  it('count no request without a bearer token: it cannot be a guess', async () => {
    const address = newAddress();
    for (let i = 0; i < MAX_FAILED_ADMIN_LOGINS * 2; i++) {
      const call = await callProxy(
        '/admin/tenants',
        { headers: { 'cf-connecting-ip': address, ...(i % 2 ? { authorization: `Basic ${btoa('a:b')}` } : {}) } },
        deployedEnv,
      );
      expect(call.response.status).toBe(401);
    }
    expect((await adminCall(RIGHT, address)).response.status).toBe(200);
  });

  it('are not counted in local development, whose token may be the well-known one: the developer is never locked out', async () => {
    const address = newAddress();
    for (let i = 0; i < MAX_FAILED_ADMIN_LOGINS * 2; i++) expect((await adminCallIn(`typo-${i}`, address)).response.status).toBe(401);
    expect((await adminCallIn(TEST_ADMIN_TOKEN, address)).response.status).toBe(200);
  });
});
