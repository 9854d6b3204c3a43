/**
 * Turns the `model` a client sent into the provider, upstream model, tier and price to use.
 * Accepted: a catalog model (`gpt-4o-mini` or `openai/gpt-4o-mini`), any model of a provider
 * given with its prefix (`openai/my-finetune`, for OpenAI-compatible upstreams serving their
 * own models), a Workers AI `@cf/...` name, or a tier alias (`cheap`, `expensive`).
 */
import type { Env } from '../core/env';
import { invalidRequest, modelNotFound } from '../core/errors';
import { BUILT_IN_MODELS, type CatalogModel, type ModelPrice, type Tier } from '../pricing/catalog';
import { isProviderName, PROVIDERS } from '../providers';
import type { ProviderName } from '../providers/types';

export interface ResolvedModel {
  /** What the client asked for. */
  requested: string;
  /** `provider/model` actually used. */
  id: string;
  provider: ProviderName;
  /** The provider's own model name. */
  model: string;
  tier: Tier;
  /** Why this model: `model` (asked by name) or `alias:<tier>`. */
  reason: string;
  /** Null for a model outside the price table: it is served and logged at zero cost. */
  price: ModelPrice | null;
}

const byId = new Map(BUILT_IN_MODELS.map((m) => [m.id, m]));
const byBareName = new Map<string, CatalogModel>();
for (const m of BUILT_IN_MODELS) if (!byBareName.has(m.model)) byBareName.set(m.model, m);

const TIER_DEFAULTS: Array<{ when: (env: Env) => boolean; cheap: string; expensive: string }> = [
  { when: (env) => !!env.OPENAI_API_KEY, cheap: 'openai/gpt-4o-mini', expensive: 'openai/gpt-4o' },
  { when: (env) => !!env.ANTHROPIC_API_KEY, cheap: 'anthropic/claude-haiku-4-5', expensive: 'anthropic/claude-sonnet-4-5' },
  { when: () => true, cheap: 'mock/mock-mini', expensive: 'mock/mock-large' },
];

/** The `provider/model` behind each tier. */
export type Tiers = Record<Tier, string>;

/**
 * A tenant's tiers: its own overrides, else CHEAP_MODEL / EXPENSIVE_MODEL, else the first
 * configured provider's pair.
 */
export function tiersFor(env: Env, overrides?: { cheap_model?: string | null; expensive_model?: string | null }): Tiers {
  const fallback = TIER_DEFAULTS.find((d) => d.when(env))!;
  return {
    cheap: overrides?.cheap_model || env.CHEAP_MODEL?.trim() || fallback.cheap,
    expensive: overrides?.expensive_model || env.EXPENSIVE_MODEL?.trim() || fallback.expensive,
  };
}

function tierOf(tiers: Tiers, id: string, catalog: CatalogModel | undefined): Tier {
  if (id === tiers.cheap) return 'cheap';
  if (id === tiers.expensive) return 'expensive';
  return catalog?.tier ?? 'expensive';
}

/**
 * A pinned snapshot's suffix: `-20250929` (Anthropic), `-2024-08-06` (OpenAI), or `-latest`.
 * A snapshot is the catalog model it pins, priced as that model (unless a price override names
 * the snapshot itself), and keeps its own name upstream.
 */
const SNAPSHOT = /-(?:\d{8}|\d{4}-\d{2}-\d{2}|latest)$/;

/** The catalog model a name stands for: itself, or the model a snapshot of it pins. */
const catalogOf = (id: string): CatalogModel | undefined => byId.get(id) ?? byId.get(id.replace(SNAPSHOT, ''));

function split(name: string): { provider: ProviderName; model: string } | null {
  const slash = name.indexOf('/');
  if (slash > 0) {
    const prefix = name.slice(0, slash);
    if (isProviderName(prefix)) return { provider: prefix, model: name.slice(slash + 1) };
  }
  // A bare name: a catalog model or a snapshot of one (`claude-sonnet-4-5-20250929`, as Claude Code sends it).
  const known = byBareName.get(name) ?? byBareName.get(name.replace(SNAPSHOT, ''));
  if (known) return { provider: known.provider, model: name };
  if (name.startsWith('@cf/')) return { provider: 'workers-ai', model: name };
  return null;
}

export const isTierAlias = (name: string): name is Tier => name === 'cheap' || name === 'expensive';

export function resolveModel(env: Env, tiers: Tiers, requested: string, kind: CatalogModel['kind']): ResolvedModel {
  const alias = isTierAlias(requested) ? requested : null;
  const name = alias ? tiers[alias] : requested;
  const parts = split(name);
  if (!parts || !parts.model) throw modelNotFound(requested);
  const id = `${parts.provider}/${parts.model}`;
  const catalog = catalogOf(id);
  // The mock provider only serves its own models; real providers may serve models newer
  // than the price table, so those pass through unpriced.
  if (!catalog && parts.provider === 'mock') throw modelNotFound(requested);
  if (catalog && catalog.kind !== kind) {
    throw invalidRequest(
      `The model \`${requested}\` is a${catalog.kind === 'chat' ? ' chat' : 'n embeddings'} model and cannot serve this endpoint.`,
      'model',
      'model_not_supported',
    );
  }
  const unavailable = PROVIDERS[parts.provider].unavailableReason(env);
  if (unavailable) throw modelNotFound(requested, `is not available here: ${unavailable}`);
  return {
    requested,
    id,
    provider: parts.provider,
    model: parts.model,
    tier: alias ?? tierOf(tiers, id, catalog),
    reason: alias ? `alias:${alias}` : 'model',
    price: catalog ?? null,
  };
}

/** The models a client may call here: catalog models of configured providers, plus the aliases. */
export function availableModels(env: Env, tiers: Tiers): Array<{ id: string; owned_by: string }> {
  const aliases = [...(['cheap', 'expensive'] as const).map((tier) => ({ id: tier, owned_by: `alias:${tiers[tier]}` })), { id: 'auto', owned_by: 'router' }];
  const models = BUILT_IN_MODELS.filter((m) => PROVIDERS[m.provider].unavailableReason(env) === null).map((m) => ({ id: m.id, owned_by: m.provider }));
  return [...aliases, ...models];
}
