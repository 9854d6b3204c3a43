/**
 * Token usage in one normalized shape. Providers count differently: OpenAI's prompt_tokens
 * already include cached tokens, Anthropic's input_tokens exclude both cache reads and cache
 * writes. Here `promptTokens` is always the whole prompt, and the cache buckets are subsets of it.
 */
export interface Usage {
  /** Every input token, cached or not. */
  promptTokens: number;
  completionTokens: number;
  /** Input tokens read from the provider's prompt cache (a subset of promptTokens). */
  cachedTokens: number;
  /** Input tokens written to the provider's prompt cache (a subset of promptTokens). */
  cacheWriteTokens: number;
  /** Of those, the ones written for an hour rather than five minutes (Anthropic), priced higher. Absent means none. */
  cacheWrite1hTokens?: number;
  /**
   * Hidden reasoning tokens: a subset of completionTokens, billed with them as output, once.
   * Absent means none (a record queued by an older version of the proxy has no such field).
   */
  reasoningTokens?: number;
  /** The service tier the upstream says it served the call at (`default`, `priority`, `flex`...), which sets its rates; absent: standard. */
  serviceTier?: string;
  /**
   * The one region the call was processed in under data-residency rules (Anthropic's
   * `usage.inference_geo` when not `global`; an OpenAI data-residency endpoint), which costs the
   * model's regional uplift; absent: processed wherever the provider chose.
   */
  region?: string;
}

export const ZERO_USAGE: Usage = { promptTokens: 0, completionTokens: 0, cachedTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 };

/** A token count from a provider's usage: a non-negative whole number, or 0 for anything else. */
export const tokenCount = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.floor(value) : 0);

/**
 * OpenAI's input buckets, which its input total includes: cache reads, and (GPT-5.6 on, billed
 * at 1.25x input) cache writes. A write count the total cannot hold is cut to fit, so that no
 * input token is billed twice.
 */
export function openAIInput(total: unknown, details: { cached_tokens?: unknown; cache_write_tokens?: unknown } | undefined) {
  const promptTokens = tokenCount(total);
  const cachedTokens = tokenCount(details?.cached_tokens);
  return { promptTokens, cachedTokens, cacheWriteTokens: Math.min(tokenCount(details?.cache_write_tokens), Math.max(0, promptTokens - cachedTokens)) };
}

/** OpenAI `usage` (chat or embeddings) to Usage. */
export function fromOpenAIUsage(usage: unknown): Usage {
  const u = (usage ?? {}) as Record<string, any>;
  return {
    ...openAIInput(u.prompt_tokens, u.prompt_tokens_details),
    completionTokens: tokenCount(u.completion_tokens),
    reasoningTokens: tokenCount(u.completion_tokens_details?.reasoning_tokens),
  };
}

/** The service tier an answer names (OpenAI's top-level `service_tier`, Anthropic's `usage.service_tier`), if it is a plain word. */
export function serviceTierOf(value: unknown): { serviceTier?: string } {
  return typeof value === 'string' && /^[a-z_]{1,32}$/.test(value) ? { serviceTier: value } : {};
}

/** The single region an answer says it was processed in (Anthropic's `usage.inference_geo`), if a plain word other than `global`. */
export function regionOf(value: unknown): { region?: string } {
  return typeof value === 'string' && value !== 'global' && /^[a-z][a-z0-9_-]{0,31}$/.test(value) ? { region: value } : {};
}

/** Usage back to OpenAI's wire shape, as the proxy reports it to clients. */
export function toOpenAIUsage(usage: Usage) {
  return {
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    total_tokens: usage.promptTokens + usage.completionTokens,
    prompt_tokens_details: { cached_tokens: usage.cachedTokens, ...(usage.cacheWriteTokens ? { cache_write_tokens: usage.cacheWriteTokens } : {}) },
    ...(usage.reasoningTokens ? { completion_tokens_details: { reasoning_tokens: usage.reasoningTokens } } : {}),
  };
}

/**
 * Rough token count of a request for when no usage came back (a stream the client abandoned
 * before the usage chunk). Four characters a token is OpenAI's own rule of thumb for English.
 */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}
