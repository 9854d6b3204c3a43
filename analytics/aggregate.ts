/**
 * What every report and rollup adds up: the counters of a set of calls, per row of the request
 * log in SQL, and the projections the rollups keep (see migrations/0006_rollup_projections.sql).
 */
import type { TagFilter } from './types';

export const COUNTERS = [
  'requests',
  'errors',
  'upstream_calls',
  'upstream_errors',
  'cache_hits',
  'cache_misses',
  'prompt_tokens',
  'completion_tokens',
  'cached_tokens',
  'cache_write_tokens',
  'reasoning_tokens',
  'cheap_tokens',
  'tiered_tokens',
  'cost_nano',
  'saved_nano',
] as const;

export type Counter = (typeof COUNTERS)[number];
export type Counters = Record<Counter, number>;

/** Tokens that went to an upstream: response-cache hits are answered without one. */
const UPSTREAM_TOKENS = "CASE WHEN cache <> 'HIT' THEN prompt_tokens + completion_tokens ELSE 0 END";

/**
 * A call that reached an upstream: it made at least one upstream attempt (`attempts` is 0 for a
 * response-cache hit and for a call the proxy refused before any: rate or token limit, budget,
 * invalid request, unknown model). Its row is its last attempt's outcome, so a call rescued by a
 * retry or a fallback is a 200 of the model that answered.
 */
const REACHED_UPSTREAM = 'attempts > 0';

/**
 * Each counter's value for one raw request-log row, in SQL. `upstream_errors` are the calls that
 * reached an upstream and failed: whatever the upstream answered (5xx, a 429 passed through, a
 * 4xx rejecting the request), a timeout, or a stream cut short; not a 499 (the client went away).
 * The proxy's own refusals are `errors` but never `upstream_errors`.
 */
export const RAW_COUNTER_SQL: Record<Counter, string> = {
  requests: '1',
  errors: '(status >= 400)',
  upstream_calls: `(${REACHED_UPSTREAM})`,
  upstream_errors: `(status >= 400 AND status <> 499 AND ${REACHED_UPSTREAM})`,
  cache_hits: "(cache = 'HIT')",
  cache_misses: "(cache = 'MISS')",
  prompt_tokens: 'prompt_tokens',
  completion_tokens: 'completion_tokens',
  cached_tokens: 'cached_tokens',
  cache_write_tokens: 'cache_write_tokens',
  reasoning_tokens: 'reasoning_tokens',
  cheap_tokens: `CASE WHEN tier = 'cheap' THEN ${UPSTREAM_TOKENS} ELSE 0 END`,
  tiered_tokens: `CASE WHEN tier IN ('cheap', 'expensive') THEN ${UPSTREAM_TOKENS} ELSE 0 END`,
  cost_nano: 'cost_nano',
  saved_nano: 'saved_nano',
};

export interface Scope {
  from: number;
  to: number;
  tenant?: string;
  /** Only the calls of this end user. */
  user?: string;
  /** Only the calls with this tag. */
  tag?: TagFilter;
}

export const emptyCounters = (): Counters => Object.fromEntries(COUNTERS.map((c) => [c, 0])) as Counters;

/**
 * What a call is attributed to (core/attribution.ts): its end user, its API key, or its value of
 * one tag. The attribute rollups keep each alone (attribute-rollup.ts), without the other dimensions.
 */
export type Attribute = 'user' | 'key_id' | `tag:${string}`;

/** What points are split by; `provider` is read from the model's `provider/` prefix. */
export type Dimension = 'tenant_id' | 'model' | 'tier' | 'provider' | 'endpoint' | Attribute;

/**
 * The dimensions a rollup row keeps (its `dims`, the kept ones joined by '+' in this order:
 * tenant, model, tier, endpoint); the others hold SUMMED. See migrations/0006 and 0012.
 */
export const PROJECTIONS = ['all', 'tenant', 'model', 'tier', 'endpoint', 'tenant+model', 'tenant+tier', 'tenant+endpoint', 'tenant+model+endpoint'] as const;
export type Projection = (typeof PROJECTIONS)[number];
export const SUMMED = '*';

/** The rollups' dimension columns, in key order. */
export const ROLLUP_DIMENSIONS = ['tenant_id', 'model', 'tier', 'endpoint'] as const;
export type RollupDimension = (typeof ROLLUP_DIMENSIONS)[number];

/** The name a projection gives each dimension column it may keep. */
const KEPT_AS: Record<RollupDimension, string> = { tenant_id: 'tenant', model: 'model', tier: 'tier', endpoint: 'endpoint' };

export type ProjectionColumns = Record<RollupDimension, boolean>;

export const columnsOf = (projection: Projection): ProjectionColumns => {
  const kept = projection.split('+');
  return Object.fromEntries(ROLLUP_DIMENSIONS.map((d) => [d, kept.includes(KEPT_AS[d])])) as ProjectionColumns;
};

/** The projection whose rows answer a query split by `dimensions`, for all tenants or one. */
export function projectionFor(dimensions: Dimension[], oneTenant: boolean): Projection {
  const keep = [
    (oneTenant || dimensions.includes('tenant_id')) && 'tenant',
    (dimensions.includes('model') || dimensions.includes('provider')) && 'model',
    dimensions.includes('tier') && 'tier',
    dimensions.includes('endpoint') && 'endpoint',
  ].filter(Boolean);
  const name = keep.join('+') || 'all';
  if (!(PROJECTIONS as readonly string[]).includes(name)) throw new Error(`no rollup keeps ${name}`);
  return name as Projection;
}

/** The rollup job's progress, and how far back each source is still complete (0: from the start). */
export interface AnalyticsState {
  /** Hours before this are in rollup_hourly, and whole days before it in rollup_daily. */
  rolledUntil: number;
  /** Raw rows before this may have been purged (an hour boundary). */
  rawFrom: number;
  /** rollup_hourly rows before this may have been pruned (a day boundary); rollup_daily keeps every day. */
  hourlyFrom: number;
  /**
   * The attribute rollups are complete from this hour on: the raw_from of migration 0023, which
   * could not roll up older hours, then a UTC midnight as daily attribute rows are pruned.
   */
  attributesFrom: number;
  /** rollup_attribute_hourly rows before this may have been pruned (a UTC midnight at most a few days before raw_from). */
  attributeHourlyFrom: number;
}

export const STATE_KEYS: Record<keyof AnalyticsState, string> = {
  rolledUntil: 'rolled_until',
  rawFrom: 'raw_from',
  hourlyFrom: 'hourly_from',
  attributesFrom: 'attributes_from',
  attributeHourlyFrom: 'attribute_hourly_from',
};

export async function analyticsState(db: D1Database): Promise<AnalyticsState> {
  const { results } = await db.prepare('SELECT key, value FROM analytics_state').all<{ key: string; value: number }>();
  const valueOf = (key: string) => results.find((r) => r.key === key)?.value ?? 0;
  return {
    rolledUntil: valueOf(STATE_KEYS.rolledUntil),
    rawFrom: valueOf(STATE_KEYS.rawFrom),
    hourlyFrom: valueOf(STATE_KEYS.hourlyFrom),
    attributesFrom: valueOf(STATE_KEYS.attributesFrom),
    attributeHourlyFrom: valueOf(STATE_KEYS.attributeHourlyFrom),
  };
}
