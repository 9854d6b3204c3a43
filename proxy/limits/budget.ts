/**
 * Monthly budgets, which reserve before they admit: a tenant's, and a key's own on top
 * (limits/scope.ts; a call must fit in both). Month-to-date spend per tenant and per key is
 * kept exact in D1 (`tenant_spend`, `key_spend`, moved by triggers on each new request-log
 * row). Each call
 * reserves its estimated cost (its prompt at the input price, its output allowance at the
 * output price) at admission, and is admitted only while spend plus the reservations of the
 * calls in flight is below the budget (in every scope); when it ends its reservation gives way
 * to its real cost.
 * Once nothing is left, calls answer 429 `insufficient_quota`.
 *
 * Where the ledger lives, and how far a burst can overshoot:
 * - Durable Object (tenants with rate_limit_store = durable-object): the tenant's limits object
 *   (limits/stores.ts, with spend-ledger.ts; its keys' ledgers too) admits and settles every call in turn, so a burst overshoots by at most one call's
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
import { keyScopeName, scopeLabel, type LimitScope } from './scope';
import type { BudgetCheck, SpendDecision } from './spend-ledger';

export const SPEND_CACHE_MS = 5000;

interface CachedSpend {
  month: string;
  spentNano: number;
  readAt: number;
}

/** Month-to-date spend as this isolate last read it, by scope name. */
const isolateSpend = new Map<string, CachedSpend>();

/** 'YYYY-MM' in UTC. */
export const monthOf = (ts: number) => new Date(ts).toISOString().slice(0, 7);

/** Keeps this isolate's cached totals (the call's tenant's and key's) current with the calls it logs itself. */
export function noteSpend(call: { tenantId: string; keyId: string; ts: number; costNano: number }): void {
  for (const name of [call.tenantId, keyScopeName(call.keyId)]) {
    const cached = isolateSpend.get(name);
    if (cached && cached.month === monthOf(call.ts)) cached.spentNano += call.costNano;
  }
}

const SPEND_QUERIES: Record<LimitScope['kind'], string> = {
  tenant: 'SELECT spent_nano FROM tenant_spend WHERE tenant_id = ? AND month = ?',
  key: 'SELECT spent_nano FROM key_spend WHERE key_id = ? AND month = ?',
};

/**
 * The scope's spend this month. Budgets fail open: when D1 cannot be read, the last total this
 * isolate knew is used (0 if it knew none) and the call goes ahead, since refusing every call
 * for a database blip is worse than a budget overshoot of the calls made meanwhile.
 */
async function monthToDateSpend(env: Env, scope: LimitScope, now = Date.now()): Promise<number> {
  const month = monthOf(now);
  const cached = isolateSpend.get(scope.name);
  const known = cached && cached.month === month ? cached : null;
  if (known && now - known.readAt < SPEND_CACHE_MS) return known.spentNano;
  let row: { spent_nano: number } | null;
  try {
    row = await env.DB.prepare(SPEND_QUERIES[scope.kind]).bind(scope.id, month).first<{ spent_nano: number }>();
  } catch (error) {
    console.error('budget check: D1 unavailable, failing open', scope.name, error instanceof Error ? error.message : error);
    return known?.spentNano ?? 0;
  }
  const spentNano = row?.spent_nano ?? 0;
  isolateSpend.set(scope.name, { month, spentNano, readAt: now });
  return spentNano;
}

const budgetSpent = (scope: LimitScope, committedNano: number) =>
  new ProxyError(
    429,
    `The monthly budget of ${scopeLabel(scope)} is spent: $${scope.budgetUsd} ($${(committedNano / 1e9).toFixed(6)} so far this month, counting calls in flight). Ask your administrator to raise it.`,
    {
      type: 'insufficient_quota',
      code: 'insufficient_quota',
      // Retrying cannot help until the budget changes; the openai SDKs honour this header.
      headers: { 'x-should-retry': 'false' },
    },
  );

/** A call's hold on the budgets; `settle` replaces it with the call's real cost (once). */
export interface BudgetReservation {
  settle(costNano: number): void;
}

const NO_RESERVATION: BudgetReservation = { settle: () => {} };

/** Reservations of this isolate's calls in flight, per scope and month. */
const isolateReserved = new Map<string, number>();

/**
 * Reserves in this isolate's ledger, in every budget: spend as last read (plus this isolate's own
 * logged costs) and its calls in flight. Refused by one budget, it holds nothing in any.
 * Synchronous: no other call of this isolate comes between the checks and the holds.
 */
function reserveInIsolate(checks: BudgetCheck[], estimateNano: number): { decision: SpendDecision; release(): void } {
  const month = monthOf(Date.now());
  const keys = checks.map((check) => `${check.scope}:${month}`);
  for (let i = 0; i < checks.length; i++) {
    const committedNano = checks[i].d1SpentNano + (isolateReserved.get(keys[i]) ?? 0);
    if (committedNano >= checks[i].budgetNano) return { decision: { allowed: false, refused: i, committedNano }, release: () => {} };
  }
  for (const key of keys) isolateReserved.set(key, (isolateReserved.get(key) ?? 0) + estimateNano);
  const release = () => {
    for (const key of keys) {
      const left = (isolateReserved.get(key) ?? 0) - estimateNano;
      if (left > 0) isolateReserved.set(key, left);
      else isolateReserved.delete(key);
    }
  };
  return { decision: { allowed: true }, release };
}

/**
 * Reserves `estimateNano` in the monthly budget of every scope that has one (the tenant's, its
 * key's), or throws 429 insufficient_quota naming the one with nothing left. Budgets fail open:
 * a ledger that cannot answer admits the call (refusing every call for a blip is worse than an
 * overshoot meanwhile). `exact`: the tenant's Durable Object keeps the ledgers.
 */
export async function reserveBudget(
  env: Env,
  call: { tenantId: string; scopes: LimitScope[]; exact: boolean },
  estimateNano: number,
): Promise<BudgetReservation> {
  const scopes = call.scopes.filter((scope) => scope.budgetUsd !== null);
  if (scopes.length === 0) return NO_RESERVATION;
  const spent = await Promise.all(scopes.map((scope) => monthToDateSpend(env, scope)));
  const checks: BudgetCheck[] = scopes.map((scope, i) => ({ scope: scope.name, budgetNano: Math.round(scope.budgetUsd! * 1e9), d1SpentNano: spent[i] }));
  const month = monthOf(Date.now());
  if (call.exact) {
    // The tenant's limits object (limits/stores.ts) keeps the exact ledgers of the tenant and its keys.
    const ledger = env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(call.tenantId));
    let decision: SpendDecision;
    try {
      decision = (await ledger.reserveSpend(month, checks, estimateNano)) as SpendDecision;
    } catch (error) {
      console.error('budget ledger unavailable, admitting the call', call.tenantId, error instanceof Error ? error.message : error);
      return NO_RESERVATION;
    }
    if (!decision.allowed) throw budgetSpent(scopes[decision.refused], decision.committedNano);
    const names = scopes.map((scope) => scope.name);
    return settledOnce((costNano) =>
      ledger
        .settleSpend(month, names, estimateNano, costNano)
        .catch((error: unknown) => console.warn('budget settle failed', call.tenantId, error instanceof Error ? error.message : error)),
    );
  }
  const { decision, release } = reserveInIsolate(checks, estimateNano);
  if (!decision.allowed) throw budgetSpent(scopes[decision.refused], decision.committedNano);
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
