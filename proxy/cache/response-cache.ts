/**
 * The proxy's own response cache, in KV. A request is cacheable when it asks for
 * deterministic output (`temperature: 0`) or says how long to keep the answer
 * (`x-proxy-cache-ttl`), and its tenant has caching on (`cache_ttl_s` > 0, which also bounds
 * the lifetime). Entries are keyed by a SHA-256 of the tenant and the normalized request, so
 * they are never shared across tenants, and fields that change per call without changing the
 * answer stay out of the key.
 */
import { invalidRequest } from '../core/errors';
import type { Usage } from '../core/usage';

/** KV's smallest expirationTtl. Shorter lifetimes are enforced on read. */
const KV_MIN_TTL_S = 60;
/** KV values may be 25 MiB; larger answers are served but not cached. */
export const MAX_CACHED_BYTES = 24 * 1024 * 1024;

/**
 * Per-call metadata: none of it changes what the model answers. (`service_tier` is not among
 * them: an answer served at priority rates is not one a flex call may take for free.)
 */
const KEY_IGNORED_FIELDS = new Set(['stream', 'stream_options', 'user', 'metadata', 'store', 'request_id', 'prompt_cache_key', 'safety_identifier']);

export type CacheDecision =
  | { mode: 'off'; reason: string }
  /** `no-cache`: do not answer from the cache, but store the fresh answer. */
  | { mode: 'refresh'; key: string; ttlS: number }
  | { mode: 'use'; key: string; ttlS: number };

/** The inbound APIs whose answers are cached; a key never matches across them. */
export type CachedApi = 'chat' | 'responses' | 'messages';

/** A request body as far as caching reads it. */
export type CacheableBody = { temperature?: unknown } & Record<string, unknown>;

export interface CachedCompletion {
  /** The answer's JSON text in its API's shape (a chat.completion, a Response...), as first served. */
  json: string;
  usage: Usage;
  /** `provider/model` that produced it. */
  model: string;
  /** Epoch ms after which the entry is stale. */
  expiresAt: number;
}

/** JSON with object keys sorted, so that key order in the request does not change the key. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.keys(value as Record<string, unknown>)
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
}

async function cacheKey(tenantId: string, modelId: string, api: CachedApi, body: CacheableBody): Promise<string> {
  const normalized: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(body)) if (!KEY_IGNORED_FIELDS.has(field)) normalized[field] = value;
  normalized.model = modelId;
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`${tenantId}\n${api}\n${canonicalJson(normalized)}`));
  const hex = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
  return `rc:${tenantId}:${hex}`;
}

function parseTtlHeader(value: string | null): number | null {
  if (value === null) return null;
  // Digits only: '', '0x10' and '1e3' are not a number of seconds (Number() would take them).
  const ttl = /^\d{1,10}$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(ttl) || ttl < 0) throw invalidRequest('x-proxy-cache-ttl must be a whole number of seconds.', 'x-proxy-cache-ttl', 'invalid_value');
  return ttl;
}

export async function decideCaching(
  request: Request,
  api: CachedApi,
  body: CacheableBody,
  tenant: { tenantId: string; cacheTtlS: number },
  modelId: string,
): Promise<CacheDecision> {
  const headerTtl = parseTtlHeader(request.headers.get('x-proxy-cache-ttl'));
  if (tenant.cacheTtlS <= 0) return { mode: 'off', reason: 'tenant cache off' };
  if (headerTtl === null && body.temperature !== 0) return { mode: 'off', reason: 'not deterministic' };
  const ttlS = Math.min(headerTtl ?? tenant.cacheTtlS, tenant.cacheTtlS);
  if (ttlS === 0) return { mode: 'off', reason: 'ttl 0' };
  const cacheControl = request.headers.get('cache-control')?.toLowerCase() ?? '';
  if (cacheControl.includes('no-store')) return { mode: 'off', reason: 'no-store' };
  const key = await cacheKey(tenant.tenantId, modelId, api, body);
  return { mode: cacheControl.includes('no-cache') ? 'refresh' : 'use', key, ttlS };
}

/** The stored answer, if any; when KV cannot be read the call goes upstream as a miss. */
export async function readCachedCompletion(kv: KVNamespace, key: string): Promise<CachedCompletion | null> {
  const entry = await kv.get<CachedCompletion>(key, 'json').catch((error) => {
    console.warn('response cache: KV read failed, treating as a miss', error instanceof Error ? error.message : error);
    return null;
  });
  return entry && entry.expiresAt > Date.now() ? entry : null;
}

/** Stores an answer; false when it is too large for KV (it is then simply not cached). */
export async function storeCompletion(
  kv: KVNamespace,
  key: string,
  ttlS: number,
  entry: Omit<CachedCompletion, 'expiresAt'>,
  maxBytes = MAX_CACHED_BYTES,
): Promise<boolean> {
  const value = JSON.stringify({ ...entry, expiresAt: Date.now() + ttlS * 1000 } satisfies CachedCompletion);
  // A UTF-16 length above a third of the limit may be above it in UTF-8 bytes: only then count them.
  if (value.length > maxBytes / 3 && new TextEncoder().encode(value).byteLength > maxBytes) return false;
  try {
    await kv.put(key, value, { expirationTtl: Math.max(ttlS, KV_MIN_TTL_S) });
  } catch (error) {
    console.warn('response cache: KV write failed, answer not cached', error instanceof Error ? error.message : error);
    return false;
  }
  return true;
}
