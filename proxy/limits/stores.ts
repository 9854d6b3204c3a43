/**
 * Where tenants' token buckets live. The bucket arithmetic is in token-bucket.ts; a store only
 * loads and saves a tenant's LimitState around it.
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
import { SpendLedger, type SpendDecision } from './spend-ledger';
import { reconcile, reserve, type LimitDecision, type LimitState, type Limits } from './token-bucket';

export interface RateLimitStore {
  /** Reserves one request and `tokens` tokens for a call, or refuses it. */
  reserve(tenantId: string, limits: Limits, tokens: number): Promise<LimitDecision>;
  /** Corrects the tokens reserved for a call once its real usage is known (delta = used - reserved). */
  reconcile(tenantId: string, limits: Limits, delta: number): Promise<void>;
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

/** Per-isolate state, shared by every request this isolate serves. */
const isolateBuckets = new Map<string, IsolateEntry>();
/** KV reads in flight, so that concurrent calls of one tenant share one entry. */
const loading = new Map<string, Promise<IsolateEntry>>();

export class KvRateLimitStore implements RateLimitStore {
  constructor(
    private readonly kv: KVNamespace,
    /** Runs a write after the response (ctx.waitUntil). */
    private readonly defer: (work: Promise<unknown>) => void,
  ) {}

  private key = (tenantId: string) => `rl:${tenantId}`;

  private load(tenantId: string, now: number): Promise<IsolateEntry> {
    const entry = isolateBuckets.get(tenantId);
    // Unwritten local spending must not be replaced by an older copy from KV.
    if (entry && (entry.dirty || now - entry.readAt < SYNC_INTERVAL_MS)) return Promise.resolve(entry);
    let pending = loading.get(tenantId);
    if (!pending) {
      pending = this.kv
        .get<LimitState>(this.key(tenantId), 'json')
        // KV down: this isolate goes on limiting with what it knows (its own traffic, exactly).
        .catch((error) => {
          console.warn('rate-limit state read failed, limiting on this isolate alone', tenantId, error instanceof Error ? error.message : error);
          return entry?.state ?? null;
        })
        .then((stored) => {
          const fresh: IsolateEntry = { state: stored ?? {}, readAt: now, writtenAt: entry?.writtenAt ?? 0, dirty: false };
          isolateBuckets.set(tenantId, fresh);
          return fresh;
        })
        .finally(() => loading.delete(tenantId));
      loading.set(tenantId, pending);
    }
    return pending;
  }

  /** Writes the entry if the last write was a second ago or more; otherwise a later call will. */
  private save(tenantId: string, entry: IsolateEntry, now: number): void {
    entry.dirty = true;
    if (now - entry.writtenAt < SYNC_INTERVAL_MS) return;
    entry.writtenAt = now;
    entry.dirty = false;
    const write = this.kv.put(this.key(tenantId), JSON.stringify(entry.state), { expirationTtl: KV_TTL_S });
    // A write KV refuses (another isolate wrote this second) only costs precision.
    this.defer(write.catch((error) => console.warn('rate-limit state write failed', tenantId, error)));
  }

  async reserve(tenantId: string, limits: Limits, tokens: number): Promise<LimitDecision> {
    const now = Date.now();
    const entry = await this.load(tenantId, now);
    const decision = reserve(entry.state, limits, tokens, now);
    if (decision.allowed) {
      entry.state = decision.state;
      this.save(tenantId, entry, now);
    }
    return decision;
  }

  async reconcile(tenantId: string, limits: Limits, delta: number): Promise<void> {
    const now = Date.now();
    const entry = await this.load(tenantId, now);
    entry.state = reconcile(entry.state, limits, delta, now);
    this.save(tenantId, entry, now);
  }
}

/**
 * One per tenant (idFromName(tenantId)): the exact store of its buckets, and the exact ledger of
 * its monthly budget (budget.ts). The ledger is kept in memory: it holds only the calls in
 * flight, and the object is evicted only when none are.
 */
export class TenantRateLimiter extends DurableObject {
  private state: LimitState | undefined;
  private readonly spend = new SpendLedger();

  reserveSpend(month: string, budgetNano: number, d1SpentNano: number, estimateNano: number): SpendDecision {
    return this.spend.reserve(month, budgetNano, d1SpentNano, estimateNano);
  }

  settleSpend(month: string, estimateNano: number, costNano: number): void {
    this.spend.settle(month, estimateNano, costNano);
  }

  private async current(): Promise<LimitState> {
    this.state ??= (await this.ctx.storage.get<LimitState>('state')) ?? {};
    return this.state;
  }

  async reserve(limits: Limits, tokens: number): Promise<LimitDecision> {
    const decision = reserve(await this.current(), limits, tokens, Date.now());
    if (decision.allowed) {
      this.state = decision.state;
      await this.ctx.storage.put('state', decision.state);
    }
    return decision;
  }

  async reconcile(limits: Limits, delta: number): Promise<void> {
    this.state = reconcile(await this.current(), limits, delta, Date.now());
    await this.ctx.storage.put('state', this.state);
  }
}

export class DurableObjectRateLimitStore implements RateLimitStore {
  constructor(private readonly namespace: DurableObjectNamespace<TenantRateLimiter>) {}

  private stub = (tenantId: string) => this.namespace.get(this.namespace.idFromName(tenantId));

  reserve(tenantId: string, limits: Limits, tokens: number): Promise<LimitDecision> {
    return this.stub(tenantId).reserve(limits, tokens) as Promise<LimitDecision>;
  }

  async reconcile(tenantId: string, limits: Limits, delta: number): Promise<void> {
    await this.stub(tenantId).reconcile(limits, delta);
  }
}
