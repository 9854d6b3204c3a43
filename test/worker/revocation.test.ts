/**
 * Revocation and deletion cannot be undone (issue #16): D1 first, KV entries that expire and
 * are checked against D1 again past KEY_CHECK_MAX_AGE_MS, no write path that brings a revoked
 * key's entry back, and a revoke that can be retried until KV is clean. KV failures are
 * injected per call with a KV binding whose chosen operations fail; races are made by running
 * the racing admin call from inside the KV write of the call it races.
 */
import { describe, expect, it } from 'vitest';
import { generateApiKey, sha256Hex } from '../../proxy/auth/keys';
import { FRESH_MS, isRevoked, KEY_CHECK_MAX_AGE_MS, markRevoked, recalledKey, rememberKey } from '../../proxy/tenants/key-cache';
import type { TenantContext } from '../../proxy/tenants/schemas';
import { KEY_ENTRY_TTL_S } from '../../proxy/tenants/store';
import { createTestTenant } from './fixtures';
import { callAdmin, env, postJson } from './harness';

const hello = { model: 'cheap', messages: [{ role: 'user', content: 'hello' }] };
const ask = (apiKey: string, kv?: KVNamespace) => postJson('/v1/chat/completions', hello, { apiKey, ...(kv ? { env: { KV: kv } } : {}) });
const status = async (call: Promise<{ response: Response }>) => {
  const { response } = await call;
  await response.arrayBuffer();
  return response.status;
};
const jsonOf = async <T = Record<string, any>>(call: { response: Response }) => (await call.response.json()) as T;

const entryName = (keyHash: string) => `apikey:${keyHash}`;
const entryOf = (keyHash: string) => env.KV.get<TenantContext & { checkedAt?: number }>(entryName(keyHash), 'json');
/** When KV will expire the entry, in epoch seconds (undefined: never). */
async function expirationOf(keyHash: string): Promise<number | undefined> {
  const { keys } = await env.KV.list({ prefix: entryName(keyHash) });
  expect(keys).toHaveLength(1);
  return keys[0].expiration;
}

type KvOp = 'get' | 'put' | 'delete';
/** The test KV, with some operations replaced (each replacement gets the real binding to call through). */
function kvWith(overrides: Partial<Record<KvOp, (real: KVNamespace, ...args: any[]) => Promise<unknown>>>): KVNamespace {
  const real = env.KV;
  const op = (name: KvOp) => (overrides[name] ? (...args: any[]) => overrides[name]!(real, ...args) : (real[name] as Function).bind(real));
  return { get: op('get'), put: op('put'), delete: op('delete'), list: real.list.bind(real), getWithMetadata: real.getWithMetadata.bind(real) } as KVNamespace;
}
const failing = (what: string) => () => Promise.reject(new Error(`KV ${what} failed (injected by the test)`));
/**
 * A KV whose write of an entry named by `matches` first runs `race` (the racing call lands
 * between the D1 read and the KV write), once. What the racing call answered is kept in
 * `raced`: code under test may swallow a failed write, so it is checked after, not in, the put.
 */
function racingPut(matches: (name: string) => boolean, race: () => Promise<{ response: Response }>) {
  const raced: { status?: number; body?: unknown; name?: string } = {};
  const kv = kvWith({
    put: async (real, name: string, ...rest: any[]) => {
      if (raced.status === undefined && matches(name)) {
        const { response } = await race();
        Object.assign(raced, { status: response.status, body: await response.json(), name });
      }
      return real.put(name, ...(rest as [string]));
    },
  });
  return { kv, raced };
}

/** A tenant and key written straight to D1, as by another isolate: this one has never seen them, nor has KV. */
async function keyFromElsewhere({ revoked = false } = {}) {
  const apiKey = generateApiKey();
  const keyHash = await sha256Hex(apiKey);
  const tenantId = `ten_${crypto.randomUUID().slice(0, 12)}`;
  const keyId = `key_${crypto.randomUUID().slice(0, 12)}`;
  await env.DB.batch([
    env.DB.prepare("INSERT INTO tenants (id, name, routing, cache_ttl_s, created_at, updated_at) VALUES (?, 'Elsewhere', 'passthrough', 3600, 0, 0)").bind(
      tenantId,
    ),
    env.DB.prepare("INSERT INTO api_keys (id, tenant_id, key_hash, key_prefix, created_at, revoked_at) VALUES (?, ?, ?, 'sk-proxy-xxxx', 0, ?)").bind(
      keyId,
      tenantId,
      keyHash,
      revoked ? 1 : null,
    ),
  ]);
  return { apiKey, keyHash, tenantId, keyId };
}

/**
 * The KV entry a location would hold for that key, checked against D1 at `checkedAt` (none:
 * written before checks existed); `keySettings: false` as written before keys had settings,
 * `promptCacheSalt: false` as written before tenants had prompt-cache salts.
 */
async function plantEntry(key: { keyHash: string; tenantId: string; keyId: string }, checkedAt?: number, { keySettings = true, promptCacheSalt = true } = {}) {
  const tenant = { name: 'Elsewhere', rpm: null, tpm: null, monthly_budget_usd: null, routing: 'passthrough', cache_ttl_s: 3600 };
  const entry = {
    tenantId: key.tenantId,
    keyId: key.keyId,
    tenant: { ...tenant, cheap_model: null, expensive_model: null, rate_limit_store: 'kv', store_content: false, prompt_cache: 'shared' },
    ...(keySettings ? { key: { name: null, rpm: null, tpm: null, monthly_budget_usd: null, expires_at: null } } : {}),
    ...(promptCacheSalt ? { promptCacheSalt: '0123456789abcdef01234567' } : {}),
  };
  await env.KV.put(entryName(key.keyHash), JSON.stringify(checkedAt === undefined ? entry : { ...entry, checkedAt }));
}

const revokedAt = async (keyId: string) =>
  (await env.DB.prepare('SELECT revoked_at FROM api_keys WHERE id = ?').bind(keyId).first<{ revoked_at: number | null }>())?.revoked_at;

describe('the bound: KEY_CHECK_MAX_AGE_MS', () => {
  it('is what every KV entry lives for, from each writer', async () => {
    expect(KEY_ENTRY_TTL_S).toBe(KEY_CHECK_MAX_AGE_MS / 1000);
    const before = Date.now();
    const tenant = await createTestTenant();
    const hash = await sha256Hex(tenant.apiKey);
    const expectBounded = async () => {
      const entry = await entryOf(hash);
      expect(entry?.checkedAt).toBeGreaterThanOrEqual(before);
      expect(entry?.checkedAt).toBeLessThanOrEqual(Date.now());
      const expiration = await expirationOf(hash);
      expect(expiration).toBeGreaterThanOrEqual(Math.floor(before / 1000) + KEY_ENTRY_TTL_S);
      expect(expiration).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + KEY_ENTRY_TTL_S);
    };
    await expectBounded(); // issued

    const other = await keyFromElsewhere();
    expect(await status(ask(other.apiKey))).toBe(200); // refilled from D1
    expect((await entryOf(other.keyHash))?.checkedAt).toBeGreaterThanOrEqual(before);
    expect(await expirationOf(other.keyHash)).toBeGreaterThanOrEqual(Math.floor(before / 1000) + KEY_ENTRY_TTL_S);

    expect((await callAdmin(`/admin/tenants/${tenant.id}`, { method: 'PATCH', json: { rpm: 7 } })).response.status).toBe(200);
    await expectBounded(); // rewritten
    expect((await entryOf(hash))?.tenant.rpm).toBe(7);
  });

  it("bounds this isolate's memory by the check, not only by the read", () => {
    const context = { tenantId: 'ten_m', keyId: 'key_m' } as TenantContext;
    const now = Date.now();
    rememberKey('hash-recent', context, now - 1000, now);
    expect(recalledKey('hash-recent', FRESH_MS, now)).toBe(context);
    expect(recalledKey('hash-recent', FRESH_MS, now + FRESH_MS)).toBeNull(); // read too long ago: look it up again
    expect(recalledKey('hash-recent', Infinity, now + FRESH_MS)).toBe(context); // ...but KV and D1 down: still served
    expect(recalledKey('hash-recent', Infinity, now - 1000 + KEY_CHECK_MAX_AGE_MS)).toBeNull(); // not past the bound

    // Read just now, from an entry checked almost a bound ago: served only until the bound.
    rememberKey('hash-old-check', context, now - KEY_CHECK_MAX_AGE_MS + 5, now);
    expect(recalledKey('hash-old-check', FRESH_MS, now)).toBe(context);
    expect(recalledKey('hash-old-check', FRESH_MS, now + 5)).toBeNull();
    expect(recalledKey('hash-old-check', Infinity, now + 5)).toBeNull();
  });

  it('never lets a key marked revoked be remembered again, whatever a lookup in flight returns', () => {
    const context = { tenantId: 'ten_r', keyId: 'key_r' } as TenantContext;
    rememberKey('hash-revoked', context, Date.now());
    markRevoked('hash-revoked');
    expect(recalledKey('hash-revoked', Infinity)).toBeNull();
    rememberKey('hash-revoked', context, Date.now());
    expect(recalledKey('hash-revoked', Infinity)).toBeNull();
    expect(isRevoked('hash-revoked')).toBe(true);
  });
});

describe('an entry left in KV for a revoked key (a stale location, a failed delete)', () => {
  it('is served only until its check is a bound old; then D1 refuses the key and the entry goes', async () => {
    // Within the bound KV is trusted: this is the window the bound limits.
    const recent = await keyFromElsewhere({ revoked: true });
    await plantEntry(recent, Date.now() - KEY_CHECK_MAX_AGE_MS + 60_000);
    expect(await status(ask(recent.apiKey))).toBe(200);

    const stale = await keyFromElsewhere({ revoked: true });
    await plantEntry(stale, Date.now() - KEY_CHECK_MAX_AGE_MS - 1);
    expect(await status(ask(stale.apiKey))).toBe(401);
    expect(await entryOf(stale.keyHash)).toBeNull();
    expect(await status(ask(stale.apiKey))).toBe(401);
  });

  it('is checked again when it predates checks (written by an earlier version, never expiring)', async () => {
    const legacy = await keyFromElsewhere({ revoked: true });
    await plantEntry(legacy);
    expect(await expirationOf(legacy.keyHash)).toBeUndefined();
    expect(await status(ask(legacy.apiKey))).toBe(401);
    expect(await entryOf(legacy.keyHash)).toBeNull();
  });

  it('is checked again when it predates key settings (written by an earlier version)', async () => {
    const legacy = await keyFromElsewhere({ revoked: true });
    await plantEntry(legacy, Date.now(), { keySettings: false });
    expect(await status(ask(legacy.apiKey))).toBe(401);
    expect(await entryOf(legacy.keyHash)).toBeNull();
  });

  it('is checked again when it predates prompt-cache salts (written by an earlier version)', async () => {
    const legacy = await keyFromElsewhere({ revoked: true });
    await plantEntry(legacy, Date.now(), { promptCacheSalt: false });
    expect(await status(ask(legacy.apiKey))).toBe(401);
    expect(await entryOf(legacy.keyHash)).toBeNull();
  });

  it('of a live key is checked and rewritten with a fresh check and an expiry', async () => {
    const live = await keyFromElsewhere();
    await plantEntry(live);
    const before = Date.now();
    expect(await status(ask(live.apiKey))).toBe(200);
    expect((await entryOf(live.keyHash))?.checkedAt).toBeGreaterThanOrEqual(before);
    expect(await expirationOf(live.keyHash)).toBeGreaterThanOrEqual(Math.floor(before / 1000) + KEY_ENTRY_TTL_S);
  });

  it('of a key whose tenant is gone is refused: a refill needs a live key and its tenant', async () => {
    const orphan = await keyFromElsewhere();
    await plantEntry(orphan, Date.now() - KEY_CHECK_MAX_AGE_MS - 1);
    await env.DB.prepare('DELETE FROM tenants WHERE id = ?').bind(orphan.tenantId).run(); // cascades to the key
    expect(await status(ask(orphan.apiKey))).toBe(401);
    expect(await entryOf(orphan.keyHash)).toBeNull();
  });
});

describe('DELETE /admin/keys/{key_id} when KV fails', () => {
  it('revokes in D1, refuses the key here at once, says KV is not clean, and a retry cleans it', async () => {
    const tenant = await createTestTenant();
    const hash = await sha256Hex(tenant.apiKey);
    expect(await status(ask(tenant.apiKey))).toBe(200);

    const failed = await callAdmin(`/admin/keys/${tenant.keyId}`, { method: 'DELETE' }, { KV: kvWith({ delete: failing('delete') }) });
    expect(failed.response.status).toBe(503);
    expect(failed.response.headers.get('retry-after')).toBe('5');
    const { error } = await jsonOf(failed);
    expect(error).toMatchObject({ type: 'server_error', code: 'revocation_incomplete' });
    expect(error.message).toContain(`${KEY_CHECK_MAX_AGE_MS / 60_000} minutes`);

    // The revocation stands: in D1, and in this isolate at once, though KV still holds the entry.
    const revoked = await revokedAt(tenant.keyId);
    expect(revoked).toEqual(expect.any(Number));
    const left = await entryOf(hash);
    expect(left).not.toBeNull();
    expect(await status(ask(tenant.apiKey))).toBe(401);
    expect(await status(ask(tenant.apiKey, kvWith({ get: async () => null })))).toBe(401); // a KV miss: no refill
    expect(await entryOf(hash)).toEqual(left);
    // Elsewhere the entry is trusted only until a bound after a check made before the revocation.
    expect(left!.checkedAt).toBeLessThanOrEqual(revoked!);
    expect(await expirationOf(hash)).toBeLessThanOrEqual(Math.ceil(revoked! / 1000) + KEY_ENTRY_TTL_S);

    // A retry while KV still fails says so again; one that gets through cleans KV and succeeds.
    expect((await callAdmin(`/admin/keys/${tenant.keyId}`, { method: 'DELETE' }, { KV: kvWith({ delete: failing('delete') }) })).response.status).toBe(503);
    const retried = await callAdmin(`/admin/keys/${tenant.keyId}`, { method: 'DELETE' });
    expect(retried.response.status).toBe(200);
    expect(await jsonOf(retried)).toEqual({ key_id: tenant.keyId, revoked: true });
    expect(await entryOf(hash)).toBeNull();
    expect(await revokedAt(tenant.keyId)).toBe(revoked); // revoked once, at the first call

    // Nothing left to clean: a revoked key is not live.
    const again = await callAdmin(`/admin/keys/${tenant.keyId}`, { method: 'DELETE' });
    expect(again.response.status).toBe(404);
    expect((await jsonOf(again)).error.message).toContain('already revoked');
    expect((await callAdmin('/admin/keys/key_nope', { method: 'DELETE' })).response.status).toBe(404);
  });

  it('revokes in D1 even when KV is down altogether', async () => {
    const tenant = await createTestTenant();
    const down = kvWith({ get: failing('get'), put: failing('put'), delete: failing('delete') });
    expect((await callAdmin(`/admin/keys/${tenant.keyId}`, { method: 'DELETE' }, { KV: down })).response.status).toBe(503);
    expect(await revokedAt(tenant.keyId)).toEqual(expect.any(Number));
    expect(await status(ask(tenant.apiKey, down))).toBe(401);
    expect((await callAdmin(`/admin/keys/${tenant.keyId}`, { method: 'DELETE' })).response.status).toBe(200);
  });
});

describe('DELETE /admin/tenants/{id} when KV fails', () => {
  it('revokes every key in D1 first, keeps the tenant until KV is clean, and a retry finishes', async () => {
    const tenant = await createTestTenant();
    const second = await jsonOf<{ key_id: string; api_key: string }>(await callAdmin(`/admin/tenants/${tenant.id}/keys`, { method: 'POST' }));
    const hashes = [await sha256Hex(tenant.apiKey), await sha256Hex(second.api_key)];
    expect(await status(ask(second.api_key))).toBe(200);

    const failed = await callAdmin(`/admin/tenants/${tenant.id}`, { method: 'DELETE' }, { KV: kvWith({ delete: failing('delete') }) });
    expect(failed.response.status).toBe(503);
    expect((await jsonOf(failed)).error).toMatchObject({ type: 'server_error', code: 'deletion_incomplete' });
    expect(await status(ask(tenant.apiKey))).toBe(401);
    expect(await status(ask(second.api_key))).toBe(401);
    const keys = await jsonOf<{ data: { revoked_at: string | null }[] }>(await callAdmin(`/admin/tenants/${tenant.id}/keys`));
    expect(keys.data.map((k) => k.revoked_at)).toEqual([expect.any(String), expect.any(String)]);
    for (const hash of hashes) expect(await entryOf(hash)).not.toBeNull();

    const retried = await callAdmin(`/admin/tenants/${tenant.id}`, { method: 'DELETE' });
    expect(await jsonOf(retried)).toEqual({ id: tenant.id, deleted: true });
    for (const hash of hashes) expect(await entryOf(hash)).toBeNull();
    expect((await callAdmin(`/admin/tenants/${tenant.id}`)).response.status).toBe(404);
    expect(await env.DB.prepare('SELECT COUNT(*) AS n FROM api_keys WHERE tenant_id = ?').bind(tenant.id).first('n')).toBe(0);
  });
});

describe('races', () => {
  it('a call that read D1 before its tenant was deleted does not write the entry back', async () => {
    const key = await keyFromElsewhere();
    const { kv, raced } = racingPut(
      (name) => name === entryName(key.keyHash),
      () => callAdmin(`/admin/tenants/${key.tenantId}`, { method: 'DELETE' }),
    );
    expect(await status(ask(key.apiKey, kv))).toBe(401);
    expect(raced).toMatchObject({ status: 200, body: { id: key.tenantId, deleted: true } });
    expect(await entryOf(key.keyHash)).toBeNull();
    expect(await status(ask(key.apiKey))).toBe(401);
  });

  it('a call that read D1 before its key was revoked does not write the entry back', async () => {
    const key = await keyFromElsewhere();
    const { kv, raced } = racingPut(
      (name) => name === entryName(key.keyHash),
      () => callAdmin(`/admin/keys/${key.keyId}`, { method: 'DELETE' }),
    );
    expect(await status(ask(key.apiKey, kv))).toBe(401);
    expect(raced).toMatchObject({ status: 200, body: { key_id: key.keyId, revoked: true } });
    expect(await entryOf(key.keyHash)).toBeNull();
    expect(await status(ask(key.apiKey))).toBe(401);
  });

  it('a PATCH racing a revoke does not rewrite the revoked key, and still rewrites the live one', async () => {
    const tenant = await createTestTenant();
    const doomed = await jsonOf<{ key_id: string; api_key: string }>(await callAdmin(`/admin/tenants/${tenant.id}/keys`, { method: 'POST' }));
    const doomedHash = await sha256Hex(doomed.api_key);
    const { kv, raced } = racingPut(
      (name) => name === entryName(doomedHash),
      () => callAdmin(`/admin/keys/${doomed.key_id}`, { method: 'DELETE' }),
    );
    const patched = await callAdmin(`/admin/tenants/${tenant.id}`, { method: 'PATCH', json: { rpm: 42 } }, { KV: kv });
    expect(patched.response.status).toBe(200);
    expect(raced.status).toBe(200);
    expect(await entryOf(doomedHash)).toBeNull();
    expect(await status(ask(doomed.api_key))).toBe(401);
    expect((await entryOf(await sha256Hex(tenant.apiKey)))?.tenant.rpm).toBe(42);
    const live = await ask(tenant.apiKey);
    expect(live.response.headers.get('x-ratelimit-limit-requests')).toBe('42');
  });

  it("a key's PATCH racing its revoke does not write the entry back", async () => {
    const tenant = await createTestTenant();
    const hash = await sha256Hex(tenant.apiKey);
    const { kv, raced } = racingPut(
      (name) => name === entryName(hash),
      () => callAdmin(`/admin/keys/${tenant.keyId}`, { method: 'DELETE' }),
    );
    expect((await callAdmin(`/admin/keys/${tenant.keyId}`, { method: 'PATCH', json: { rpm: 3 } }, { KV: kv })).response.status).toBe(200);
    expect(raced).toMatchObject({ status: 200, body: { key_id: tenant.keyId, revoked: true } });
    expect(await entryOf(hash)).toBeNull();
    expect(await status(ask(tenant.apiKey))).toBe(401);
  });

  it("a key's PATCH racing its tenant's PATCH leaves no entry with either's older settings", async () => {
    const tenant = await createTestTenant();
    const hash = await sha256Hex(tenant.apiKey);
    const { kv, raced } = racingPut(
      (name) => name === entryName(hash),
      () => callAdmin(`/admin/tenants/${tenant.id}`, { method: 'PATCH', json: { rpm: 20 } }),
    );
    expect((await callAdmin(`/admin/keys/${tenant.keyId}`, { method: 'PATCH', json: { rpm: 3 } }, { KV: kv })).response.status).toBe(200);
    expect(raced.status).toBe(200);
    const entry = await entryOf(hash);
    expect(entry === null || (entry.tenant.rpm === 20 && entry.key.rpm === 3)).toBe(true);
    // Both apply: the key's 3 is the tighter.
    expect((await ask(tenant.apiKey)).response.headers.get('x-ratelimit-limit-requests')).toBe('3');
  });

  it('a PATCH racing another PATCH leaves no entry with the older settings', async () => {
    const tenant = await createTestTenant();
    const hash = await sha256Hex(tenant.apiKey);
    // The first PATCH's write lands after the second PATCH has finished.
    const { kv, raced } = racingPut(
      (name) => name === entryName(hash),
      () => callAdmin(`/admin/tenants/${tenant.id}`, { method: 'PATCH', json: { rpm: 2 } }),
    );
    expect((await callAdmin(`/admin/tenants/${tenant.id}`, { method: 'PATCH', json: { rpm: 1 } }, { KV: kv })).response.status).toBe(200);
    expect(raced).toMatchObject({ status: 200, body: { rpm: 2 } });
    const entry = await entryOf(hash);
    expect(entry === null || entry.tenant.rpm === 2).toBe(true);
    const call = await ask(tenant.apiKey);
    expect(call.response.headers.get('x-ratelimit-limit-requests')).toBe('2');
  });

  it('a key issued while its tenant is deleted gets no entry', async () => {
    const tenant = await createTestTenant();
    const { kv, raced } = racingPut(
      (name) => name.startsWith('apikey:'),
      () => callAdmin(`/admin/tenants/${tenant.id}`, { method: 'DELETE' }),
    );
    const issued = await callAdmin(`/admin/tenants/${tenant.id}/keys`, { method: 'POST' }, { KV: kv });
    expect(issued.response.status).toBe(201);
    expect(raced).toMatchObject({ status: 200, body: { id: tenant.id, deleted: true } });
    const { api_key } = await jsonOf<{ api_key: string }>(issued);
    const issuedHash = await sha256Hex(api_key);
    expect(raced.name).toBe(entryName(issuedHash));
    expect(await entryOf(issuedHash)).toBeNull();
    expect(await status(ask(api_key))).toBe(401);
  });
});

describe('PATCH /admin/keys/{key_id} when KV fails', () => {
  it('drops the entry it cannot rewrite, or says so when it can do neither; the settings are saved', async () => {
    const tenant = await createTestTenant();
    const hash = await sha256Hex(tenant.apiKey);
    expect(await status(ask(tenant.apiKey))).toBe(200);
    const dropped = await callAdmin(`/admin/keys/${tenant.keyId}`, { method: 'PATCH', json: { rpm: 4 } }, { KV: kvWith({ put: failing('put') }) });
    expect(dropped.response.status).toBe(200);
    expect(await entryOf(hash)).toBeNull();
    expect((await ask(tenant.apiKey)).response.headers.get('x-ratelimit-limit-requests')).toBe('4');

    const down = kvWith({ put: failing('put'), delete: failing('delete') });
    const failed = await callAdmin(`/admin/keys/${tenant.keyId}`, { method: 'PATCH', json: { rpm: 6 } }, { KV: down });
    expect(failed.response.status).toBe(503);
    expect((await jsonOf(failed)).error).toMatchObject({ type: 'server_error', code: 'key_store_unavailable' });
    // Saved in D1; a retry rewrites the entry.
    expect((await callAdmin(`/admin/keys/${tenant.keyId}`, { method: 'PATCH', json: { rpm: 6 } })).response.status).toBe(200);
    expect((await entryOf(hash))?.key.rpm).toBe(6);
  });
});

describe('PATCH /admin/tenants/{id} when KV fails', () => {
  it('drops an entry it cannot rewrite, so the next call reads the new settings from D1', async () => {
    const tenant = await createTestTenant({ rpm: 5 });
    const hash = await sha256Hex(tenant.apiKey);
    expect(await status(ask(tenant.apiKey))).toBe(200);
    const patched = await callAdmin(`/admin/tenants/${tenant.id}`, { method: 'PATCH', json: { rpm: 9 } }, { KV: kvWith({ put: failing('put') }) });
    expect(patched.response.status).toBe(200);
    expect(await entryOf(hash)).toBeNull();
    expect((await ask(tenant.apiKey)).response.headers.get('x-ratelimit-limit-requests')).toBe('9');
  });

  it('says so when it can neither rewrite nor drop them; the settings are saved', async () => {
    const tenant = await createTestTenant({ rpm: 5 });
    const down = kvWith({ put: failing('put'), delete: failing('delete') });
    const patched = await callAdmin(`/admin/tenants/${tenant.id}`, { method: 'PATCH', json: { rpm: 9 } }, { KV: down });
    expect(patched.response.status).toBe(503);
    expect((await jsonOf(patched)).error).toMatchObject({ type: 'server_error', code: 'key_store_unavailable' });
    expect(await jsonOf(await callAdmin(`/admin/tenants/${tenant.id}`))).toMatchObject({ rpm: 9 });
    expect((await callAdmin(`/admin/tenants/${tenant.id}`, { method: 'PATCH', json: { rpm: 9 } })).response.status).toBe(200);
    expect((await entryOf(await sha256Hex(tenant.apiKey)))?.tenant.rpm).toBe(9);
  });
});
