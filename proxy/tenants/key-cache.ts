import type { TenantContext } from './schemas';
/**
 * This isolate's memory of recently authenticated keys (key hash -> tenant context), and of the
 * keys it knows to be revoked.
 *
 * - A key looked up in the last FRESH_MS is served without another KV read: one read per key
 *   per isolate every half minute instead of one per call.
 * - Every entry carries `checkedAt`, when D1 last said the key was live (KV entries carry it
 *   too). Nothing is served from memory or KV once that is KEY_CHECK_MAX_AGE_MS old: it goes
 *   back to D1. That is the revocation bound whatever fails (docs/SECURITY.md).
 * - When KV and D1 both fail, a remembered key is still served while its `checkedAt` is within
 *   that bound: known keys keep working through an outage of the key store, unknown keys are
 *   refused.
 * - A key revoked (or whose tenant was deleted) by this isolate, or found revoked by it, is
 *   marked so: it is refused at once, and no lookup already in flight can bring it back.
 *
 * Admin changes made in this isolate update it at once; other isolates see a change within
 * FRESH_MS, on top of KV's own propagation (up to 60 s across locations).
 */

export const FRESH_MS = 30_000;
/**
 * How old a check of a key against D1 may be before it is checked again: the lifetime of its KV
 * entry (KV's expirationTtl, and `checkedAt` on read) and of this isolate's memory of it.
 */
export const KEY_CHECK_MAX_AGE_MS = 15 * 60_000;
/** Enough for every active key of a large deployment; the oldest entries go first. */
const MAX_ENTRIES = 10_000;

const entries = new Map<string, { context: TenantContext; readAt: number; checkedAt: number }>();
/** Hashes of keys known to be revoked: a revocation is for good, so these never come back. */
const revoked = new Set<string>();

/** Remembers a live key, `checkedAt` being when D1 said so. A key known to be revoked is not remembered. */
export function rememberKey(keyHash: string, context: TenantContext, checkedAt: number, now = Date.now()): void {
  if (revoked.has(keyHash)) return;
  entries.delete(keyHash);
  entries.set(keyHash, { context, readAt: now, checkedAt });
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

/** Forgets a key's context (its settings changed): the next call looks it up again. */
export function forgetKey(keyHash: string): void {
  entries.delete(keyHash);
}

/** Marks a key revoked in this isolate: refused from now on, whatever a lookup in flight returns. */
export function markRevoked(keyHash: string): void {
  entries.delete(keyHash);
  revoked.delete(keyHash);
  revoked.add(keyHash);
  // Dropping the oldest mark only costs that key a lookup, which D1 answers (revoked).
  if (revoked.size > MAX_ENTRIES) revoked.delete(revoked.keys().next().value!);
}

export const isRevoked = (keyHash: string): boolean => revoked.has(keyHash);

/** Whether a check of a key against D1 made at `checkedAt` may still be relied on. */
export const checkIsCurrent = (checkedAt: number, now = Date.now()): boolean => now - checkedAt < KEY_CHECK_MAX_AGE_MS;

/**
 * The context remembered for a key, if it was read within `maxReadAgeMs` and checked against D1
 * within KEY_CHECK_MAX_AGE_MS; never for a key marked revoked.
 */
export function recalledKey(keyHash: string, maxReadAgeMs = Infinity, now = Date.now()): TenantContext | null {
  const entry = entries.get(keyHash);
  return entry && now - entry.readAt < maxReadAgeMs && checkIsCurrent(entry.checkedAt, now) ? entry.context : null;
}
