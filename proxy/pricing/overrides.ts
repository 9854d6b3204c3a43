/**
 * The prices in force: the built-in table (pricing.ts) with the overrides set through the
 * admin API on top. Overrides are read from D1 at most every 30 seconds per isolate, so a
 * change reaches every isolate within that time (at once in the isolate that made it).
 */
import type { Env } from '../core/env';
import { BUILT_IN_MODELS, PRICES_AS_OF, type CatalogModel, type ModelPrice, type Price } from './catalog';

const OVERRIDES_TTL_MS = 30_000;

interface OverrideRow {
  model: string;
  input_per_mtok: number;
  output_per_mtok: number;
  cached_input_per_mtok: number | null;
  cache_write_per_mtok: number | null;
  cache_write_1h_per_mtok: number | null;
  updated_at: number;
}

let cached: { rows: Map<string, OverrideRow>; readAt: number } | null = null;

/** The overrides; when D1 cannot be read, the last ones this isolate read (none: built-in prices), tried again on the next call. */
export async function priceOverrides(env: Env): Promise<Map<string, OverrideRow>> {
  if (cached && Date.now() - cached.readAt < OVERRIDES_TTL_MS) return cached.rows;
  try {
    const { results } = await env.DB.prepare('SELECT * FROM price_overrides').all<OverrideRow>();
    cached = { rows: new Map(results.map((row) => [row.model, row])), readAt: Date.now() };
  } catch (error) {
    console.error('price overrides: D1 unavailable, using the last known prices', error instanceof Error ? error.message : error);
    return cached?.rows ?? new Map();
  }
  return cached.rows;
}

function toPrice(row: OverrideRow): Price {
  return {
    input_per_mtok: row.input_per_mtok,
    output_per_mtok: row.output_per_mtok,
    ...(row.cached_input_per_mtok === null ? {} : { cached_input_per_mtok: row.cached_input_per_mtok }),
    ...(row.cache_write_per_mtok === null ? {} : { cache_write_per_mtok: row.cache_write_per_mtok }),
    ...(row.cache_write_1h_per_mtok === null ? {} : { cache_write_1h_per_mtok: row.cache_write_1h_per_mtok }),
  };
}

/**
 * The price of `modelId` now: its override, else its built-in price, else null (unpriced). An
 * override is flat: no tier or long-context rates, no regional uplift (see priceForCall).
 */
export async function effectivePrice(env: Env, modelId: string, builtIn: ModelPrice | null): Promise<ModelPrice | null> {
  const override = (await priceOverrides(env)).get(modelId);
  return override ? toPrice(override) : builtIn;
}

export async function setPriceOverride(env: Env, model: string, price: Price): Promise<void> {
  await env.DB.prepare(
    `INSERT INTO price_overrides (model, input_per_mtok, output_per_mtok, cached_input_per_mtok, cache_write_per_mtok, cache_write_1h_per_mtok, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (model) DO UPDATE SET input_per_mtok = excluded.input_per_mtok, output_per_mtok = excluded.output_per_mtok,
       cached_input_per_mtok = excluded.cached_input_per_mtok, cache_write_per_mtok = excluded.cache_write_per_mtok,
       cache_write_1h_per_mtok = excluded.cache_write_1h_per_mtok, updated_at = excluded.updated_at`,
  )
    .bind(
      model,
      price.input_per_mtok,
      price.output_per_mtok,
      price.cached_input_per_mtok ?? null,
      price.cache_write_per_mtok ?? null,
      price.cache_write_1h_per_mtok ?? null,
      Date.now(),
    )
    .run();
  cached = null;
}

/** A price with every cache rate spelled out (a missing one defaults as costNano defaults it). */
type FullPrice = Required<Price>;

export interface PriceEntry extends FullPrice {
  model: string;
  provider: string;
  kind: CatalogModel['kind'] | null;
  tier: CatalogModel['tier'] | null;
  /** The rates of a whole request over `above_input_tokens` input tokens; null: one rate at any length. */
  long_context: (FullPrice & { above_input_tokens: number }) | null;
  /** Percent added to every rate of a call processed in one region (data residency). */
  regional_uplift_percent: number;
  source: 'built-in' | 'override';
  as_of: string;
}

const fullPrice = (price: Price): FullPrice => ({
  input_per_mtok: price.input_per_mtok,
  output_per_mtok: price.output_per_mtok,
  cached_input_per_mtok: price.cached_input_per_mtok ?? price.input_per_mtok,
  cache_write_per_mtok: price.cache_write_per_mtok ?? price.input_per_mtok,
  cache_write_1h_per_mtok: price.cache_write_1h_per_mtok ?? price.cache_write_per_mtok ?? price.input_per_mtok,
});

/**
 * Every priced model: the built-in table with overrides applied, then override-only models. An
 * override is flat, so an overridden model shows no long-context rates and no regional uplift.
 */
export async function listPrices(env: Env): Promise<PriceEntry[]> {
  const overrides = await priceOverrides(env);
  const entry = (model: string, price: ModelPrice, catalog: CatalogModel | undefined, override: OverrideRow | undefined): PriceEntry => ({
    model,
    provider: model.slice(0, model.indexOf('/')),
    kind: catalog?.kind ?? null,
    tier: catalog?.tier ?? null,
    ...fullPrice(price),
    long_context: price.long_context ? { above_input_tokens: price.long_context.above_input_tokens, ...fullPrice(price.long_context) } : null,
    regional_uplift_percent: price.regional_uplift_percent ?? 0,
    source: override ? 'override' : 'built-in',
    as_of: override ? new Date(override.updated_at).toISOString() : (catalog?.as_of ?? PRICES_AS_OF),
  });
  const builtIn = BUILT_IN_MODELS.map((m) => {
    const override = overrides.get(m.id);
    return entry(m.id, override ? toPrice(override) : m, m, override);
  });
  const known = new Set(BUILT_IN_MODELS.map((m) => m.id));
  const extra = [...overrides.values()].filter((row) => !known.has(row.model)).map((row) => entry(row.model, toPrice(row), undefined, row));
  return [...builtIn, ...extra];
}
