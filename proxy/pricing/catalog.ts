/**
 * Built-in prices and the cost arithmetic. Prices are USD per million tokens, as providers
 * publish them; costs are integer nano-USD so that sums over millions of rows stay exact.
 *
 * Every entry carries `as_of`, the date of the source its price was taken from, and each group
 * of rows below names that source: the provider's own page where one could be read, otherwise
 * the most recent consistent third-party figure (said so at the group). PRICES_AS_OF is the
 * newest of those dates. Override any entry at run time with PUT /admin/prices/{model}.
 *
 * Besides the rates of each row, the table models (see "Long context" and "Regional processing"
 * below): long-context pricing, where a request whose input is over a threshold is billed whole
 * at higher rates (OpenAI's 1.05M-window models from GPT-5.4 on, Claude Haiku 5.5, Claude Sonnet 4
 * and 4.5 with the 1M-context beta), and the 10% uplift on a call processed in one region
 * (Anthropic's `inference_geo: "us"`, OpenAI's data-residency endpoints, on the models that
 * charge it).
 *
 * What the table does not model: OpenAI's 12-hour cache writes (billed as 30-minute ones), and
 * Anthropic's fast mode (reported apart from the service tier; billed at the standard rates). An
 * OpenAI data-residency endpoint reached through a base URL that hides its host (a gateway) is
 * not recognised, so its calls carry no uplift: price such models with an override.
 */
import type { ProviderName } from '../providers/names';
import type { Usage } from '../core/usage';

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

/** The service tiers a provider prices apart from its standard (default) tier. */
export const SERVICE_TIERS = ['priority', 'flex', 'batch', 'ultrafast'] as const;
export type ServiceTier = (typeof SERVICE_TIERS)[number];

/** A price and, where the provider publishes them, the rates of its other service tiers. */
export interface TieredPrice extends Price {
  service_tiers?: Partial<Record<ServiceTier, Price>>;
}

/**
 * The rates of a request whose input is over a threshold: every bucket of the whole request
 * (input, cache reads and writes, output) is billed at them, not only the tokens past the line.
 */
export interface LongContextPrice extends TieredPrice {
  /** The threshold: a request with more input tokens than this, cache reads and writes included. */
  above_input_tokens: number;
}

/** A model's whole price: its standard and tier rates, its long-context rates, its regional uplift. */
export interface ModelPrice extends TieredPrice {
  long_context?: LongContextPrice;
  /** Percent added to every rate of a call processed in one region (data residency); absent: none. */
  regional_uplift_percent?: number;
}

export type Tier = 'cheap' | 'expensive';

export interface CatalogModel extends ModelPrice {
  /** `provider/model`, the name the proxy reports in x-proxy-model and the logs. */
  id: string;
  provider: ProviderName;
  /** The provider's own name for the model. */
  model: string;
  /** Which tier the model counts towards when asked for by name. */
  tier: Tier;
  kind: 'chat' | 'embeddings';
  /** Date (YYYY-MM-DD) of the source the standard price was taken from. */
  as_of: string;
}

/**
 * [id, date of the source, tier, input, output, cached input, cache write, 1-hour cache write].
 * The cache write is Anthropic's 5-minute write and OpenAI's 30-minute one.
 */
type Row = [id: string, asOf: string, tier: Tier, input: number, output: number, cachedInput?: number, cacheWrite?: number, cacheWrite1h?: number];

const CHAT: Row[] = [
  // ---- OpenAI -------------------------------------------------------------------------------
  // Cached input is billed at the discounted rate. Writing the cache is free up to GPT-5.5;
  // from GPT-5.6 on, a 30-minute cache write costs 1.25x input (the 5th column).

  // GPT-6.2, released 2026-11-17: https://developers.openai.com/api/docs/models (GPT-6.2 Astra
  // $8/$40, GPT-6.2 Sol $2/$10) and https://developers.openai.com/api/docs/models/gpt-6.2-sol
  // (cached $0.10, cache writes $2.50). GPT-6.2 Astra's cached $0.40 is third-party
  // (AgentCompass-Router v0.6.8 and LiteLLM discussion #52347, 2026-11-18); no cache-write price
  // was found for it, so its cache writes default to input.
  ['openai/gpt-6.2-astra', '2026-11-18', 'expensive', 8, 40, 0.4],
  ['openai/gpt-6.2-sol', '2026-11-18', 'expensive', 2, 10, 0.1, 2.5],
  // GPT-6.1 Terra, released 2026-10-26: OpenAI's model page as quoted by
  // https://docs.litellm.ai/blog/gpt-6-1-terra and https://apidog.com/blog/gpt-6-1-terra-pricing/ (third-party).
  ['openai/gpt-6.1-terra', '2026-10-26', 'cheap', 1, 5, 0.05, 1.25],
  // https://developers.openai.com/api/docs/models/gpt-6.1-sol, checked 2026-10-01 (AILSA-SubSwitch
  // 1.0.0(g) release notes; mirrored at w3cschool.cn/openai_api/openai-api-docs-gpt-6-1-sol.html).
  ['openai/gpt-6.1-sol', '2026-10-01', 'expensive', 2, 10, 0.1, 2.5],
  // GPT-6 Sol and Luna, "OpenAI's September 22 pricing": https://docs.litellm.ai/blog/gpt_6_sol_luna,
  // codexometer v0.18.4 (third-party, both citing the OpenAI model pages; Luna's $0.10/$0.50 is
  // also on https://developers.openai.com/api/docs/models).
  ['openai/gpt-6-sol', '2026-09-22', 'expensive', 2, 10, 0.2, 2.5],
  ['openai/gpt-6-luna', '2026-09-22', 'cheap', 0.1, 0.5, 0.01, 0.125],
  // https://developers.openai.com/api/docs/models/gpt-6-astra as read by codex-token-meter 0.2.22
  // (2026-09-05) and LiteLLM discussion #39633.
  ['openai/gpt-6-astra', '2026-09-05', 'expensive', 10, 50, 1, 12.5],
  // GPT-5.6 Sol: list price on https://developers.openai.com/api/docs/models/gpt-5.6-sol; the
  // $4/$20 promotion ("at least through 2026-11-21") ended 2026-11-30 and the list price applies
  // from 2026-12-01 (third-party: docs.laozhang.ai/announcements/price-restore-2026-12, verified 2026-12-01).
  ['openai/gpt-5.6-sol', '2026-12-01', 'expensive', 5, 30, 0.5, 6.25],
  // GPT-5.6 Terra and Luna after OpenAI's 2026-07-30 price cut: pydantic/genai-prices
  // prices/providers/openai.yml (prices_checked 2026-08-02, citing the OpenAI model pages and changelog).
  ['openai/gpt-5.6-terra', '2026-08-02', 'expensive', 2, 12, 0.2, 2.5],
  ['openai/gpt-5.6-luna', '2026-08-02', 'cheap', 0.2, 1.2, 0.02, 0.25],
  // OpenAI's pricing page as verified by tokenmix.ai on 2026-06-04 (third-party; the Fast-mode
  // rates of https://openai.com/api-fast-mode/ agree).
  ['openai/gpt-5.5', '2026-06-04', 'expensive', 5, 30, 0.5],
  ['openai/gpt-5.4', '2026-06-04', 'expensive', 2.5, 15, 0.25],
  ['openai/gpt-5.4-mini', '2026-06-04', 'cheap', 0.75, 4.5, 0.075],
  ['openai/gpt-5.4-nano', '2026-06-04', 'cheap', 0.2, 1.25, 0.02],
  // Pro models (no cached-input rate): pydantic/genai-prices prices_checked dates.
  ['openai/gpt-5.5-pro', '2026-04-24', 'expensive', 30, 180],
  ['openai/gpt-5.4-pro', '2026-03-06', 'expensive', 30, 180],
  ['openai/gpt-5.2-pro', '2025-12-11', 'expensive', 21, 168],
  ['openai/gpt-5-pro', '2025-11-13', 'expensive', 15, 120],
  // GPT-5.2: corrected against OpenAI's pricing by agent-telemetry v1.6.6 (2026-09-30); also
  // github/docs data/tables/copilot/models-and-pricing.yml.
  ['openai/gpt-5.2', '2026-09-30', 'expensive', 1.75, 14, 0.175],
  // pydantic/genai-prices prices_checked 2025-11-13.
  ['openai/gpt-5.1', '2025-11-13', 'expensive', 1.25, 10, 0.125],
  ['openai/gpt-5', '2025-11-13', 'expensive', 1.25, 10, 0.125],
  ['openai/gpt-5-mini', '2025-11-13', 'cheap', 0.25, 2, 0.025],
  ['openai/gpt-5-nano', '2025-11-13', 'cheap', 0.05, 0.4, 0.005],
  // pydantic/genai-prices prices_checked 2025-07-04 (o3: 2025-07-12, after OpenAI's 2025-06-10
  // price cut, when o3-pro launched at $20/$80).
  ['openai/gpt-4.1', '2025-07-04', 'expensive', 2, 8, 0.5],
  ['openai/gpt-4.1-mini', '2025-07-04', 'cheap', 0.4, 1.6, 0.1],
  ['openai/gpt-4.1-nano', '2025-07-04', 'cheap', 0.1, 0.4, 0.025],
  ['openai/gpt-4o', '2025-07-04', 'expensive', 2.5, 10, 1.25],
  ['openai/gpt-4o-mini', '2025-07-04', 'cheap', 0.15, 0.6, 0.075],
  ['openai/o3', '2025-07-12', 'expensive', 2, 8, 0.5],
  ['openai/o3-pro', '2025-06-10', 'expensive', 20, 80],
  ['openai/o4-mini', '2025-07-04', 'expensive', 1.1, 4.4, 0.275],
  ['openai/o3-mini', '2025-07-04', 'expensive', 1.1, 4.4, 0.55],
  ['openai/o1', '2025-07-04', 'expensive', 15, 60, 7.5],

  // ---- Anthropic ----------------------------------------------------------------------------
  // Columns: input, output, cache read, 5-minute write (1.25x input), 1-hour write (2x input).
  // Cache reads are 0.1x input up to Claude 5, and less on newer models (Fable 5.1: 0.025x,
  // Opus 5.5 and Sonnet 5.5: 0.05x).
  // Claude Fable 5.2 (released 2026-11-09), Opus 5.5 and Sonnet 5.5 (cache reads cut to $0.10 on
  // 2026-10-07): https://platform.claude.com/docs/en/about-claude/pricing as checked on 2026-12-01
  // by phuryn/claude-usage v1.5.7 (third-party); Fable 5.2's cache writes ($10/$16) per
  // archid21/rightsize v0.10.2 and docs.laozhang.ai (third-party).
  ['anthropic/claude-fable-5-2', '2026-12-01', 'expensive', 8, 40, 0.2, 10, 16],
  ['anthropic/claude-opus-5-5', '2026-12-01', 'expensive', 4, 20, 0.2, 5, 8],
  ['anthropic/claude-sonnet-5-5', '2026-12-01', 'expensive', 2, 10, 0.1, 2.5, 4],
  // https://platform.claude.com/docs/en/about-claude/pricing and the model pages
  // (platform.claude.com/docs/en/models/*/overview), re-checked against the live page on
  // 2026-10-24 by kurofune/claudit v1.9.2 (which added Haiku 5.5; its rates are for prompts up
  // to 100K tokens).
  ['anthropic/claude-fable-5-1', '2026-10-24', 'expensive', 10, 50, 0.25, 12.5, 20],
  ['anthropic/claude-fable-5', '2026-10-24', 'expensive', 10, 50, 1, 12.5, 20],
  ['anthropic/claude-opus-5', '2026-10-24', 'expensive', 5, 25, 0.5, 6.25, 10],
  ['anthropic/claude-opus-4-8', '2026-10-24', 'expensive', 5, 25, 0.5, 6.25, 10],
  ['anthropic/claude-opus-4-7', '2026-10-24', 'expensive', 5, 25, 0.5, 6.25, 10],
  ['anthropic/claude-opus-4-6', '2026-10-24', 'expensive', 5, 25, 0.5, 6.25, 10],
  ['anthropic/claude-opus-4-5', '2026-10-24', 'expensive', 5, 25, 0.5, 6.25, 10],
  // Retired on the Claude API (still served on Bedrock and Google Cloud); kept for old clients.
  ['anthropic/claude-opus-4-1', '2026-10-24', 'expensive', 15, 75, 1.5, 18.75, 30],
  ['anthropic/claude-sonnet-5', '2026-10-24', 'expensive', 2, 10, 0.2, 2.5, 4],
  ['anthropic/claude-sonnet-4-6', '2026-10-24', 'expensive', 3, 15, 0.3, 3.75, 6],
  ['anthropic/claude-sonnet-4-5', '2026-10-24', 'expensive', 3, 15, 0.3, 3.75, 6],
  ['anthropic/claude-sonnet-4', '2026-10-24', 'expensive', 3, 15, 0.3, 3.75, 6],
  ['anthropic/claude-haiku-5-5', '2026-10-24', 'cheap', 0.1, 0.5, 0.01, 0.125, 0.2],
  ['anthropic/claude-haiku-4-5', '2026-10-24', 'cheap', 1, 5, 0.1, 1.25, 2],
  // Anthropic's pricing page row, as verified on 2026-10-10 by the synaps crate's pricing module
  // (docs.rs/synaps); kept for old clients.
  ['anthropic/claude-3-5-haiku', '2026-10-10', 'cheap', 0.8, 4, 0.08, 1, 1.6],

  // ---- Workers AI ---------------------------------------------------------------------------
  // Published per-token prices (billed in neurons at $0.011 per 1,000) of
  // https://developers.cloudflare.com/workers-ai/platform/pricing/, as transcribed on 2026-08-27
  // by pydantic/genai-prices prices/providers/cloudflare.yml (third-party; no later copy of the
  // page was found). Some models (Kimi, GLM-5.2) discount cached input tokens.
  ['workers-ai/@cf/moonshotai/kimi-k2.7-code', '2026-08-27', 'expensive', 0.95, 4, 0.19],
  ['workers-ai/@cf/moonshotai/kimi-k2.6', '2026-08-27', 'expensive', 0.95, 4, 0.16],
  ['workers-ai/@cf/moonshotai/kimi-k2.5', '2026-08-27', 'expensive', 0.6, 3, 0.1],
  ['workers-ai/@cf/zai-org/glm-5.2', '2026-08-27', 'expensive', 1.4, 4.4, 0.26],
  ['workers-ai/@cf/zai-org/glm-5.3-flash', '2026-08-27', 'cheap', 0.15, 0.5, 0.03],
  ['workers-ai/@cf/zai-org/glm-4.7-flash', '2026-08-27', 'cheap', 0.06, 0.4],
  ['workers-ai/@cf/deepseek-ai/deepseek-v4-pro-0813', '2026-08-27', 'expensive', 1.32, 3.96, 0.044],
  ['workers-ai/@cf/deepseek-ai/deepseek-v4-flash-0731', '2026-08-27', 'cheap', 0.44, 1.32, 0.014],
  ['workers-ai/@cf/nvidia/nemotron-3-120b-a12b', '2026-08-27', 'expensive', 0.5, 1.5],
  ['workers-ai/@cf/qwen/qwen3.8-27b', '2026-08-27', 'expensive', 0.45, 3.2],
  ['workers-ai/@cf/qwen/qwen3-30b-a3b-fp8', '2026-08-27', 'cheap', 0.051, 0.335],
  ['workers-ai/@cf/google/gemma-4-26b-a4b-it', '2026-08-27', 'cheap', 0.1, 0.3],
  ['workers-ai/@cf/meta/llama-4-scout-17b-16e-instruct', '2026-08-27', 'cheap', 0.27, 0.85],
  ['workers-ai/@cf/mistralai/mistral-small-3.1-24b-instruct', '2026-08-27', 'cheap', 0.351, 0.555],
  ['workers-ai/@cf/meta/llama-3.3-70b-instruct-fp8-fast', '2026-08-27', 'expensive', 0.293, 2.253],
  ['workers-ai/@cf/meta/llama-3.1-8b-instruct-fp8-fast', '2026-08-27', 'cheap', 0.045, 0.384],
  // Deprecated by Cloudflare, still served; kept for old clients.
  ['workers-ai/@cf/meta/llama-3.1-8b-instruct', '2026-08-27', 'cheap', 0.282, 0.827],
  ['workers-ai/@cf/meta/llama-3.1-8b-instruct-fp8', '2026-08-27', 'cheap', 0.152, 0.287],
  ['workers-ai/@cf/meta/llama-3.2-3b-instruct', '2026-08-27', 'cheap', 0.051, 0.335],
  ['workers-ai/@cf/openai/gpt-oss-120b', '2026-08-27', 'expensive', 0.35, 0.75],
  ['workers-ai/@cf/openai/gpt-oss-20b', '2026-08-27', 'cheap', 0.2, 0.3],

  // ---- Mock ---------------------------------------------------------------------------------
  // The built-in mock provider is priced like the OpenAI models it imitates (gpt-4o-mini and
  // gpt-4o, same source date), so that a fresh install shows realistic spend.
  ['mock/mock-mini', '2025-07-04', 'cheap', 0.15, 0.6, 0.075],
  ['mock/mock-large', '2025-07-04', 'expensive', 2.5, 10, 1.25],
];

const EMBEDDINGS: Row[] = [
  // pydantic/genai-prices prices_checked 2025-07-04.
  ['openai/text-embedding-3-small', '2025-07-04', 'cheap', 0.02, 0],
  ['openai/text-embedding-3-large', '2025-07-04', 'cheap', 0.13, 0],
  // Workers AI pricing page, as transcribed on 2026-08-27 (see the chat rows).
  ['workers-ai/@cf/baai/bge-m3', '2026-08-27', 'cheap', 0.012, 0],
  ['workers-ai/@cf/qwen/qwen3-embedding-0.6b', '2026-08-27', 'cheap', 0.012, 0],
  ['workers-ai/@cf/baai/bge-small-en-v1.5', '2026-08-27', 'cheap', 0.02, 0],
  ['workers-ai/@cf/baai/bge-base-en-v1.5', '2026-08-27', 'cheap', 0.067, 0],
  ['workers-ai/@cf/baai/bge-large-en-v1.5', '2026-08-27', 'cheap', 0.204, 0],
  ['mock/mock-embed', '2025-07-04', 'cheap', 0.02, 0],
];

// ---- Service tiers ----------------------------------------------------------------------------

/**
 * OpenAI Fast mode (Priority processing until its renaming on 2026-07-30) per model:
 * [input, output, cached input], from https://openai.com/api-fast-mode/ (and the earlier
 * https://openai.com/api-priority-processing/ for the GPT-4 rows). o3 and o4-mini: Vercel AI
 * Gateway's "-fast" listings of OpenAI's rates (third-party); o4-mini's cached $0.50 was not
 * shown there and keeps the 1:4 ratio of its standard cached rate, as every other row does.
 */
const OPENAI_PRIORITY: Record<string, [input: number, output: number, cachedInput: number]> = {
  'gpt-5.5': [12.5, 75, 1.25],
  'gpt-5.4': [5, 30, 0.5],
  'gpt-5.4-mini': [1.5, 9, 0.15],
  'gpt-5.2': [3.5, 28, 0.35],
  'gpt-5.1': [2.5, 20, 0.25],
  'gpt-5': [2.5, 20, 0.25],
  'gpt-5-mini': [0.45, 3.6, 0.045],
  'gpt-4.1': [3.5, 14, 0.875],
  'gpt-4.1-mini': [0.7, 2.8, 0.175],
  'gpt-4.1-nano': [0.2, 0.8, 0.05],
  'gpt-4o': [4.25, 17, 2.125],
  'gpt-4o-mini': [0.25, 1, 0.125],
  o3: [3.5, 14, 0.875],
  'o4-mini': [2, 8, 0.5],
};

/**
 * Models whose Fast mode is twice every Standard rate: the GPT-5.6 rows of the Fast-mode table,
 * and "Fast mode costs twice the Standard rate", as the GPT-6 model pages say (seen for GPT-6
 * Astra, 6.1 Sol, 6.1 Terra and 6.2 Sol; Vercel lists GPT-6 Luna's fast rate at 2x; GPT-6 Sol
 * and 6.2 Astra follow the family's rule).
 */
const OPENAI_PRIORITY_2X = new Set([
  'gpt-6.2-astra',
  'gpt-6.2-sol',
  'gpt-6.1-terra',
  'gpt-6.1-sol',
  'gpt-6-astra',
  'gpt-6-sol',
  'gpt-6-luna',
  'gpt-5.6-sol',
  'gpt-5.6-terra',
  'gpt-5.6-luna',
]);

/**
 * OpenAI Ultrafast, a multiple of the Standard rates: GPT-6 Astra 6x ($60/$6/$75/$300, OpenAI's
 * Ultrafast guide as quoted by apidog.com), GPT-6.1 Sol 6x (its model page), GPT-6.2 Sol 3x
 * "through February 28, 2027, and 6 times the Standard rate starting March" (its model page):
 * revisit it then.
 */
const OPENAI_ULTRAFAST: Record<string, number> = { 'gpt-6-astra': 6, 'gpt-6.1-sol': 6, 'gpt-6.2-sol': 3 };

/**
 * Every input rate of `price` (input, cache reads and writes) times `factor` and its output rate
 * times `outputFactor`, kept to whole pico-USD per token.
 */
function scaled(price: Price, factor: number, outputFactor = factor): Price {
  const times = (usdPerMtok: number, by = factor) => Math.round(usdPerMtok * 1e6 * by) / 1e6;
  return {
    input_per_mtok: times(price.input_per_mtok),
    output_per_mtok: times(price.output_per_mtok, outputFactor),
    ...(price.cached_input_per_mtok === undefined ? {} : { cached_input_per_mtok: times(price.cached_input_per_mtok) }),
    ...(price.cache_write_per_mtok === undefined ? {} : { cache_write_per_mtok: times(price.cache_write_per_mtok) }),
    ...(price.cache_write_1h_per_mtok === undefined ? {} : { cache_write_1h_per_mtok: times(price.cache_write_1h_per_mtok) }),
  };
}

// ---- Long context --------------------------------------------------------------------------

/**
 * Long-context pricing per model: [threshold in input tokens, factor on the input rates (input,
 * cache reads, cache writes), factor on output]. A request with more input tokens than the
 * threshold, counting cache reads and writes, is billed whole at the scaled rates.
 * - OpenAI, the models with a 1.05M-token window (GPT-5.4 and 5.5 with their pro models, GPT-5.6
 *   and the GPT-6 family; not GPT-5.4 mini and nano, 400K windows): over 272K input tokens, 2x
 *   input and cache rates and 1.5x output for the full request, at Standard, Batch and Flex
 *   alike (https://developers.openai.com/api/docs/models/gpt-6.2-sol and gpt-5.6-luna, 2026-11;
 *   the pricing page as quoted by tokencost.app and benchr.org for GPT-5.5, and by LiteLLM
 *   discussion #39633 for GPT-6 Astra, 2026-09-05). The pro models' rule is third-party (APIYI's
 *   GPT-5.5 Pro tiers, 2026-07-31).
 * - Anthropic: Claude Haiku 5.5 bills prompts over 100K tokens at 5x every rate
 *   (https://platform.claude.com/docs/en/models/haiku-5-5/overview, 2026-10-24; cache reads and
 *   writes count towards the threshold, as PromptFuel v1.0.23 notes). Claude Sonnet 4 and 4.5
 *   with the 1M-context beta bill requests over 200K input tokens at $6 input and $22.50 output
 *   (2x and 1.5x), the cache multipliers stacking (Anthropic's pricing page as archived in 2025,
 *   eonsr.com's explainer). Opus 4.6, Sonnet 4.6 and every later model serve their whole 1M
 *   window at the standard rates (since 2026-03-13, agentmastered.com).
 *
 * The service tiers scale the same way: Batch and Flex are half the long-context rates, and
 * OpenAI's Fast mode "costs twice the Standard rate for the same context length" (GPT-6.2 Sol's
 * page). For the models whose Fast rates are a table of their own (GPT-5.5, GPT-5.4) and for
 * Ultrafast, no long-context rate is published: the same factors are assumed on top of them.
 */
const LONG_CONTEXT: Record<string, [aboveInputTokens: number, inputFactor: number, outputFactor: number]> = Object.fromEntries([
  ...[
    'openai/gpt-6.2-astra',
    'openai/gpt-6.2-sol',
    'openai/gpt-6.1-terra',
    'openai/gpt-6.1-sol',
    'openai/gpt-6-sol',
    'openai/gpt-6-luna',
    'openai/gpt-6-astra',
    'openai/gpt-5.6-sol',
    'openai/gpt-5.6-terra',
    'openai/gpt-5.6-luna',
    'openai/gpt-5.5',
    'openai/gpt-5.4',
    'openai/gpt-5.5-pro',
    'openai/gpt-5.4-pro',
  ].map((id) => [id, [272_000, 2, 1.5]]),
  ['anthropic/claude-haiku-5-5', [100_000, 5, 5]],
  ['anthropic/claude-sonnet-4-5', [200_000, 2, 1.5]],
  ['anthropic/claude-sonnet-4', [200_000, 2, 1.5]],
]);

/** A model's long-context rates, its service tiers' included, from its standard and tier rates. */
function longContextOf(id: string, standard: Price, serviceTiers: TieredPrice['service_tiers']): LongContextPrice | undefined {
  const rule = LONG_CONTEXT[id];
  if (!rule) return undefined;
  const [aboveInputTokens, inputFactor, outputFactor] = rule;
  const tiers = Object.entries(serviceTiers ?? {}).map(([tier, price]) => [tier, scaled(price, inputFactor, outputFactor)]);
  return {
    above_input_tokens: aboveInputTokens,
    ...scaled(standard, inputFactor, outputFactor),
    ...(tiers.length > 0 ? { service_tiers: Object.fromEntries(tiers) } : {}),
  };
}

// ---- Regional processing ------------------------------------------------------------------

/**
 * Models that cost 10% more on every rate when a call is processed in one region:
 * - OpenAI's data-residency endpoints (us., eu., au., in., jp.api.openai.com...) charge it "for
 *   models released on or after March 5, 2026" (https://developers.openai.com/api/docs/guides/data-residency,
 *   and GPT-5.4 nano's model page, 2026-11): GPT-5.4 (released that day) and every later one.
 * - Anthropic: `inference_geo: "us"` costs 1.1x on Opus 4.6, Sonnet 4.6 and every later model
 *   (the parameter is refused on older ones): https://platform.claude.com/docs/en/build-with-claude/data-residency,
 *   https://docs.aws.amazon.com/claude-platform/latest/userguide/data-residency.html and
 *   tokenmix.ai's reading of the pricing page, 2026-04-30.
 */
const REGIONAL_UPLIFT_PERCENT = 10;
const REGIONAL_UPLIFT_MODELS = new Set([
  ...Object.keys(LONG_CONTEXT).filter((id) => id.startsWith('openai/')),
  'openai/gpt-5.4-mini',
  'openai/gpt-5.4-nano',
  'anthropic/claude-fable-5-2',
  'anthropic/claude-fable-5-1',
  'anthropic/claude-fable-5',
  'anthropic/claude-opus-5-5',
  'anthropic/claude-opus-5',
  'anthropic/claude-opus-4-8',
  'anthropic/claude-opus-4-7',
  'anthropic/claude-opus-4-6',
  'anthropic/claude-sonnet-5-5',
  'anthropic/claude-sonnet-5',
  'anthropic/claude-sonnet-4-6',
  'anthropic/claude-haiku-5-5',
]);

// ---- Service tiers, continued ---------------------------------------------------------------

/**
 * The published rates of a model's other service tiers.
 * - OpenAI: Batch is 50% of every Standard rate; Flex is "priced at Batch API rates" (a model
 *   without Flex refuses the request, so no call is ever reported at it); Fast/priority and
 *   Ultrafast as above.
 * - Anthropic: the Message Batches API is 50% of every rate (the cache multipliers apply on
 *   top). Priority Tier has no per-token price (it was sold as a capacity commitment, no longer
 *   offered), so a call served at it is priced at the standard rates.
 * - Workers AI publishes no tiered prices.
 */
function serviceTiersOf(provider: ProviderName, kind: CatalogModel['kind'], model: string, standard: Price): CatalogModel['service_tiers'] {
  if (provider === 'anthropic') return { batch: scaled(standard, 0.5) };
  if (provider !== 'openai') return undefined;
  const batch = scaled(standard, 0.5);
  if (kind === 'embeddings') return { batch };
  const fixed = OPENAI_PRIORITY[model];
  const priority = fixed
    ? { input_per_mtok: fixed[0], output_per_mtok: fixed[1], cached_input_per_mtok: fixed[2] }
    : OPENAI_PRIORITY_2X.has(model)
      ? scaled(standard, 2)
      : undefined;
  const ultrafast = OPENAI_ULTRAFAST[model];
  return {
    batch,
    flex: batch,
    ...(priority ? { priority } : {}),
    ...(ultrafast ? { ultrafast: scaled(standard, ultrafast) } : {}),
  };
}

function toModel(kind: CatalogModel['kind']) {
  return ([id, asOf, tier, input, output, cachedInput, cacheWrite, cacheWrite1h]: Row): CatalogModel => {
    const slash = id.indexOf('/');
    const provider = id.slice(0, slash) as ProviderName;
    const model = id.slice(slash + 1);
    const standard: Price = {
      input_per_mtok: input,
      output_per_mtok: output,
      ...(cachedInput === undefined ? {} : { cached_input_per_mtok: cachedInput }),
      ...(cacheWrite === undefined ? {} : { cache_write_per_mtok: cacheWrite }),
      ...(cacheWrite1h === undefined ? {} : { cache_write_1h_per_mtok: cacheWrite1h }),
    };
    const serviceTiers = serviceTiersOf(provider, kind, model, standard);
    const longContext = longContextOf(id, standard, serviceTiers);
    return {
      id,
      provider,
      model,
      tier,
      kind,
      as_of: asOf,
      ...standard,
      ...(serviceTiers ? { service_tiers: serviceTiers } : {}),
      ...(longContext ? { long_context: longContext } : {}),
      ...(REGIONAL_UPLIFT_MODELS.has(id) ? { regional_uplift_percent: REGIONAL_UPLIFT_PERCENT } : {}),
    };
  };
}

export const BUILT_IN_MODELS: readonly CatalogModel[] = [...CHAT.map(toModel('chat')), ...EMBEDDINGS.map(toModel('embeddings'))];

/** The date of the newest source in the built-in table (each entry has its own `as_of`). */
export const PRICES_AS_OF: string = BUILT_IN_MODELS.reduce((newest, m) => (m.as_of > newest ? m.as_of : newest), '');

/** The `service_tier` names upstreams report, to the tier whose rates apply; anything else is standard. */
const TIER_NAMES = new Map<string, ServiceTier>([
  ['priority', 'priority'],
  ['fast', 'priority'], // OpenAI's name for priority since 2026-07-30; GPT-6 answers report it
  ['flex', 'flex'],
  ['batch', 'batch'],
  ['ultrafast', 'ultrafast'],
]);

/**
 * The rates of the service tier the upstream reported serving a call at (OpenAI's top-level
 * `service_tier`, Anthropic's `usage.service_tier`). `priority` and `fast`, `flex`, `batch` and
 * `ultrafast` take that tier's published rates; `default`, `standard`, `auto`, `scale`, an
 * unknown name, null or undefined take the standard ones, as does a tier the model has no
 * published rates for (Anthropic's Priority Tier).
 *
 * A price set through the admin API (PUT /admin/prices/{model}) has no tier rates, so its rates
 * apply to every tier: an override replaces a built-in model's tier rates too (and its
 * long-context rates and regional uplift, see priceForCall).
 */
export function priceForTier(price: TieredPrice, tier: string | null | undefined): Price {
  const name = tier ? TIER_NAMES.get(tier.toLowerCase()) : undefined;
  return (name && price.service_tiers?.[name]) || price;
}

/**
 * The rates a call is billed at: the long-context ones when its input (cache reads and writes
 * included) is over the model's threshold, then those of the service tier it was served at.
 * An override (PUT /admin/prices/{model}) is flat: its rates apply at every context length.
 */
export function priceForCall(price: ModelPrice, usage: Pick<Usage, 'promptTokens' | 'serviceTier'>): Price {
  const longContext = price.long_context && usage.promptTokens > price.long_context.above_input_tokens ? price.long_context : undefined;
  return priceForTier(longContext ?? price, usage.serviceTier);
}

/** USD per million tokens -> pico-USD per token, an integer for any price with <= 6 decimals. */
const picoPerToken = (usdPerMtok: number) => BigInt(Math.round(usdPerMtok * 1e6));

/**
 * Cost of one call in nano-USD, at the rates priceForCall picks. Each bucket of input is priced
 * at its own rate: uncached input, cache reads and cache writes are disjoint parts of
 * promptTokens. A call processed in one region (`usage.region`) adds the model's regional
 * uplift to every bucket. The sum is kept in integer pico-USD (BigInt: an uplift's hundredths
 * would outgrow a double's exact integers) and rounded once, to the nearest nano-USD.
 */
export function costNano(usage: Usage, price: ModelPrice): number {
  const rates = priceForCall(price, usage);
  const uncached = Math.max(0, usage.promptTokens - usage.cachedTokens - usage.cacheWriteTokens);
  const writes1h = Math.min(usage.cacheWrite1hTokens ?? 0, usage.cacheWriteTokens);
  const cacheWrite = rates.cache_write_per_mtok ?? rates.input_per_mtok;
  const pico =
    BigInt(uncached) * picoPerToken(rates.input_per_mtok) +
    BigInt(usage.cachedTokens) * picoPerToken(rates.cached_input_per_mtok ?? rates.input_per_mtok) +
    BigInt(usage.cacheWriteTokens - writes1h) * picoPerToken(cacheWrite) +
    BigInt(writes1h) * picoPerToken(rates.cache_write_1h_per_mtok ?? cacheWrite) +
    BigInt(usage.completionTokens) * picoPerToken(rates.output_per_mtok);
  const percent = 100n + BigInt(usage.region ? (price.regional_uplift_percent ?? 0) : 0);
  // pico * percent / 100 is the uplifted pico-USD; / 1000 more is nano-USD, rounded half up.
  const divisor = 100_000n;
  return Number((pico * percent + divisor / 2n) / divisor);
}

export const nanoToUsd = (nano: number) => nano / 1e9;
