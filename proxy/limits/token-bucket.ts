/**
 * Token-bucket arithmetic for the limits of a tenant and of its keys (each a scope,
 * limits/scope.ts), pure so it can be tested on its own and run unchanged by every store (KV in
 * the isolate, or a Durable Object). A bucket holds up to `capacity` units and refills
 * continuously at `capacity` per minute, so a tenant (or key) can burst its whole per-minute
 * allowance and then proceeds at the steady rate.
 */
export interface Bucket {
  /** Units available now; negative after a reservation was corrected upwards (debt). */
  level: number;
  /** Epoch ms of `level`. */
  at: number;
}

/** The state of one scope (a tenant, a key): a bucket per limited dimension. */
export interface LimitState {
  requests?: Bucket;
  tokens?: Bucket;
}

export interface Limits {
  /** Requests per minute; null = unlimited. */
  rpm: number | null;
  /** Tokens per minute; null = unlimited. */
  tpm: number | null;
}

/** What OpenAI's x-ratelimit-* headers report for one dimension. */
export interface BucketView {
  limit: number;
  remaining: number;
  /** Milliseconds until the bucket is full again. */
  resetMs: number;
}

export interface LimitDecision {
  allowed: boolean;
  /** The dimension that refused, when not allowed. */
  exceeded: 'requests' | 'tokens' | null;
  /** When a refused call could succeed, in ms. */
  retryAfterMs: number;
  requests: BucketView | null;
  tokens: BucketView | null;
  state: LimitState;
}

const MINUTE_MS = 60_000;

export function refill(bucket: Bucket | undefined, capacity: number, now: number): Bucket {
  if (!bucket) return { level: capacity, at: now };
  const elapsed = Math.max(0, now - bucket.at);
  return { level: Math.min(capacity, bucket.level + (elapsed * capacity) / MINUTE_MS), at: Math.max(now, bucket.at) };
}

function view(bucket: Bucket, capacity: number): BucketView {
  const remaining = Math.max(0, Math.floor(bucket.level));
  return { limit: capacity, remaining, resetMs: Math.ceil(((capacity - bucket.level) * MINUTE_MS) / capacity) };
}

/** Time until `bucket` holds `amount`, in ms. */
function waitFor(bucket: Bucket, capacity: number, amount: number): number {
  return amount <= bucket.level ? 0 : Math.ceil(((amount - bucket.level) * MINUTE_MS) / capacity);
}

/** Tokens a reservation of `tokens` really takes: clamped to the bucket, none without a tpm. */
export const reservedTokens = (limits: Limits, tokens: number) => (limits.tpm ? Math.min(tokens, limits.tpm) : 0);

/**
 * Reserves one request and `tokens` tokens if both buckets hold enough; otherwise takes
 * nothing. A reservation larger than the whole bucket is clamped to it, so one large call can
 * still pass when the tenant has been idle.
 */
export function reserve(state: LimitState, limits: Limits, tokens: number, now: number): LimitDecision {
  const requests = limits.rpm ? refill(state.requests, limits.rpm, now) : undefined;
  const tokenBucket = limits.tpm ? refill(state.tokens, limits.tpm, now) : undefined;
  const wanted = reservedTokens(limits, tokens);
  const requestWait = requests ? waitFor(requests, limits.rpm!, 1) : 0;
  const tokenWait = tokenBucket ? waitFor(tokenBucket, limits.tpm!, wanted) : 0;
  const allowed = requestWait === 0 && tokenWait === 0;
  if (allowed) {
    if (requests) requests.level -= 1;
    if (tokenBucket) tokenBucket.level -= wanted;
  }
  return {
    allowed,
    exceeded: allowed ? null : requestWait > 0 ? 'requests' : 'tokens',
    retryAfterMs: Math.max(requestWait, tokenWait),
    requests: requests ? view(requests, limits.rpm!) : null,
    tokens: tokenBucket ? view(tokenBucket, limits.tpm!) : null,
    state: { ...(requests ? { requests } : {}), ...(tokenBucket ? { tokens: tokenBucket } : {}) },
  };
}

/** One scope's limits, by its name in the stores. */
export interface ScopedLimits {
  scope: string;
  limits: Limits;
}

/** The answer for a call over all its scopes. */
export interface CombinedDecision {
  allowed: boolean;
  /** The scope (its index) and dimension that refused, when not allowed: the one the call must wait longest for. */
  exceeded: { scope: number; dimension: 'requests' | 'tokens' } | null;
  /** When a refused call could succeed in every scope, in ms. */
  retryAfterMs: number;
  /** Per dimension, the tightest scope's bucket (the least remaining): what OpenAI's x-ratelimit-* headers report. */
  requests: BucketView | null;
  tokens: BucketView | null;
}

function tightest(views: Array<BucketView | null>): BucketView | null {
  let tight: BucketView | null = null;
  for (const view of views) {
    if (view && (!tight || view.remaining < tight.remaining || (view.remaining === tight.remaining && view.limit < tight.limit))) tight = view;
  }
  return tight;
}

/**
 * Reserves one request and `tokens` tokens in every scope's buckets if all of them hold enough;
 * otherwise takes nothing from any. `states` are the scopes' states in the order of `limits`;
 * the states to keep come back in the same order (unchanged when refused).
 */
export function reserveAll(states: LimitState[], limits: Limits[], tokens: number, now: number): { decision: CombinedDecision; states: LimitState[] } {
  const decisions = states.map((state, i) => reserve(state, limits[i], tokens, now));
  let refused = -1;
  decisions.forEach((d, i) => {
    if (!d.allowed && (refused < 0 || d.retryAfterMs > decisions[refused].retryAfterMs)) refused = i;
  });
  const allowed = refused < 0;
  return {
    decision: {
      allowed,
      exceeded: allowed ? null : { scope: refused, dimension: decisions[refused].exceeded! },
      retryAfterMs: Math.max(0, ...decisions.map((d) => d.retryAfterMs)),
      requests: tightest(decisions.map((d) => d.requests)),
      tokens: tightest(decisions.map((d) => d.tokens)),
    },
    states: allowed ? decisions.map((d) => d.state) : states,
  };
}

/**
 * Corrects the token bucket once the real usage is known: `delta` = used - reserved. A refund
 * never fills past capacity; an overrun may leave the bucket in debt, which later calls wait out.
 */
export function reconcile(state: LimitState, limits: Limits, delta: number, now: number): LimitState {
  if (!limits.tpm || delta === 0) return state;
  const bucket = refill(state.tokens, limits.tpm, now);
  return { ...state, tokens: { level: Math.min(limits.tpm, bucket.level - delta), at: bucket.at } };
}
