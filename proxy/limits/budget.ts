/**
 * Monthly budgets, which reserve before they admit. Month-to-date spend per tenant is kept
 * exact in D1 (`tenant_spend`, moved by a trigger on each new request-log row). Each call
 * reserves its estimated cost (its prompt at the input price, its output allowance at the
 * output price) at admission, and is admitted only while spend plus the reservations of the
 * calls in flight is below the budget; when it ends its reservation gives way to its real cost.
 * Once nothing is left, calls answer 429 `insufficient_quota`.
 *
 * Where the ledger lives, and how far a burst can overshoot:
 * - Durable Object (tenants with rate_limit_store = durable-object): the tenant's limits object
 *   (limits/stores.ts, with spend-ledger.ts) admits and settles every call in turn, so a burst overshoots by at most one call's
 *   estimate (the last call admitted may cost up to its estimate more than was left).
 * - This isolate (the default, with KV buckets): each isolate keeps the reservations of its own
 *   calls in flight, over the spend it read from D1 at most SPEND_CACHE_MS ago plus the costs it
 *   logged itself since. A burst within one isolate overshoots by at most one call's estimate;
 *   calls admitted meanwhile by other isolates are not seen until they are logged and read
 *   back, so across N isolates it is at most N times what was left, plus one estimate each.
 * Streams reserve like any call and are always billed when they end, even when abandoned.
 */
import type { Env } from '../core/env';
import { ProxyError } from '../core/errors';
import type { SpendDecision } from './spend-ledger';

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

const budgetSpent = (budgetUsd: number, spentNano: number) =>
  new ProxyError(
    429,
    `This tenant has spent its monthly budget of $${budgetUsd} ($${(spentNano / 1e9).toFixed(6)} so far this month, counting calls in flight). Ask your administrator to raise it.`,
    {
      type: 'insufficient_quota',
      code: 'insufficient_quota',
      // Retrying cannot help until the budget changes; the openai SDKs honour this header.
      headers: { 'x-should-retry': 'false' },
    },
  );

/** A call's hold on the budget; `settle` replaces it with the call's real cost (once). */
export interface BudgetReservation {
  settle(costNano: number): void;
}

const NO_RESERVATION: BudgetReservation = { settle: () => {} };

/** Reservations of this isolate's calls in flight, per tenant and month. */
const isolateReserved = new Map<string, number>();

/** Reserves in this isolate's ledger: spend as last read (plus this isolate's own logged costs) and its calls in flight. */
async function reserveInIsolate(env: Env, tenantId: string, budgetNano: number, estimateNano: number): Promise<{ decision: SpendDecision; release(): void }> {
  const key = `${tenantId}:${monthOf(Date.now())}`;
  const spentNano = await monthToDateSpend(env, tenantId);
  const committedNano = spentNano + (isolateReserved.get(key) ?? 0);
  if (committedNano >= budgetNano) return { decision: { allowed: false, committedNano }, release: () => {} };
  isolateReserved.set(key, (isolateReserved.get(key) ?? 0) + estimateNano);
  const release = () => {
    const left = (isolateReserved.get(key) ?? 0) - estimateNano;
    if (left > 0) isolateReserved.set(key, left);
    else isolateReserved.delete(key);
  };
  return { decision: { allowed: true, committedNano }, release };
}

/**
 * Reserves `estimateNano` of the tenant's monthly budget for a call, or throws 429
 * insufficient_quota when nothing is left. Budgets fail open: a ledger that cannot answer
 * admits the call (refusing every call for a blip is worse than an overshoot meanwhile).
 */
export async function reserveBudget(
  env: Env,
  tenant: { tenantId: string; budgetUsd: number | null; exact: boolean },
  estimateNano: number,
): Promise<BudgetReservation> {
  const { tenantId, budgetUsd } = tenant;
  if (budgetUsd === null) return NO_RESERVATION;
  const budgetNano = Math.round(budgetUsd * 1e9);
  const month = monthOf(Date.now());
  if (tenant.exact) {
    // The tenant's limits object (limits/stores.ts) keeps its exact ledger.
    const ledger = env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(tenantId));
    let decision: SpendDecision;
    try {
      decision = (await ledger.reserveSpend(month, budgetNano, await monthToDateSpend(env, tenantId), estimateNano)) as SpendDecision;
    } catch (error) {
      console.error('budget ledger unavailable, admitting the call', tenantId, error instanceof Error ? error.message : error);
      return NO_RESERVATION;
    }
    if (!decision.allowed) throw budgetSpent(budgetUsd, decision.committedNano);
    return settledOnce((costNano) =>
      ledger
        .settleSpend(month, estimateNano, costNano)
        .catch((error: unknown) => console.warn('budget settle failed', tenantId, error instanceof Error ? error.message : error)),
    );
  }
  const { decision, release } = await reserveInIsolate(env, tenantId, budgetNano, estimateNano);
  if (!decision.allowed) throw budgetSpent(budgetUsd, decision.committedNano);
  // The cost itself is counted when its row is written (request-log/writer.ts noteSpend).
  return settledOnce(release);
}

/** A reservation whose settlement runs once, whoever settles it first. */
function settledOnce(settle: (costNano: number) => unknown): BudgetReservation {
  let settled = false;
  return {
    settle(costNano) {
      if (settled) return;
      settled = true;
      settle(costNano);
    },
  };
}
