/**
 * Where the token buckets of tenants and their keys live (a key's, when it has limits of its
 * own, in its tenant's store). The bucket arithmetic is in token-bucket.ts; a store only loads
 * and saves each scope's LimitState around it, and a call's scopes are reserved together: all
 * of them, or none.
 *
 * - KV (default): each isolate keeps the tenant's buckets in memory and exact for its own
 *   traffic, reads KV at most once a second to see other isolates' spending, and writes its
 *   state back at most once a second (KV allows one write per key per second). Across isolates
 *   and locations the limit is approximate: writes from different isolates within the same
 *   second overwrite each other, and KV takes up to a minute to reach other locations.
 * - Durable Object: one object per tenant holds the buckets; every call is exact, at the cost
 *   of a round trip to the object. For tenants whose limits must hold to the request.
 */
import { DurableObject } from 'cloudflare:workers';
import { SpendLedger, type BudgetCheck, type SpendDecision } from './spend-ledger';
import { reconcile, reserveAll, type CombinedDecision, type LimitState, type ScopedLimits } from './token-bucket';

/** A correction of one scope's token bucket: delta = used - reserved. */
export type Correction = ScopedLimits & { delta: number };

export interface RateLimitStore {
  /** Reserves one request and `tokens` tokens for a call of the tenant in every one of its scopes, or refuses it. */
  reserve(tenantId: string, scopes: ScopedLimits[], tokens: number): Promise<CombinedDecision>;
  /** Corrects the tokens reserved for a call once its real usage is known. */
  reconcile(tenantId: string, corrections: Correction[]): Promise<void>;
}

const SYNC_INTERVAL_MS = 1000;
/** Buckets refill within a minute; an hour of idleness can safely forget them. */
const KV_TTL_S = 3600;

interface IsolateEntry {
  state: LimitState;
  readAt: number;
  writtenAt: number;
  /** Changed since the last write. */
  dirty: boolean;
}

/** Per-isolate state by scope, shared by every request this isolate serves. */
const isolateBuckets = new Map<string, IsolateEntry>();
/** KV reads in flight, so that concurrent calls of one scope share one entry. */
const loading = new Map<string, Promise<IsolateEntry>>();

export class KvRateLimitStore implements RateLimitStore {
  constructor(
    private readonly kv: KVNamespace,
    /** Runs a write after the response (ctx.waitUntil). */
    private readonly defer: (work: Promise<unknown>) => void,
  ) {}

  private key = (scope: string) => `rl:${scope}`;

  private load(scope: string, now: number): Promise<IsolateEntry> {
    const entry = isolateBuckets.get(scope);
    // Unwritten local spending must not be replaced by an older copy from KV.
    if (entry && (entry.dirty || now - entry.readAt < SYNC_INTERVAL_MS)) return Promise.resolve(entry);
    let pending = loading.get(scope);
    if (!pending) {
      pending = this.kv
        .get<LimitState>(this.key(scope), 'json')
        // KV down: this isolate goes on limiting with what it knows (its own traffic, exactly).
        .catch((error) => {
          console.warn('rate-limit state read failed, limiting on this isolate alone', scope, error instanceof Error ? error.message : error);
          return entry?.state ?? null;
        })
        .then((stored) => {
          const fresh: IsolateEntry = { state: stored ?? {}, readAt: now, writtenAt: entry?.writtenAt ?? 0, dirty: false };
          isolateBuckets.set(scope, fresh);
          return fresh;
        })
        .finally(() => loading.delete(scope));
      loading.set(scope, pending);
    }
    return pending;
  }

  /** Writes the entry if the last write was a second ago or more; otherwise a later call will. */
  private save(scope: string, entry: IsolateEntry, now: number): void {
    entry.dirty = true;
    if (now - entry.writtenAt < SYNC_INTERVAL_MS) return;
    entry.writtenAt = now;
    entry.dirty = false;
    const write = this.kv.put(this.key(scope), JSON.stringify(entry.state), { expirationTtl: KV_TTL_S });
    // A write KV refuses (another isolate wrote this second) only costs precision.
    this.defer(write.catch((error) => console.warn('rate-limit state write failed', scope, error)));
  }

  /** Each scope's state is its own KV entry, `rl:<scope>` (the tenant's as before keys had limits). */
  async reserve(_tenantId: string, scopes: ScopedLimits[], tokens: number): Promise<CombinedDecision> {
    const now = Date.now();
    const entries = await Promise.all(scopes.map(({ scope }) => this.load(scope, now)));
    // Nothing awaits from here on: no other call of this isolate comes between the checks and the takes.
    const { decision, states } = reserveAll(
      entries.map((entry) => entry.state),
      scopes.map((s) => s.limits),
      tokens,
      now,
    );
    if (decision.allowed) {
      entries.forEach((entry, i) => {
        entry.state = states[i];
        this.save(scopes[i].scope, entry, now);
      });
    }
    return decision;
  }

  async reconcile(_tenantId: string, corrections: Correction[]): Promise<void> {
    const now = Date.now();
    await Promise.all(
      corrections.map(async ({ scope, limits, delta }) => {
        const entry = await this.load(scope, now);
        entry.state = reconcile(entry.state, limits, delta, now);
        this.save(scope, entry, now);
      }),
    );
  }
}

/**
 * One per tenant (idFromName(tenantId)): the exact store of its buckets and its keys', and the
 * exact ledger of their monthly budgets (budget.ts). The ledger is kept in memory: it holds only
 * the calls in flight, and the object is evicted only when none are.
 */
export class TenantRateLimiter extends DurableObject {
  /** Each scope's buckets, as stored under `buckets:<scope>`; loaded on first use. */
  private readonly buckets = new Map<string, LimitState>();
  private readonly spend = new SpendLedger();

  reserveSpend(month: string, checks: BudgetCheck[], estimateNano: number): SpendDecision {
    return this.spend.reserve(month, checks, estimateNano);
  }

  settleSpend(month: string, scopes: string[], estimateNano: number, costNano: number): void {
    this.spend.settle(month, scopes, estimateNano, costNano);
  }

  private async statesOf(scopes: string[]): Promise<LimitState[]> {
    const missing = scopes.filter((scope) => !this.buckets.has(scope));
    if (missing.length) {
      const stored = await this.ctx.storage.get<LimitState>(missing.map(bucketsKey));
      for (const scope of missing) this.buckets.set(scope, stored.get(bucketsKey(scope)) ?? {});
    }
    return scopes.map((scope) => this.buckets.get(scope)!);
  }

  private async keep(scopes: string[], states: LimitState[]): Promise<void> {
    scopes.forEach((scope, i) => this.buckets.set(scope, states[i]));
    await this.ctx.storage.put(Object.fromEntries(scopes.map((scope, i) => [bucketsKey(scope), states[i]])));
  }

  async reserve(scopes: ScopedLimits[], tokens: number): Promise<CombinedDecision> {
    const names = scopes.map((s) => s.scope);
    const { decision, states } = reserveAll(
      await this.statesOf(names),
      scopes.map((s) => s.limits),
      tokens,
      Date.now(),
    );
    if (decision.allowed) await this.keep(names, states);
    return decision;
  }

  async reconcile(corrections: Correction[]): Promise<void> {
    const names = corrections.map((c) => c.scope);
    const now = Date.now();
    const states = (await this.statesOf(names)).map((state, i) => reconcile(state, corrections[i].limits, corrections[i].delta, now));
    await this.keep(names, states);
  }
}

const bucketsKey = (scope: string) => `buckets:${scope}`;

export class DurableObjectRateLimitStore implements RateLimitStore {
  constructor(private readonly namespace: DurableObjectNamespace<TenantRateLimiter>) {}

  private stub = (tenantId: string) => this.namespace.get(this.namespace.idFromName(tenantId));

  reserve(tenantId: string, scopes: ScopedLimits[], tokens: number): Promise<CombinedDecision> {
    return this.stub(tenantId).reserve(scopes, tokens) as Promise<CombinedDecision>;
  }

  async reconcile(tenantId: string, corrections: Correction[]): Promise<void> {
    await this.stub(tenantId).reconcile(corrections);
  }
}
