import type { TenantContext } from './schemas';
/**
 * This isolate's memory of recently authenticated keys (key hash -> tenant context).
 *
 * - A key looked up in the last FRESH_MS is served without another KV read: one read per key
 *   per isolate every half minute instead of one per call.
 * - When KV and D1 both fail, a key looked up in the last STALE_IF_ERROR_MS is still served:
 *   known keys keep working through an outage of the key store, unknown keys are refused.
 *
 * Admin changes made in this isolate update it at once; other isolates see a change within
 * FRESH_MS, on top of KV's own propagation (up to 60 s across locations).
 */

export const FRESH_MS = 30_000;
export const STALE_IF_ERROR_MS = 15 * 60_000;
/** Enough for every active key of a large deployment; the oldest entries go first. */
const MAX_ENTRIES = 10_000;

const entries = new Map<string, { context: TenantContext; readAt: number }>();

export function rememberKey(keyHash: string, context: TenantContext, now = Date.now()): void {
  entries.delete(keyHash);
  entries.set(keyHash, { context, readAt: now });
  if (entries.size > MAX_ENTRIES) entries.delete(entries.keys().next().value!);
}

/**
 * Hashes of keys that authenticated here, by key, so a known key's calls skip the SHA-256 (a
 * hash never changes; revoking a key forgets its context above, not this). The keys are held
 * only in this isolate's memory, as each request holds its own.
 */
const hashes = new Map<string, string>();

export function rememberHash(apiKey: string, keyHash: string): void {
  hashes.set(apiKey, keyHash);
  if (hashes.size > MAX_ENTRIES) hashes.delete(hashes.keys().next().value!);
}

export const knownHash = (apiKey: string): string | undefined => hashes.get(apiKey);

export function forgetKey(keyHash: string): void {
  entries.delete(keyHash);
}

/** The context remembered for a key, if it was read within `maxAgeMs`. */
export function recalledKey(keyHash: string, maxAgeMs: number, now = Date.now()): TenantContext | null {
  const entry = entries.get(keyHash);
  return entry && now - entry.readAt < maxAgeMs ? entry.context : null;
}
