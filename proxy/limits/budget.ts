/**
 * Monthly budgets. Month-to-date spend per tenant is kept exact in D1 (`tenant_spend`, moved by
 * a trigger on each new request-log row) and read at most every few seconds per isolate.
 * Once spend reaches the budget, calls answer 429 `insufficient_quota`.
 *
 * How far a burst can overshoot: the check runs before a call, and its cost is known only when
 * it ends, so every call already in flight when the budget is reached still completes; on top
 * of that, other isolates may see the new total up to SPEND_CACHE_MS late. Streams are checked
 * like any call and always billed when they end, even when abandoned.
 */
import type { Env } from '../core/env';
import { ProxyError } from '../core/errors';

export const SPEND_CACHE_MS = 5000;

interface CachedSpend {
  month: string;
  spentNano: number;
  readAt: number;
}

const isolateSpend = new Map<string, CachedSpend>();

/** 'YYYY-MM' in UTC. */
export const monthOf = (ts: number) => new Date(ts).toISOString().slice(0, 7);

/** Keeps this isolate's cached total current with the calls it logs itself. */
export function noteSpend(tenantId: string, ts: number, costNano: number): void {
  const cached = isolateSpend.get(tenantId);
  if (cached && cached.month === monthOf(ts)) cached.spentNano += costNano;
}

/**
 * The tenant's spend this month. Budgets fail open: when D1 cannot be read, the last total this
 * isolate knew is used (0 if it knew none) and the call goes ahead, since refusing every call
 * for a database blip is worse than a budget overshoot of the calls made meanwhile.
 */
export async function monthToDateSpend(env: Env, tenantId: string, now = Date.now()): Promise<number> {
  const month = monthOf(now);
  const cached = isolateSpend.get(tenantId);
  const known = cached && cached.month === month ? cached : null;
  if (known && now - known.readAt < SPEND_CACHE_MS) return known.spentNano;
  let row: { spent_nano: number } | null;
  try {
    row = await env.DB.prepare('SELECT spent_nano FROM tenant_spend WHERE tenant_id = ? AND month = ?').bind(tenantId, month).first<{ spent_nano: number }>();
  } catch (error) {
    console.error('budget check: D1 unavailable, failing open', tenantId, error instanceof Error ? error.message : error);
    return known?.spentNano ?? 0;
  }
  const spentNano = row?.spent_nano ?? 0;
  isolateSpend.set(tenantId, { month, spentNano, readAt: now });
  return spentNano;
}

export async function enforceBudget(env: Env, tenantId: string, budgetUsd: number | null): Promise<void> {
  if (budgetUsd === null) return;
  const spentNano = await monthToDateSpend(env, tenantId);
  if (spentNano < Math.round(budgetUsd * 1e9)) return;
  throw new ProxyError(
    429,
    `This tenant has spent its monthly budget of $${budgetUsd} ($${(spentNano / 1e9).toFixed(6)} so far this month). Ask your administrator to raise it.`,
    {
      type: 'insufficient_quota',
      code: 'insufficient_quota',
      // Retrying cannot help until the budget changes; the openai SDKs honour this header.
      headers: { 'x-should-retry': 'false' },
    },
  );
}
