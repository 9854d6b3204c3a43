/**
 * Tenants and their API keys. D1 is the source of truth; KV holds, per key hash, everything the
 * request path needs about the tenant, so authenticating a call is one KV read. A KV miss
 * (a new location, an evicted entry) falls back to D1 and refills KV.
 */
import type { Env } from '../core/env';
import { ProxyError } from '../core/errors';
import { forgetKey, FRESH_MS, knownHash, recalledKey, rememberHash, rememberKey, STALE_IF_ERROR_MS } from './key-cache';
import { generateApiKey, sha256Hex } from '../auth/keys';
import { newKeyId, newTenantId } from '../core/ids';
import type { IssuedKey, KeySummary, RateLimitStoreKind, Routing, Tenant, TenantContext, TenantSettings } from './schemas';

interface TenantRow {
  id: string;
  name: string;
  rpm: number | null;
  tpm: number | null;
  monthly_budget_nano: number | null;
  routing: Routing;
  cache_ttl_s: number;
  cheap_model: string | null;
  expensive_model: string | null;
  rate_limit_store: RateLimitStoreKind;
  store_content: number;
  created_at: number;
  updated_at: number;
}

const kvKey = (keyHash: string) => `apikey:${keyHash}`;
const iso = (ms: number) => new Date(ms).toISOString();
const usdToNano = (usd: number | null) => (usd === null ? null : Math.round(usd * 1e9));

function toTenant(row: TenantRow): Tenant {
  return {
    id: row.id,
    name: row.name,
    rpm: row.rpm,
    tpm: row.tpm,
    monthly_budget_usd: row.monthly_budget_nano === null ? null : row.monthly_budget_nano / 1e9,
    routing: row.routing,
    cache_ttl_s: row.cache_ttl_s,
    cheap_model: row.cheap_model,
    expensive_model: row.expensive_model,
    rate_limit_store: row.rate_limit_store,
    store_content: row.store_content === 1,
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  };
}

function settingsOf(tenant: Tenant): TenantSettings {
  const { name, rpm, tpm, monthly_budget_usd, routing, cache_ttl_s, cheap_model, expensive_model, rate_limit_store, store_content } = tenant;
  return { name, rpm, tpm, monthly_budget_usd, routing, cache_ttl_s, cheap_model, expensive_model, rate_limit_store, store_content };
}

export const DEFAULT_SETTINGS: Omit<TenantSettings, 'name'> = {
  rpm: null,
  tpm: null,
  monthly_budget_usd: null,
  routing: 'passthrough',
  cache_ttl_s: 3600,
  cheap_model: null,
  expensive_model: null,
  rate_limit_store: 'kv',
  store_content: false,
};

export async function createTenant(env: Env, input: Partial<TenantSettings> & { name: string }): Promise<{ tenant: Tenant; key: IssuedKey }> {
  const now = Date.now();
  const settings: TenantSettings = { ...DEFAULT_SETTINGS, ...input };
  const id = newTenantId();
  await env.DB.prepare(
    `INSERT INTO tenants (id, name, rpm, tpm, monthly_budget_nano, routing, cache_ttl_s, cheap_model, expensive_model, rate_limit_store, store_content, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  )
    .bind(
      id,
      settings.name,
      settings.rpm,
      settings.tpm,
      usdToNano(settings.monthly_budget_usd),
      settings.routing,
      settings.cache_ttl_s,
      settings.cheap_model,
      settings.expensive_model,
      settings.rate_limit_store,
      settings.store_content ? 1 : 0,
      now,
      now,
    )
    .run();
  const tenant: Tenant = { id, ...settings, created_at: iso(now), updated_at: iso(now) };
  const key = await issueKey(env, tenant);
  return { tenant, key };
}

export async function getTenant(env: Env, id: string): Promise<Tenant | null> {
  const row = await env.DB.prepare('SELECT * FROM tenants WHERE id = ?').bind(id).first<TenantRow>();
  return row ? toTenant(row) : null;
}

export async function listTenants(env: Env): Promise<Tenant[]> {
  const { results } = await env.DB.prepare('SELECT * FROM tenants ORDER BY created_at, id').all<TenantRow>();
  return results.map(toTenant);
}

export async function issueKey(env: Env, tenant: Tenant): Promise<IssuedKey> {
  const apiKey = generateApiKey();
  const keyHash = await sha256Hex(apiKey);
  const keyId = newKeyId();
  const now = Date.now();
  const keyPrefix = apiKey.slice(0, 13);
  await env.DB.prepare('INSERT INTO api_keys (id, tenant_id, key_hash, key_prefix, created_at) VALUES (?, ?, ?, ?, ?)')
    .bind(keyId, tenant.id, keyHash, keyPrefix, now)
    .run();
  const context: TenantContext = { tenantId: tenant.id, keyId, tenant: settingsOf(tenant) };
  await env.KV.put(kvKey(keyHash), JSON.stringify(context));
  rememberKey(keyHash, context);
  return { key_id: keyId, api_key: apiKey, key_prefix: keyPrefix, created_at: iso(now) };
}

/** Revokes a key in D1 and drops it from KV. False when there is no such live key. */
export async function revokeKey(env: Env, keyId: string): Promise<boolean> {
  const row = await env.DB.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL RETURNING key_hash')
    .bind(Date.now(), keyId)
    .first<{ key_hash: string }>();
  if (!row) return false;
  forgetKey(row.key_hash);
  await env.KV.delete(kvKey(row.key_hash));
  return true;
}

/**
 * The tenant behind an API key, or null for an unknown or revoked key: from this isolate's
 * memory when fresh, else KV, else D1 (which then refills KV). When KV and D1 both fail, a key
 * this isolate has seen recently is still served; an unknown one gets a 503, never a pass.
 */
export async function authenticateKey(env: Env, apiKey: string): Promise<TenantContext | null> {
  const remembered = knownHash(apiKey);
  const keyHash = remembered ?? (await sha256Hex(apiKey));
  const context = await contextOfKey(env, keyHash);
  // Only keys that authenticated are remembered, so made-up keys cannot fill the memory.
  if (context && !remembered) rememberHash(apiKey, keyHash);
  return context;
}

async function contextOfKey(env: Env, keyHash: string): Promise<TenantContext | null> {
  const fresh = recalledKey(keyHash, FRESH_MS);
  if (fresh) return fresh;
  let context: TenantContext | null;
  try {
    context = await lookUpKey(env, keyHash);
  } catch (error) {
    const known = recalledKey(keyHash, STALE_IF_ERROR_MS);
    if (known) return known;
    console.error('key lookup failed: KV and D1 unavailable', error instanceof Error ? error.message : error);
    throw new ProxyError(503, 'The proxy cannot check API keys right now: its key store is unavailable. Try again shortly.', {
      type: 'server_error',
      code: 'key_store_unavailable',
      headers: { 'retry-after': '5' },
    });
  }
  if (context) rememberKey(keyHash, context);
  else forgetKey(keyHash);
  return context;
}

async function lookUpKey(env: Env, keyHash: string): Promise<TenantContext | null> {
  const fromKv = await env.KV.get<TenantContext>(kvKey(keyHash), 'json').catch((error) => {
    console.warn('KV key lookup failed, asking D1', error instanceof Error ? error.message : error);
    return null;
  });
  if (fromKv) return fromKv;
  const row = await env.DB.prepare(
    `SELECT k.id AS key_id, t.* FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
     WHERE k.key_hash = ? AND k.revoked_at IS NULL`,
  )
    .bind(keyHash)
    .first<TenantRow & { key_id: string }>();
  if (!row) return null;
  const context: TenantContext = { tenantId: row.id, keyId: row.key_id, tenant: settingsOf(toTenant(row)) };
  // Refilling KV is an optimisation: a failure costs the next call a D1 read, nothing more.
  await env.KV.put(kvKey(keyHash), JSON.stringify(context)).catch(() => {});
  return context;
}

const COLUMNS: Record<keyof TenantSettings, string> = {
  name: 'name',
  rpm: 'rpm',
  tpm: 'tpm',
  monthly_budget_usd: 'monthly_budget_nano',
  routing: 'routing',
  cache_ttl_s: 'cache_ttl_s',
  cheap_model: 'cheap_model',
  expensive_model: 'expensive_model',
  rate_limit_store: 'rate_limit_store',
  store_content: 'store_content',
};

async function liveKeys(env: Env, tenantId: string): Promise<Array<{ id: string; key_hash: string }>> {
  const { results } = await env.DB.prepare('SELECT id, key_hash FROM api_keys WHERE tenant_id = ? AND revoked_at IS NULL')
    .bind(tenantId)
    .all<{ id: string; key_hash: string }>();
  return results;
}

/**
 * Changes a tenant's settings in D1, then in the KV entry of each of its live keys, which is
 * where the request path reads them. Null when there is no such tenant.
 */
export async function updateTenant(env: Env, id: string, patch: Partial<TenantSettings>): Promise<Tenant | null> {
  const fields = (Object.keys(patch) as Array<keyof TenantSettings>).filter((field) => patch[field] !== undefined);
  const values = fields.map((field) => {
    if (field === 'monthly_budget_usd') return usdToNano(patch.monthly_budget_usd ?? null);
    if (field === 'store_content') return patch.store_content ? 1 : 0;
    return patch[field];
  });
  const row = await env.DB.prepare(`UPDATE tenants SET ${[...fields.map((f) => `${COLUMNS[f]} = ?`), 'updated_at = ?'].join(', ')} WHERE id = ? RETURNING *`)
    .bind(...values, Date.now(), id)
    .first<TenantRow>();
  if (!row) return null;
  const tenant = toTenant(row);
  const keys = await liveKeys(env, id);
  await Promise.all(
    keys.map((k) => {
      const context: TenantContext = { tenantId: id, keyId: k.id, tenant: settingsOf(tenant) };
      rememberKey(k.key_hash, context);
      return env.KV.put(kvKey(k.key_hash), JSON.stringify(context));
    }),
  );
  return tenant;
}

/** Deletes a tenant and its keys (its request log stays). False when there is no such tenant. */
export async function deleteTenant(env: Env, id: string): Promise<boolean> {
  const keys = await liveKeys(env, id);
  keys.forEach((k) => forgetKey(k.key_hash));
  await Promise.all(keys.map((k) => env.KV.delete(kvKey(k.key_hash))));
  const [, deleted] = await env.DB.batch([
    env.DB.prepare('DELETE FROM api_keys WHERE tenant_id = ?').bind(id),
    env.DB.prepare('DELETE FROM tenants WHERE id = ?').bind(id),
  ]);
  return deleted.meta.changes > 0;
}

export async function listKeys(env: Env, tenantId: string): Promise<KeySummary[]> {
  const { results } = await env.DB.prepare('SELECT id, key_prefix, created_at, revoked_at FROM api_keys WHERE tenant_id = ? ORDER BY created_at, id')
    .bind(tenantId)
    .all<{ id: string; key_prefix: string; created_at: number; revoked_at: number | null }>();
  return results.map((k) => ({
    key_id: k.id,
    key_prefix: k.key_prefix,
    created_at: iso(k.created_at),
    revoked_at: k.revoked_at === null ? null : iso(k.revoked_at),
  }));
}
