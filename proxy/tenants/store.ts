/**
 * Tenants and their API keys. D1 is the source of truth; KV holds, per key hash, everything the
 * request path needs about the key and its tenant (the key's own settings included: its limits
 * and expiry cost no read of their own), so authenticating a call is one KV read. A KV miss
 * (a new location, an evicted or expired entry) falls back to D1 and refills KV.
 *
 * Revocation (docs/SECURITY.md): every change goes to D1 first, then to KV. A KV entry says
 * when D1 last found its key live (`checkedAt`), expires after KEY_CHECK_MAX_AGE_MS and is not
 * trusted past it, so an entry left behind by a failure or a race cannot keep a revoked key
 * alive for longer. Every write of an entry is followed by a second look at D1, which deletes
 * it again if a revoke, a tenant deletion or a PATCH raced it; a revoke whose KV delete fails
 * says so (503) and can be retried until KV is clean.
 */
import type { Env } from '../core/env';
import { ProxyError } from '../core/errors';
import {
  checkIsCurrent,
  forgetKey,
  FRESH_MS,
  isRevoked,
  KEY_CHECK_MAX_AGE_MS,
  knownHash,
  markRevoked,
  recalledKey,
  rememberHash,
  rememberKey,
} from './key-cache';
import { generateApiKey, sha256Hex } from '../auth/keys';
import { newKeyId, newTenantId } from '../core/ids';
import { monthOf } from '../limits/budget';
import { newPromptCacheSalt } from '../providers/prompt-cache-salt';
import type {
  IssuedKey,
  KeySettings,
  KeySettingsInput,
  KeySummary,
  PromptCacheScope,
  RateLimitStoreKind,
  Routing,
  Tenant,
  TenantContext,
  TenantSettings,
} from './schemas';

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
  prompt_cache: PromptCacheScope;
  /** Internal: never in a Tenant. Null only in a row inserted by hand with the trigger of migration 0016 missing. */
  prompt_cache_salt: string | null;
  alert_webhook_url: string | null;
  /** JSON array of fractions, or NULL for the default. */
  alert_thresholds: string | null;
  shadow_eval_rate: number;
  /** JSON arrays and objects (migrations/0021). */
  shadow_eval_include: string;
  task_tiers: string;
  created_at: number;
  updated_at: number;
}

/** A key's own columns (0018_key_settings.sql). */
interface KeyRow {
  id: string;
  key_prefix: string;
  name: string | null;
  rpm: number | null;
  tpm: number | null;
  monthly_budget_nano: number | null;
  expires_at: number | null;
  created_at: number;
  revoked_at: number | null;
}

/** A live key joined with its tenant, as LIVE_KEYS reads it: the key's settings prefixed `key_`. */
type LiveKeyRow = TenantRow & {
  key_id: string;
  key_hash: string;
  key_name: string | null;
  key_rpm: number | null;
  key_tpm: number | null;
  key_monthly_budget_nano: number | null;
  key_expires_at: number | null;
};

/** Live keys (not revoked, their tenant there) with their tenants, `where` choosing which. */
const liveKeys = (where: string) =>
  `SELECT k.id AS key_id, k.key_hash, k.name AS key_name, k.rpm AS key_rpm, k.tpm AS key_tpm,
          k.monthly_budget_nano AS key_monthly_budget_nano, k.expires_at AS key_expires_at, t.*
   FROM api_keys k JOIN tenants t ON t.id = k.tenant_id WHERE k.revoked_at IS NULL AND ${where}`;

const kvKey = (keyHash: string) => `apikey:${keyHash}`;
const iso = (ms: number) => new Date(ms).toISOString();
const usdToNano = (usd: number | null) => (usd === null ? null : Math.round(usd * 1e9));
const nanoToUsd = (nano: number | null) => (nano === null ? null : nano / 1e9);
const thresholdsJson = (thresholds: number[] | null) => (thresholds === null ? null : JSON.stringify(thresholds));
const minutes = (ms: number) => `${Math.round(ms / 60_000)} minutes`;

/** KV's expirationTtl for a key's entry: the revocation bound (KV's smallest is 60 s). */
export const KEY_ENTRY_TTL_S = Math.max(60, Math.ceil(KEY_CHECK_MAX_AGE_MS / 1000));

/** A key's tenant as D1 had it, and when D1 was asked (before the read, so never later than the answer). */
interface Checked {
  context: TenantContext;
  checkedAt: number;
}

/**
 * A key's KV entry: its context and `checkedAt`. Entries written before checks existed lack
 * `checkedAt`, entries written before keys had settings lack `key`, and entries written before
 * tenants had prompt-cache salts lack `promptCacheSalt`: all are checked again.
 */
type KeyEntry = Omit<TenantContext, 'key' | 'promptCacheSalt'> & { key?: KeySettings; promptCacheSalt?: unknown; checkedAt?: unknown };

function toTenant(row: TenantRow): Tenant {
  return {
    id: row.id,
    name: row.name,
    rpm: row.rpm,
    tpm: row.tpm,
    monthly_budget_usd: nanoToUsd(row.monthly_budget_nano),
    routing: row.routing,
    cache_ttl_s: row.cache_ttl_s,
    cheap_model: row.cheap_model,
    expensive_model: row.expensive_model,
    rate_limit_store: row.rate_limit_store,
    store_content: row.store_content === 1,
    prompt_cache: row.prompt_cache,
    alert_webhook_url: row.alert_webhook_url,
    alert_thresholds: row.alert_thresholds === null ? null : (JSON.parse(row.alert_thresholds) as number[]),
    shadow_eval_rate: row.shadow_eval_rate,
    shadow_eval_include: JSON.parse(row.shadow_eval_include) as Tenant['shadow_eval_include'],
    task_tiers: JSON.parse(row.task_tiers) as Tenant['task_tiers'],
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  };
}

/**
 * A tenant's settings, always in the same key order (DEFAULT_SETTINGS', whose type lists every
 * one): KV entries are compared as JSON (sameContext).
 */
function settingsOf(tenant: Tenant): TenantSettings {
  const settings: Record<string, unknown> = { name: tenant.name };
  for (const key of Object.keys(DEFAULT_SETTINGS) as Array<keyof typeof DEFAULT_SETTINGS>) settings[key] = tenant[key];
  return settings as TenantSettings;
}

function keySettingsOf(row: Pick<KeyRow, 'name' | 'rpm' | 'tpm' | 'monthly_budget_nano' | 'expires_at'>): KeySettings {
  return {
    name: row.name,
    rpm: row.rpm,
    tpm: row.tpm,
    monthly_budget_usd: nanoToUsd(row.monthly_budget_nano),
    expires_at: row.expires_at === null ? null : iso(row.expires_at),
  };
}

function contextOf(row: LiveKeyRow): TenantContext {
  return {
    tenantId: row.id,
    keyId: row.key_id,
    tenant: settingsOf(toTenant(row)),
    key: keySettingsOf({
      name: row.key_name,
      rpm: row.key_rpm,
      tpm: row.key_tpm,
      monthly_budget_nano: row.key_monthly_budget_nano,
      expires_at: row.key_expires_at,
    }),
    // A missing salt stays empty, never made up: an isolated tenant's calls are then refused (prompt-cache-salt.ts).
    promptCacheSalt: row.prompt_cache_salt ?? '',
  };
}

function toKeySummary(row: KeyRow, spentNano: number): KeySummary {
  return {
    key_id: row.id,
    key_prefix: row.key_prefix,
    ...keySettingsOf(row),
    month_to_date_usd: spentNano / 1e9,
    created_at: iso(row.created_at),
    revoked_at: row.revoked_at === null ? null : iso(row.revoked_at),
  };
}

const sameContext = (a: TenantContext, b: TenantContext) => JSON.stringify(a) === JSON.stringify(b);

function putEntry(env: Env, keyHash: string, { context, checkedAt }: Checked): Promise<void> {
  const entry: KeyEntry = {
    tenantId: context.tenantId,
    keyId: context.keyId,
    tenant: context.tenant,
    key: context.key,
    promptCacheSalt: context.promptCacheSalt,
    checkedAt,
  };
  return env.KV.put(kvKey(keyHash), JSON.stringify(entry), { expirationTtl: KEY_ENTRY_TTL_S });
}

/** Deletes a key's KV entry; false (and a log line) when KV fails. */
function dropEntry(env: Env, keyHash: string): Promise<boolean> {
  return env.KV.delete(kvKey(keyHash)).then(
    () => true,
    (error) => {
      console.error('KV: could not delete an API key entry', error instanceof Error ? error.message : error);
      return false;
    },
  );
}

/** D1 binds at most 100 parameters per statement. */
const HASHES_PER_STATEMENT = 100;

/** The keys among `keyHashes` that D1 says are live now: not revoked, and their tenant exists. */
async function checkKeys(env: Env, keyHashes: string[]): Promise<Map<string, Checked>> {
  const live = new Map<string, Checked>();
  if (keyHashes.length === 0) return live;
  const statements: D1PreparedStatement[] = [];
  for (let i = 0; i < keyHashes.length; i += HASHES_PER_STATEMENT) {
    const chunk = keyHashes.slice(i, i + HASHES_PER_STATEMENT);
    statements.push(env.DB.prepare(liveKeys(`k.key_hash IN (${chunk.map(() => '?').join(', ')})`)).bind(...chunk));
  }
  const checkedAt = Date.now();
  for (const { results } of await env.DB.batch<LiveKeyRow>(statements)) {
    for (const row of results) live.set(row.key_hash, { context: contextOf(row), checkedAt });
  }
  return live;
}

/**
 * Asks D1 again about keys whose KV entries were just written. The entry of a key revoked, or
 * whose tenant was deleted, or whose settings or tenant's changed, since it was read is deleted
 * again: a revoke, deletion or PATCH (of the tenant or the key) racing the write may have
 * cleaned KV just before the write landed. (Were that delete to fail too, the entry still dies
 * with its `checkedAt`.) Confirmed keys are remembered here.
 * Returns D1's answer: the keys live now.
 */
async function confirmWritten(env: Env, written: Array<{ keyHash: string; checked: Checked }>): Promise<Map<string, Checked>> {
  const live = await checkKeys(
    env,
    written.map((w) => w.keyHash),
  );
  const undone: string[] = [];
  for (const { keyHash, checked } of written) {
    const current = live.get(keyHash);
    if (!current) markRevoked(keyHash);
    else if (!sameContext(current.context, checked.context)) forgetKey(keyHash);
    else {
      rememberKey(keyHash, checked.context, checked.checkedAt);
      continue;
    }
    undone.push(keyHash);
  }
  await Promise.all(undone.map((keyHash) => dropEntry(env, keyHash)));
  return live;
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
  prompt_cache: 'shared',
  alert_webhook_url: null,
  alert_thresholds: null,
  shadow_eval_rate: 0,
  shadow_eval_include: [],
  task_tiers: {},
};

export async function createTenant(env: Env, input: Partial<TenantSettings> & { name: string }): Promise<{ tenant: Tenant; key: IssuedKey }> {
  const now = Date.now();
  const settings: TenantSettings = { ...DEFAULT_SETTINGS, ...input };
  const id = newTenantId();
  await env.DB.prepare(
    `INSERT INTO tenants (id, name, rpm, tpm, monthly_budget_nano, routing, cache_ttl_s, cheap_model, expensive_model, rate_limit_store, store_content, prompt_cache, prompt_cache_salt,
       alert_webhook_url, alert_thresholds, shadow_eval_rate, shadow_eval_include, task_tiers, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
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
      settings.prompt_cache,
      // Every tenant gets its salt now, so that making it isolated later needs nothing more.
      newPromptCacheSalt(),
      settings.alert_webhook_url,
      thresholdsJson(settings.alert_thresholds),
      settings.shadow_eval_rate,
      JSON.stringify(settings.shadow_eval_include),
      JSON.stringify(settings.task_tiers),
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

const KEY_COLUMNS: Record<keyof KeySettings, string> = {
  name: 'name',
  rpm: 'rpm',
  tpm: 'tpm',
  monthly_budget_usd: 'monthly_budget_nano',
  expires_at: 'expires_at',
};

/** Key settings given by an admin request as D1 columns and values: only the ones given. */
function keyColumns(settings: KeySettingsInput): { columns: string[]; values: Array<string | number | null> } {
  const fields = (Object.keys(KEY_COLUMNS) as Array<keyof KeySettings>).filter((field) => settings[field] !== undefined);
  const values = fields.map((field) => {
    if (field === 'monthly_budget_usd') return usdToNano(settings.monthly_budget_usd ?? null);
    if (field === 'expires_at') return settings.expires_at ? Date.parse(settings.expires_at) : null;
    return settings[field] ?? null;
  });
  return { columns: fields.map((field) => KEY_COLUMNS[field]), values };
}

/** Issues a key for the tenant, with the key's own settings (none by default). */
export async function issueKey(env: Env, tenant: Tenant, settings: KeySettingsInput = {}): Promise<IssuedKey> {
  const apiKey = generateApiKey();
  const keyHash = await sha256Hex(apiKey);
  const keyId = newKeyId();
  const now = Date.now();
  const keyPrefix = apiKey.slice(0, 13);
  const { columns, values } = keyColumns(settings);
  const [inserted, salted] = await env.DB.batch<Record<string, unknown>>([
    env.DB.prepare(
      `INSERT INTO api_keys (${['id', 'tenant_id', 'key_hash', 'key_prefix', 'created_at', ...columns].join(', ')})
       VALUES (${Array.from({ length: 5 + columns.length }, () => '?').join(', ')}) RETURNING *`,
    ).bind(keyId, tenant.id, keyHash, keyPrefix, now, ...values),
    // The tenant's salt, which the key's entry carries and a Tenant never does.
    env.DB.prepare('SELECT prompt_cache_salt FROM tenants WHERE id = ?').bind(tenant.id),
  ]);
  const row = inserted.results[0] as unknown as KeyRow;
  const promptCacheSalt = (salted.results[0] as Pick<TenantRow, 'prompt_cache_salt'> | undefined)?.prompt_cache_salt ?? '';
  const summary = toKeySummary(row, 0);
  const checked: Checked = {
    context: { tenantId: tenant.id, keyId, tenant: settingsOf(tenant), key: keySettingsOf(row), promptCacheSalt },
    checkedAt: now,
  };
  // The key works without its KV entry (the first call reads D1), so a KV failure is not the caller's.
  const written = await putEntry(env, keyHash, checked).then(
    () => true,
    (error) => {
      console.warn('KV: could not write a new API key entry', error instanceof Error ? error.message : error);
      return false;
    },
  );
  // A deletion of the tenant racing this call may have cleaned KV before the entry landed.
  if (written) await confirmWritten(env, [{ keyHash, checked }]).catch(() => rememberKey(keyHash, checked.context, now));
  else rememberKey(keyHash, checked.context, now);
  return { ...summary, api_key: apiKey };
}

const revocationBound = minutes(KEY_CHECK_MAX_AGE_MS);

/**
 * Revokes a key: in D1 first (from then on D1 refuses it, and so does this isolate), then its KV
 * entry. False when there is no such key. When KV fails, the revocation stands but other
 * locations may still accept the key from its entry, for up to the revocation bound: that is a
 * 503 saying so, and a retry (the key is then already revoked) deletes the entry and answers
 * true. A retry that finds nothing left to delete is a 404: there is no live key to revoke.
 */
export async function revokeKey(env: Env, keyId: string): Promise<boolean> {
  const now = Date.now();
  const [revoked, found] = await env.DB.batch<{ key_hash: string; revoked_at: number }>([
    env.DB.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').bind(now, keyId),
    env.DB.prepare('SELECT key_hash, revoked_at FROM api_keys WHERE id = ?').bind(keyId),
  ]);
  const key = found.results[0];
  if (!key) return false;
  markRevoked(key.key_hash);
  if (revoked.meta.changes === 0) {
    // Revoked before: this is a retry. An entry checked before the revocation cannot outlive the
    // bound, so only a recent revocation can have one left to delete.
    const left = checkIsCurrent(key.revoked_at, now) ? await env.KV.get(kvKey(key.key_hash)).catch(() => 'unknown') : null;
    if (left === null) {
      throw new ProxyError(404, 'That key is already revoked, and nothing of it is left to clean up.', { type: 'invalid_request_error', code: 'not_found' });
    }
  }
  if (!(await dropEntry(env, key.key_hash))) {
    throw new ProxyError(
      503,
      `The key is revoked: D1 refuses it, and so does this location, but its KV entry could not be deleted, so other locations may accept it for up to ${revocationBound}. Retry DELETE /admin/keys/${keyId} to finish.`,
      { type: 'server_error', code: 'revocation_incomplete', headers: { 'retry-after': '5' } },
    );
  }
  return true;
}

/**
 * The tenant behind an API key, or null for an unknown or revoked key: from this isolate's
 * memory when fresh, else KV, else D1 (which then refills KV). Nothing checked against D1 longer
 * than KEY_CHECK_MAX_AGE_MS ago is served. When KV and D1 both fail, a key this isolate has seen
 * within that bound is still served; an unknown one gets a 503, never a pass.
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
  if (isRevoked(keyHash)) return null;
  const fresh = recalledKey(keyHash, FRESH_MS);
  if (fresh) return fresh;
  let found: Checked | null;
  try {
    found = await lookUpKey(env, keyHash);
  } catch (error) {
    const known = recalledKey(keyHash);
    if (known) return known;
    console.error('key lookup failed: KV and D1 unavailable', error instanceof Error ? error.message : error);
    throw new ProxyError(503, 'The proxy cannot check API keys right now: its key store is unavailable. Try again shortly.', {
      type: 'server_error',
      code: 'key_store_unavailable',
      headers: { 'retry-after': '5' },
    });
  }
  // A revoke in this isolate while the lookup was in flight wins over what it found.
  if (!found || isRevoked(keyHash)) {
    forgetKey(keyHash);
    return null;
  }
  rememberKey(keyHash, found.context, found.checkedAt);
  return found.context;
}

async function lookUpKey(env: Env, keyHash: string): Promise<Checked | null> {
  const entry = await env.KV.get<KeyEntry>(kvKey(keyHash), 'json').catch((error) => {
    console.warn('KV key lookup failed, asking D1', error instanceof Error ? error.message : error);
    return null;
  });
  if (entry && typeof entry.checkedAt === 'number' && entry.key && typeof entry.promptCacheSalt === 'string' && checkIsCurrent(entry.checkedAt)) {
    const { tenantId, keyId, tenant, key, promptCacheSalt } = entry;
    return { context: { tenantId, keyId, tenant, key, promptCacheSalt }, checkedAt: entry.checkedAt };
  }
  // A miss, or an entry checked too long ago (or before entries carried checks, key settings or salts): D1 decides.
  const checked = (await checkKeys(env, [keyHash])).get(keyHash);
  if (!checked) {
    if (entry) {
      // A real key's leftover entry: the key is revoked or its tenant deleted, for good.
      markRevoked(keyHash);
      await dropEntry(env, keyHash);
    }
    return null;
  }
  // Refilling KV is an optimisation: a failure costs the next call a D1 read, nothing more.
  const written = await putEntry(env, keyHash, checked).then(
    () => true,
    () => false,
  );
  if (!written) return checked;
  // The key may have been revoked (and its entry deleted) between the read and the write.
  const after = await confirmWritten(env, [{ keyHash, checked }]).catch((error) => {
    console.warn('D1: could not confirm a refilled API key entry', error instanceof Error ? error.message : error);
    return new Map([[keyHash, checked]]);
  });
  return after.get(keyHash) ?? null;
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
  prompt_cache: 'prompt_cache',
  alert_webhook_url: 'alert_webhook_url',
  alert_thresholds: 'alert_thresholds',
  shadow_eval_rate: 'shadow_eval_rate',
  shadow_eval_include: 'shadow_eval_include',
  task_tiers: 'task_tiers',
};

/**
 * Rewrites the KV entries of keys whose settings (or tenant's) just changed in D1, where the
 * request path reads them. D1 is asked again after the writes, so a key revoked (or changed
 * again) meanwhile gets no entry back. An entry that cannot be rewritten is dropped instead, so
 * the key's next call reads D1. False when some could be neither rewritten nor dropped: those
 * keep their old settings elsewhere until their check expires.
 */
async function rewriteEntries(env: Env, written: Array<{ keyHash: string; checked: Checked }>): Promise<boolean> {
  const puts = await Promise.allSettled(written.map((w) => putEntry(env, w.keyHash, w.checked)));
  const unwritten = written.filter((_, i) => puts[i].status === 'rejected');
  unwritten.forEach((w) => forgetKey(w.keyHash));
  const dropped = await Promise.all(unwritten.map((w) => dropEntry(env, w.keyHash)));
  const landed = written.filter((_, i) => puts[i].status === 'fulfilled');
  if (landed.length) {
    await confirmWritten(env, landed).catch((error) => {
      console.warn('D1: could not confirm rewritten API key entries', error instanceof Error ? error.message : error);
      landed.forEach((w) => forgetKey(w.keyHash));
    });
  }
  return !dropped.includes(false);
}

/** The 503 of a change saved in D1 that KV could not take for every key it concerns. */
const settingsNotEverywhere = (what: string) =>
  new ProxyError(
    503,
    `The settings are saved, but KV could not be updated for ${what}: they take effect everywhere within ${revocationBound}, or at once when this change is retried.`,
    { type: 'server_error', code: 'key_store_unavailable', headers: { 'retry-after': '5' } },
  );

/**
 * Changes a tenant's settings in D1, then in the KV entry of each of its live keys. The keys are
 * read in the same transaction as the change (rewriteEntries does the rest). Null when there is
 * no such tenant; a 503 when KV could neither take a new entry nor drop the old.
 */
export async function updateTenant(env: Env, id: string, patch: Partial<TenantSettings>): Promise<Tenant | null> {
  const fields = (Object.keys(patch) as Array<keyof TenantSettings>).filter((field) => patch[field] !== undefined);
  const values = fields.map((field) => {
    if (field === 'monthly_budget_usd') return usdToNano(patch.monthly_budget_usd ?? null);
    if (field === 'store_content') return patch.store_content ? 1 : 0;
    if (field === 'alert_thresholds') return thresholdsJson(patch.alert_thresholds ?? null);
    if (field === 'shadow_eval_include' || field === 'task_tiers') return JSON.stringify(patch[field]);
    return patch[field];
  });
  const checkedAt = Date.now();
  const [updated, keys] = await env.DB.batch<Record<string, unknown>>([
    env.DB.prepare(`UPDATE tenants SET ${[...fields.map((f) => `${COLUMNS[f]} = ?`), 'updated_at = ?'].join(', ')} WHERE id = ? RETURNING *`).bind(
      ...values,
      checkedAt,
      id,
    ),
    env.DB.prepare(liveKeys('k.tenant_id = ?')).bind(id),
  ]);
  const row = updated.results[0] as unknown as TenantRow | undefined;
  if (!row) return null;
  const written = (keys.results as unknown as LiveKeyRow[]).map((k) => ({ keyHash: k.key_hash, checked: { context: contextOf(k), checkedAt } }));
  if (!(await rewriteEntries(env, written))) throw settingsNotEverywhere('every key of the tenant');
  return toTenant(row);
}

/**
 * Changes a key's own settings in D1, then its KV entry (as updateTenant does for a tenant's).
 * Null when there is no such key; a 404 for a revoked one (nothing can bring it back); a 503
 * when KV could neither take the new entry nor drop the old. A past `expires_at` is taken: the
 * key is refused from now on, until a later one (or null) is set.
 */
export async function updateKey(env: Env, keyId: string, patch: KeySettingsInput): Promise<KeySummary | null> {
  const { columns, values } = keyColumns(patch);
  const checkedAt = Date.now();
  const [, live, found, spend] = await env.DB.batch<Record<string, unknown>>([
    env.DB.prepare(`UPDATE api_keys SET ${columns.map((column) => `${column} = ?`).join(', ')} WHERE id = ? AND revoked_at IS NULL`).bind(...values, keyId),
    env.DB.prepare(liveKeys('k.id = ?')).bind(keyId),
    env.DB.prepare('SELECT * FROM api_keys WHERE id = ?').bind(keyId),
    env.DB.prepare('SELECT spent_nano FROM key_spend WHERE key_id = ? AND month = ?').bind(keyId, monthOf(checkedAt)),
  ]);
  const key = found.results[0] as unknown as KeyRow | undefined;
  if (!key) return null;
  if (key.revoked_at !== null) {
    throw new ProxyError(404, 'That key is revoked: its settings can no longer change.', { type: 'invalid_request_error', code: 'not_found' });
  }
  const written = (live.results as unknown as LiveKeyRow[]).map((k) => ({ keyHash: k.key_hash, checked: { context: contextOf(k), checkedAt } }));
  if (!(await rewriteEntries(env, written))) throw settingsNotEverywhere('this key');
  return toKeySummary(key, (spend.results[0] as { spent_nano: number } | undefined)?.spent_nano ?? 0);
}

/**
 * Deletes a tenant and its keys (its request log stays). False when there is no such tenant.
 * D1 first: the keys are revoked there, so D1 refuses them, and so does this isolate; then
 * their KV entries go; then the rows. When KV fails, the keys stay revoked but the tenant is
 * kept, and the 503 asks for a retry, which finishes the job.
 */
export async function deleteTenant(env: Env, id: string): Promise<boolean> {
  const now = Date.now();
  const [tenant, , keys] = await env.DB.batch<{ key_hash: string }>([
    env.DB.prepare('SELECT id FROM tenants WHERE id = ?').bind(id),
    env.DB.prepare('UPDATE api_keys SET revoked_at = ? WHERE tenant_id = ? AND revoked_at IS NULL').bind(now, id),
    // Keys revoked longer ago than the bound can have no entry that is still trusted.
    env.DB.prepare('SELECT key_hash FROM api_keys WHERE tenant_id = ? AND revoked_at > ?').bind(id, now - KEY_CHECK_MAX_AGE_MS),
  ]);
  if (!tenant.results.length) return false;
  const hashes = keys.results.map((k) => k.key_hash);
  hashes.forEach(markRevoked);
  const dropped = await Promise.all(hashes.map((keyHash) => dropEntry(env, keyHash)));
  if (dropped.includes(false)) {
    throw new ProxyError(
      503,
      `The tenant's keys are revoked: D1 refuses them, and so does this location, but some of their KV entries could not be deleted, so other locations may accept them for up to ${revocationBound}. The tenant is kept until that is done: retry DELETE /admin/tenants/${id} to finish.`,
      { type: 'server_error', code: 'deletion_incomplete', headers: { 'retry-after': '5' } },
    );
  }
  const [removedKeys, removed] = await env.DB.batch<{ key_hash: string; revoked_at: number | null }>([
    env.DB.prepare('DELETE FROM api_keys WHERE tenant_id = ? RETURNING key_hash, revoked_at').bind(id),
    env.DB.prepare('DELETE FROM tenants WHERE id = ?').bind(id),
  ]);
  // A key issued while this ran was live until now: its entry goes too (it dies with its check if KV fails).
  const late = removedKeys.results.filter((k) => k.revoked_at === null).map((k) => k.key_hash);
  late.forEach(markRevoked);
  await Promise.all(late.map((keyHash) => dropEntry(env, keyHash)));
  return removed.meta.changes > 0;
}

/** A tenant's keys, revoked ones included, with their settings and month-to-date spend. */
export async function listKeys(env: Env, tenantId: string): Promise<KeySummary[]> {
  const { results } = await env.DB.prepare(
    `SELECT k.*, COALESCE(s.spent_nano, 0) AS spent_nano FROM api_keys k LEFT JOIN key_spend s ON s.key_id = k.id AND s.month = ?
     WHERE k.tenant_id = ? ORDER BY k.created_at, k.id`,
  )
    .bind(monthOf(Date.now()), tenantId)
    .all<KeyRow & { spent_nano: number }>();
  return results.map((k) => toKeySummary(k, k.spent_nano));
}
