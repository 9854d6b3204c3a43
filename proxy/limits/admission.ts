/**
 * Admission of a proxied call: the monthly budgets, then the rpm/tpm buckets, of its tenant and
 * of its key when the key has limits of its own (limits/scope.ts): the call must pass both. The
 * tokens reserved are an estimate (prompt plus the completion allowance); once the call ends
 * the reservation is corrected to the real usage.
 */
import type { Env } from '../core/env';
import { reserveBudget, type BudgetReservation } from './budget';
import { ProxyError } from '../core/errors';
import { scopeLabel, scopesOf } from './scope';
import { DurableObjectRateLimitStore, KvRateLimitStore, type RateLimitStore } from './stores';
import { reservedTokens, type BucketView, type CombinedDecision, type ScopedLimits } from './token-bucket';
import type { TenantContext } from '../tenants/schemas';

export interface Admission {
  /** Corrects the token reservation to what the call really used (0 for a cache hit or a failure); only the first call counts. */
  settle(usedTokens: number): void;
  /** Replaces the call's hold on the monthly budget with its real cost, once its row is made; only the first call counts. */
  settleCost(costNano: number): void;
}

/** What a call is expected to take: tokens against tpm, and cost against the monthly budget. */
export interface Estimate {
  tokens: number;
  costNano: number;
}

/** OpenAI's duration format for x-ratelimit-reset-*: "20ms", "1.5s", "6m0s". */
export function formatReset(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.ceil(ms))}ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${Number(seconds.toFixed(1))}s`;
  return `${Math.floor(seconds / 60)}m${Math.round(seconds % 60)}s`;
}

export function rateLimitHeaders(decision: Pick<CombinedDecision, 'requests' | 'tokens'>): Record<string, string> {
  const headers: Record<string, string> = {};
  const add = (suffix: string, view: BucketView | null) => {
    if (!view) return;
    headers[`x-ratelimit-limit-${suffix}`] = String(view.limit);
    headers[`x-ratelimit-remaining-${suffix}`] = String(view.remaining);
    headers[`x-ratelimit-reset-${suffix}`] = formatReset(view.resetMs);
  };
  add('requests', decision.requests);
  add('tokens', decision.tokens);
  return headers;
}

/** What admitting a call needs from its request: the bindings, the caller, and a way to finish work after the response. */
export interface AdmissionRequest {
  env: Env;
  tenant: TenantContext;
  waitUntil(work: Promise<unknown>): void;
}

function storeFor({ env, tenant, waitUntil }: AdmissionRequest): RateLimitStore {
  return tenant.tenant.rate_limit_store === 'durable-object' ? new DurableObjectRateLimitStore(env.RATE_LIMITER) : new KvRateLimitStore(env.KV, waitUntil);
}

const noLimits = (budget: BudgetReservation): Admission => ({ settle: () => {}, settleCost: (cost) => budget.settle(cost) });

/**
 * Admits the call or throws the 429 (or the budget's 429) naming the scope and the limit that
 * refused it. `headers` are OpenAI's x-ratelimit-* for the tightest bucket of each dimension,
 * sent with whatever answer the call gets.
 */
export async function admitCall(
  request: AdmissionRequest,
  estimate: Estimate,
  /** `requests`: a call that uses no tokens and costs nothing (counting tokens) counts against rpm only. */
  counts: 'all' | 'requests' = 'all',
): Promise<{ admission: Admission; headers: Record<string, string> }> {
  const { env, tenant: context, waitUntil } = request;
  const { tenantId } = context;
  const estimatedTokens = estimate.tokens;
  const scopes = scopesOf(context);
  const exact = context.tenant.rate_limit_store === 'durable-object';
  const budget = counts === 'all' ? await reserveBudget(env, { tenantId, scopes, exact }, estimate.costNano) : { settle: () => {} };
  const limited = scopes
    .map((scope) => ({ scope, limits: { rpm: scope.rpm, tpm: counts === 'all' ? scope.tpm : null } }))
    .filter(({ limits }) => limits.rpm || limits.tpm);
  if (limited.length === 0) return { admission: noLimits(budget), headers: {} };
  const buckets: ScopedLimits[] = limited.map(({ scope, limits }) => ({ scope: scope.name, limits }));

  const store = storeFor(request);
  let decision: CombinedDecision;
  try {
    decision = await store.reserve(tenantId, buckets, estimatedTokens);
  } catch (error) {
    // Limits fail open: a store that cannot answer must not take the proxy down with it.
    console.error('rate-limit store unavailable, admitting the call', tenantId, error instanceof Error ? error.message : error);
    return { admission: noLimits(budget), headers: {} };
  }
  const headers = rateLimitHeaders(decision);
  if (decision.exceeded) {
    // Refused: the call will cost nothing, and holds no budget.
    budget.settle(0);
    const { scope, limits } = limited[decision.exceeded.scope];
    const { dimension } = decision.exceeded;
    const retryAfterS = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
    throw new ProxyError(
      429,
      `Rate limit reached for ${dimension} per minute on ${scopeLabel(scope)} (limit ${dimension === 'requests' ? limits.rpm : limits.tpm}). Try again in ${retryAfterS}s.`,
      {
        // OpenAI names the exhausted dimension as the error type.
        type: dimension,
        code: 'rate_limit_exceeded',
        headers: { ...headers, 'retry-after': String(retryAfterS), 'retry-after-ms': String(decision.retryAfterMs) },
      },
    );
  }
  let settled = false;
  const admission: Admission = {
    settle(usedTokens) {
      if (settled) return;
      settled = true;
      // Each scope reserved its own clamp of the estimate (token-bucket.ts reservedTokens).
      const corrections = buckets
        .map((bucket) => ({ ...bucket, delta: usedTokens - reservedTokens(bucket.limits, estimatedTokens) }))
        .filter(({ limits, delta }) => limits.tpm && delta !== 0);
      if (corrections.length) {
        waitUntil(
          store
            .reconcile(tenantId, corrections)
            .catch((error) => console.warn('rate-limit reconcile failed', tenantId, error instanceof Error ? error.message : error)),
        );
      }
    },
    settleCost: (cost) => budget.settle(cost),
  };
  return { admission, headers };
}
