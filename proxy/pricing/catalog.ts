/**
 * Built-in prices and the cost arithmetic. Prices are USD per million tokens, as providers
 * publish them; costs are integer nano-USD so that sums over millions of rows stay exact.
 *
 * Source: the providers' public price pages (OpenAI API pricing, Anthropic pricing with
 * 5-minute cache writes, Cloudflare Workers AI pricing), as listed on PRICES_AS_OF.
 * Override any entry at run time with PUT /admin/prices/{model}.
 */
import type { ProviderName } from '../providers/names';
import type { Usage } from '../core/usage';

export const PRICES_AS_OF = '2026-11-01';

export interface Price {
  input_per_mtok: number;
  output_per_mtok: number;
  /** Price of input tokens read from the provider's prompt cache; defaults to input. */
  cached_input_per_mtok?: number;
  /** Price of input tokens written to the provider's prompt cache; defaults to input. */
  cache_write_per_mtok?: number;
  /** Price of input tokens written to the cache for an hour (Anthropic: 2x input); defaults to cache_write_per_mtok. */
  cache_write_1h_per_mtok?: number;
}

export type Tier = 'cheap' | 'expensive';

export interface CatalogModel extends Price {
  /** `provider/model`, the name the proxy reports in x-proxy-model and the logs. */
  id: string;
  provider: ProviderName;
  /** The provider's own name for the model. */
  model: string;
  /** Which tier the model counts towards when asked for by name. */
  tier: Tier;
  kind: 'chat' | 'embeddings';
}

type Row = [id: string, tier: Tier, input: number, output: number, cachedInput?: number, cacheWrite?: number, cacheWrite1h?: number];

const CHAT: Row[] = [
  // OpenAI: cached input is billed at the discounted rate; writing the cache is free.
  ['openai/gpt-5', 'expensive', 1.25, 10, 0.125],
  ['openai/gpt-5-mini', 'cheap', 0.25, 2, 0.025],
  ['openai/gpt-5-nano', 'cheap', 0.05, 0.4, 0.005],
  ['openai/gpt-4.1', 'expensive', 2, 8, 0.5],
  ['openai/gpt-4.1-mini', 'cheap', 0.4, 1.6, 0.1],
  ['openai/gpt-4.1-nano', 'cheap', 0.1, 0.4, 0.025],
  ['openai/gpt-4o', 'expensive', 2.5, 10, 1.25],
  ['openai/gpt-4o-mini', 'cheap', 0.15, 0.6, 0.075],
  ['openai/o3', 'expensive', 2, 8, 0.5],
  ['openai/o4-mini', 'expensive', 1.1, 4.4, 0.275],
  // Anthropic: cache reads at 0.1x input, 5-minute cache writes at 1.25x input, 1-hour ones at 2x.
  ['anthropic/claude-opus-4-5', 'expensive', 5, 25, 0.5, 6.25, 10],
  ['anthropic/claude-opus-4-1', 'expensive', 15, 75, 1.5, 18.75, 30],
  ['anthropic/claude-sonnet-4-5', 'expensive', 3, 15, 0.3, 3.75, 6],
  ['anthropic/claude-sonnet-4', 'expensive', 3, 15, 0.3, 3.75, 6],
  ['anthropic/claude-haiku-4-5', 'cheap', 1, 5, 0.1, 1.25, 2],
  ['anthropic/claude-3-5-haiku', 'cheap', 0.8, 4, 0.08, 1, 1.6],
  // Workers AI: published per-token prices (billed in neurons at $0.011 per 1,000).
  ['workers-ai/@cf/meta/llama-3.1-8b-instruct', 'cheap', 0.282, 0.827],
  ['workers-ai/@cf/meta/llama-3.1-8b-instruct-fp8', 'cheap', 0.152, 0.287],
  ['workers-ai/@cf/meta/llama-3.2-3b-instruct', 'cheap', 0.051, 0.335],
  ['workers-ai/@cf/meta/llama-3.3-70b-instruct-fp8-fast', 'expensive', 0.293, 2.253],
  ['workers-ai/@cf/openai/gpt-oss-120b', 'expensive', 0.35, 0.75],
  ['workers-ai/@cf/openai/gpt-oss-20b', 'cheap', 0.2, 0.3],
  // The built-in mock provider is priced like the OpenAI models it imitates, so that a
  // fresh install shows realistic spend.
  ['mock/mock-mini', 'cheap', 0.15, 0.6, 0.075],
  ['mock/mock-large', 'expensive', 2.5, 10, 1.25],
];

const EMBEDDINGS: Row[] = [
  ['openai/text-embedding-3-small', 'cheap', 0.02, 0],
  ['openai/text-embedding-3-large', 'cheap', 0.13, 0],
  ['workers-ai/@cf/baai/bge-base-en-v1.5', 'cheap', 0.067, 0],
  ['workers-ai/@cf/baai/bge-large-en-v1.5', 'cheap', 0.204, 0],
  ['mock/mock-embed', 'cheap', 0.02, 0],
];

function toModel(kind: CatalogModel['kind']) {
  return ([id, tier, input, output, cachedInput, cacheWrite, cacheWrite1h]: Row): CatalogModel => {
    const slash = id.indexOf('/');
    return {
      id,
      provider: id.slice(0, slash) as ProviderName,
      model: id.slice(slash + 1),
      tier,
      kind,
      input_per_mtok: input,
      output_per_mtok: output,
      ...(cachedInput === undefined ? {} : { cached_input_per_mtok: cachedInput }),
      ...(cacheWrite === undefined ? {} : { cache_write_per_mtok: cacheWrite }),
      ...(cacheWrite1h === undefined ? {} : { cache_write_1h_per_mtok: cacheWrite1h }),
    };
  };
}

export const BUILT_IN_MODELS: readonly CatalogModel[] = [...CHAT.map(toModel('chat')), ...EMBEDDINGS.map(toModel('embeddings'))];

/** USD per million tokens -> pico-USD per token, an integer for any price with <= 6 decimals. */
const picoPerToken = (usdPerMtok: number) => Math.round(usdPerMtok * 1e6);

/**
 * Cost of one call in nano-USD. Each bucket of input is priced at its own rate:
 * uncached input, cache reads and cache writes are disjoint parts of promptTokens.
 */
export function costNano(usage: Usage, price: Price): number {
  const uncached = Math.max(0, usage.promptTokens - usage.cachedTokens - usage.cacheWriteTokens);
  const writes1h = Math.min(usage.cacheWrite1hTokens ?? 0, usage.cacheWriteTokens);
  const cacheWrite = price.cache_write_per_mtok ?? price.input_per_mtok;
  const pico =
    uncached * picoPerToken(price.input_per_mtok) +
    usage.cachedTokens * picoPerToken(price.cached_input_per_mtok ?? price.input_per_mtok) +
    (usage.cacheWriteTokens - writes1h) * picoPerToken(cacheWrite) +
    writes1h * picoPerToken(price.cache_write_1h_per_mtok ?? cacheWrite) +
    usage.completionTokens * picoPerToken(price.output_per_mtok);
  return Math.round(pico / 1000);
}

export const nanoToUsd = (nano: number) => nano / 1e9;
