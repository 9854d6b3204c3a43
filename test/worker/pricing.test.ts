import { describe, expect, it } from 'vitest';
import { BUILT_IN_MODELS, PRICES_AS_OF, SERVICE_TIERS, costNano, priceForCall, priceForTier, type Price } from '../../proxy/pricing/catalog';
import { dataResidencyRegion } from '../../proxy/providers/openai';
import type { Env } from '../../proxy/core/env';
import { fromOpenAIUsage, toOpenAIUsage, type Usage } from '../../proxy/core/usage';
import { fromResponsesUsage, toResponsesUsage } from '../../proxy/providers/openai/responses';
import { fromAnthropicUsage } from '../../proxy/providers/anthropic/translate';
import { resolveModel, tiersFor } from '../../proxy/routing/models';
import { createTestTenant, loggedRow } from './fixtures';
import { callAdmin, nonce, postJson, upstreamEnv, upstreamRequests } from './harness';

const price = (id: string) => {
  const model = BUILT_IN_MODELS.find((m) => m.id === id);
  if (!model) throw new Error(`no price for ${id}`);
  return model;
};

describe('costNano', () => {
  it('prices OpenAI usage, whose prompt_tokens include the cached tokens', () => {
    // gpt-4o-mini: $0.15 input, $0.075 cached input, $0.60 output per million tokens.
    const usage = fromOpenAIUsage({ prompt_tokens: 2000, completion_tokens: 300, prompt_tokens_details: { cached_tokens: 1024 } });
    expect(usage).toEqual({ promptTokens: 2000, completionTokens: 300, cachedTokens: 1024, cacheWriteTokens: 0, reasoningTokens: 0 });
    // $1 per million tokens is 1e6 pico-USD a token:
    // (2000 - 1024) * 150,000 + 1024 * 75,000 + 300 * 600,000 pico-USD = 403,200,000 pico = 403,200 nano-USD
    expect(costNano(usage, price('openai/gpt-4o-mini'))).toBe(403_200);
  });

  it('prices each Anthropic input bucket at its own rate', () => {
    // claude-sonnet-4-5: $3 input, $0.30 cache read, $3.75 cache write, $15 output.
    // Anthropic reported input_tokens=100, cache_read=2000, cache_creation=500; normalized promptTokens is the sum.
    const usage = { promptTokens: 2600, completionTokens: 50, cachedTokens: 2000, cacheWriteTokens: 500 };
    const expectedPico = 100 * 3_000_000 + 2000 * 300_000 + 500 * 3_750_000 + 50 * 15_000_000;
    expect(costNano(usage, price('anthropic/claude-sonnet-4-5'))).toBe(expectedPico / 1000);
    expect(costNano(usage, price('anthropic/claude-sonnet-4-5'))).toBe(3_525_000); // $0.003525
  });

  it('falls back to the input price when a model has no cache prices', () => {
    const usage = { promptTokens: 1_000_000, completionTokens: 1_000_000, cachedTokens: 400_000, cacheWriteTokens: 0 };
    // llama-3.1-8b: $0.282 in, $0.827 out: exactly $1.109 for a million of each.
    expect(costNano(usage, price('workers-ai/@cf/meta/llama-3.1-8b-instruct'))).toBe(1_109_000_000);
  });

  it('keeps integer nano-USD for fractional per-token prices', () => {
    // gpt-5-nano cached input is $0.005/Mtok = 5,000 pico-USD a token.
    const usage = { promptTokens: 3, completionTokens: 0, cachedTokens: 3, cacheWriteTokens: 0 };
    expect(costNano(usage, price('openai/gpt-5-nano'))).toBe(15);
    expect(Number.isInteger(costNano({ promptTokens: 7, completionTokens: 13, cachedTokens: 0, cacheWriteTokens: 0 }, price('openai/gpt-4.1-nano')))).toBe(
      true,
    );
  });

  it('has a complete, unambiguous catalog', () => {
    const ids = BUILT_IN_MODELS.map((m) => m.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const m of BUILT_IN_MODELS) {
      expect(m.input_per_mtok).toBeGreaterThan(0);
      expect(['cheap', 'expensive']).toContain(m.tier);
    }
    for (const provider of ['openai', 'anthropic', 'workers-ai', 'mock']) {
      expect(BUILT_IN_MODELS.some((m) => m.provider === provider && m.kind === 'chat')).toBe(true);
    }
  });
});

describe('reasoning tokens', () => {
  it('are read from usage as part of the output, and billed once with it', () => {
    const usage = fromOpenAIUsage({ prompt_tokens: 100, completion_tokens: 500, completion_tokens_details: { reasoning_tokens: 400 } });
    expect(usage).toMatchObject({ completionTokens: 500, reasoningTokens: 400 });
    const price = { input_per_mtok: 1, output_per_mtok: 10 };
    expect(costNano(usage, price)).toBe(costNano({ ...usage, reasoningTokens: 0 }, price));
  });
});

describe('OpenAI cache writes', () => {
  it('are read from chat and Responses usage and priced at their own rate (GPT-5.6: 1.25x input), never beyond the input total', () => {
    // gpt-5.6-sol: $5 input, $0.50 cached input, $6.25 cache write, $30 output.
    const chat = fromOpenAIUsage({ prompt_tokens: 4000, completion_tokens: 100, prompt_tokens_details: { cached_tokens: 1000, cache_write_tokens: 2500 } });
    const responses = fromResponsesUsage({ input_tokens: 4000, output_tokens: 100, input_tokens_details: { cached_tokens: 1000, cache_write_tokens: 2500 } });
    expect(chat).toMatchObject({ promptTokens: 4000, cachedTokens: 1000, cacheWriteTokens: 2500 });
    expect(responses).toEqual(chat);
    const expectedPico = 500 * 5_000_000 + 1000 * 500_000 + 2500 * 6_250_000 + 100 * 30_000_000;
    expect(costNano(chat, price('openai/gpt-5.6-sol'))).toBe(expectedPico / 1000);
    // A write count larger than the uncached input is cut to it: no token is billed twice.
    expect(fromOpenAIUsage({ prompt_tokens: 1000, prompt_tokens_details: { cached_tokens: 900, cache_write_tokens: 5000 } })).toMatchObject({
      cacheWriteTokens: 100,
    });
    // And told back to clients in OpenAI's own shape.
    expect(toOpenAIUsage(chat).prompt_tokens_details).toEqual({ cached_tokens: 1000, cache_write_tokens: 2500 });
    expect(toResponsesUsage(chat).input_tokens_details).toEqual({ cached_tokens: 1000, cache_write_tokens: 2500 });
  });
});

describe('Anthropic cache writes', () => {
  it('price 1-hour writes at their own rate (2x input) and 5-minute ones at 1.25x', () => {
    const usage = fromAnthropicUsage({
      input_tokens: 100,
      output_tokens: 10,
      cache_read_input_tokens: 0,
      cache_creation_input_tokens: 3000,
      cache_creation: { ephemeral_5m_input_tokens: 1000, ephemeral_1h_input_tokens: 2000 },
    });
    expect(usage).toMatchObject({ promptTokens: 3100, cacheWriteTokens: 3000, cacheWrite1hTokens: 2000 });
    // claude-sonnet-4-5: $3 input, $3.75 5-minute writes, $6 1-hour writes, $15 output per million tokens.
    const expected = 100 * 3000 + 1000 * 3750 + 2000 * 6000 + 10 * 15000;
    expect(costNano(usage, price('anthropic/claude-sonnet-4-5'))).toBe(expected);
  });
});

describe('a model with no price', () => {
  const unpriced = { model: 'openai/gpt-9-unreleased', messages: [{ role: 'user', content: 'hi' }] };

  it('is refused with 403 model_not_priced saying how to price it, calling no upstream', async () => {
    const tenant = await createTestTenant();
    const tag = nonce();
    const call = await postJson(
      '/v1/chat/completions',
      { ...unpriced, messages: [{ role: 'user', content: `hi ${tag}` }] },
      { apiKey: tenant.apiKey, env: upstreamEnv() },
    );
    expect(call.response.status).toBe(403);
    const error = ((await call.response.json()) as { error: { code: string; message: string } }).error;
    expect(error.code).toBe('model_not_priced');
    expect(error.message).toContain('PUT /admin/prices/openai/gpt-9-unreleased');
    expect(await upstreamRequests(tag)).toEqual([]);
  });

  it('is served once priced, even at zero (a model you run yourself)', async () => {
    const tenant = await createTestTenant();
    await callAdmin('/admin/prices/openai/my-local-model', { method: 'PUT', json: { input_per_mtok: 0, output_per_mtok: 0 } });
    const call = await postJson('/v1/chat/completions', { ...unpriced, model: 'openai/my-local-model' }, { apiKey: tenant.apiKey, env: upstreamEnv() });
    expect(call.response.status).toBe(200);
    await call.settled();
    expect(await loggedRow(call.response.headers.get('x-request-id'))).toMatchObject({ cost_nano: 0, unpriced: 0 });
  });

  it('is served with ALLOW_UNPRICED_MODELS, its row flagged unpriced', async () => {
    const tenant = await createTestTenant();
    const call = await postJson('/v1/chat/completions', unpriced, { apiKey: tenant.apiKey, env: { ...upstreamEnv(), ALLOW_UNPRICED_MODELS: 'true' } });
    expect(call.response.status).toBe(200);
    await call.settled();
    expect(await loggedRow(call.response.headers.get('x-request-id'))).toMatchObject({ cost_nano: 0, unpriced: 1 });
  });
});

describe('the built-in table', () => {
  it('dates every entry by its source, and PRICES_AS_OF is the newest of those dates', () => {
    for (const m of BUILT_IN_MODELS) {
      expect(m.as_of, m.id).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(new Date(`${m.as_of}T00:00:00Z`).toISOString().slice(0, 10), m.id).toBe(m.as_of);
      expect(m.as_of <= PRICES_AS_OF, m.id).toBe(true);
    }
    expect(BUILT_IN_MODELS.some((m) => m.as_of === PRICES_AS_OF)).toBe(true);
  });

  it('has no duplicate ids, and no provider model name listed twice', () => {
    const ids = BUILT_IN_MODELS.map((m) => m.id);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
    const names = BUILT_IN_MODELS.map((m) => m.model);
    expect(names.filter((name, i) => names.indexOf(name) !== i)).toEqual([]);
  });

  it('keeps every rate, of every service tier, to at most six decimals (whole pico-USD a token)', () => {
    const rates = (p: Price) =>
      [p.input_per_mtok, p.output_per_mtok, p.cached_input_per_mtok, p.cache_write_per_mtok, p.cache_write_1h_per_mtok].filter(
        (r): r is number => r !== undefined,
      );
    for (const m of BUILT_IN_MODELS) {
      const long = m.long_context;
      const prices = [m, ...Object.values(m.service_tiers ?? {}), ...(long ? [long, ...Object.values(long.service_tiers ?? {})] : [])];
      for (const rate of prices.flatMap(rates)) {
        expect(rate, m.id).toBeGreaterThanOrEqual(0);
        expect(Math.abs(rate * 1e6 - Math.round(rate * 1e6)), `${m.id}: ${rate}`).toBeLessThan(1e-6);
        expect(Number(rate.toFixed(6)), `${m.id}: ${rate}`).toBe(rate);
      }
      for (const tier of Object.keys(m.service_tiers ?? {})) expect(SERVICE_TIERS, m.id).toContain(tier);
    }
  });

  it('prices the current models of each provider', () => {
    for (const id of [
      'openai/gpt-6.2-astra',
      'openai/gpt-6.2-sol',
      'openai/gpt-6.1-terra',
      'openai/gpt-6-luna',
      'openai/gpt-5.6-sol',
      'openai/gpt-5.5',
      'openai/gpt-5.4-mini',
      'anthropic/claude-fable-5-2',
      'anthropic/claude-opus-5-5',
      'anthropic/claude-sonnet-5-5',
      'anthropic/claude-haiku-5-5',
      'workers-ai/@cf/moonshotai/kimi-k2.7-code',
      'workers-ai/@cf/zai-org/glm-5.2',
      'workers-ai/@cf/baai/bge-m3',
    ]) {
      expect(
        BUILT_IN_MODELS.some((m) => m.id === id),
        id,
      ).toBe(true);
    }
  });
});

describe('priceForTier', () => {
  // 1M uncached input, 1M cache reads, 1M output: the sum of the three rates, in nano-USD.
  const usage = { promptTokens: 2_000_000, completionTokens: 1_000_000, cachedTokens: 1_000_000, cacheWriteTokens: 0 };
  const costAt = (id: string, tier: string | null | undefined) => costNano(usage, priceForTier(price(id), tier));

  it('bills an OpenAI priority (Fast mode) call at that model’s published Fast rates, whichever name the answer uses', () => {
    // gpt-5.5 Fast: $12.50 input, $1.25 cached, $75 output (2.5x standard).
    expect(costAt('openai/gpt-5.5', 'priority')).toBe((12.5 + 1.25 + 75) * 1e9);
    expect(costAt('openai/gpt-5.5', 'fast')).toBe((12.5 + 1.25 + 75) * 1e9);
    // gpt-4o-mini Fast: $0.25 input, $0.125 cached, $1 output.
    expect(costAt('openai/gpt-4o-mini', 'priority')).toBe((0.25 + 0.125 + 1) * 1e9);
    // GPT-6 models: Fast is twice every standard rate (gpt-6.1-sol: $2 / $0.10 / $10).
    expect(costAt('openai/gpt-6.1-sol', 'fast')).toBe(2 * (2 + 0.1 + 10) * 1e9);
  });

  it('bills flex and batch at half the standard rates, and ultrafast at its multiple', () => {
    // gpt-5-mini: $0.25 input, $0.025 cached, $2 output.
    const standard = (0.25 + 0.025 + 2) * 1e9;
    expect(costAt('openai/gpt-5-mini', 'flex')).toBe(standard / 2);
    expect(costAt('openai/gpt-5-mini', 'batch')).toBe(standard / 2);
    // gpt-6-astra Ultrafast: $60 input, $6 cached, $300 output (6x).
    expect(costAt('openai/gpt-6-astra', 'ultrafast')).toBe((60 + 6 + 300) * 1e9);
    // Anthropic's Message Batches: half of every rate, cache writes included.
    const sonnet = { promptTokens: 1_000_000, completionTokens: 1_000_000, cachedTokens: 0, cacheWriteTokens: 1_000_000, cacheWrite1hTokens: 1_000_000 };
    expect(costNano(sonnet, priceForTier(price('anthropic/claude-sonnet-4-5'), 'batch'))).toBe(((6 + 15) * 1e9) / 2);
  });

  it('bills the standard rates for default, standard, auto, an unknown tier, or none', () => {
    const standard = (0.25 + 0.025 + 2) * 1e9;
    for (const tier of ['default', 'standard', 'auto', 'scale', 'standard_only', 'turbo', 'constructor', '', null, undefined]) {
      expect(costAt('openai/gpt-5-mini', tier), String(tier)).toBe(standard);
    }
    expect(costAt('openai/gpt-5-mini', 'BATCH')).toBe(standard / 2);
  });

  it('bills the standard rates for a tier the model publishes none for', () => {
    // Anthropic's Priority Tier is a capacity commitment with no per-token price.
    expect(priceForTier(price('anthropic/claude-opus-5-5'), 'priority')).toBe(price('anthropic/claude-opus-5-5'));
    // gpt-5-nano has no Fast mode; Workers AI has no tiers at all.
    expect(costAt('openai/gpt-5-nano', 'priority')).toBe(costAt('openai/gpt-5-nano', 'default'));
    expect(costAt('workers-ai/@cf/openai/gpt-oss-120b', 'batch')).toBe(costAt('workers-ai/@cf/openai/gpt-oss-120b', null));
  });

  it('applies an admin price override’s rates to every tier', () => {
    const override: Price = { input_per_mtok: 1, output_per_mtok: 2, cached_input_per_mtok: 0.5 };
    for (const tier of ['priority', 'fast', 'flex', 'batch', 'ultrafast', 'default', null]) {
      expect(priceForTier(override, tier)).toBe(override);
    }
  });
});

describe('pinned snapshots of catalog models', () => {
  const env = { OPENAI_API_KEY: 'sk-test', ANTHROPIC_API_KEY: 'sk-ant-test', AI: {} } as unknown as Env;
  const tiers = tiersFor(env);

  it.each([
    ['gpt-5.5-2026-04-23', 'openai/gpt-5.5'],
    ['openai/gpt-5.4-mini-2026-03-17', 'openai/gpt-5.4-mini'],
    ['gpt-4o-2024-08-06', 'openai/gpt-4o'],
    ['claude-opus-4-5-20251101', 'anthropic/claude-opus-4-5'],
    ['claude-sonnet-4-5-20250929', 'anthropic/claude-sonnet-4-5'],
    ['anthropic/claude-haiku-4-5-20251001', 'anthropic/claude-haiku-4-5'],
    ['claude-3-5-haiku-latest', 'anthropic/claude-3-5-haiku'],
  ])('%s is priced as %s', (asked, pinned) => {
    const resolved = resolveModel(env, tiers, asked, 'chat');
    expect(resolved.price).toBe(price(pinned));
    expect(resolved.id).toBe(`${pinned.slice(0, pinned.indexOf('/'))}/${asked.slice(asked.indexOf('/') + 1)}`);
  });

  it('resolves every catalog model by its bare name to itself', () => {
    for (const m of BUILT_IN_MODELS.filter((m) => m.provider !== 'mock')) {
      expect(resolveModel(env, tiers, m.model, m.kind).price, m.id).toBe(m);
    }
  });
});

describe('service tiers', () => {
  it('price a call at the rates of the tier the upstream says it served, kept on the row and in the cache key', async () => {
    const tenant = await createTestTenant();
    const ask = async (serviceTier: string | undefined, extra: Record<string, unknown> = {}) => {
      const call = await postJson(
        '/v1/chat/completions',
        { model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'tiered' }], ...(serviceTier ? { service_tier: serviceTier } : {}), ...extra },
        { apiKey: tenant.apiKey, env: upstreamEnv() },
      );
      const body = (await call.response.json()) as { usage: { prompt_tokens: number; completion_tokens: number } };
      await call.settled();
      return { call, body, row: await loggedRow(call.response.headers.get('x-request-id')) };
    };
    const standard = await ask(undefined);
    const flex = await ask('flex');
    const usage = { promptTokens: flex.body.usage.prompt_tokens, completionTokens: flex.body.usage.completion_tokens, cachedTokens: 0, cacheWriteTokens: 0 };
    const gpt4oMini = price('openai/gpt-4o-mini');
    expect(flex.row).toMatchObject({ service_tier: 'flex', cost_nano: costNano(usage, priceForTier(gpt4oMini, 'flex')) });
    expect(flex.row!.cost_nano).toBeLessThan(standard.row!.cost_nano);
    expect(standard.row).toMatchObject({ service_tier: 'default', cost_nano: costNano(usage, gpt4oMini) });
    // A cached answer served at one tier is not another tier's.
    expect((await ask('flex', { temperature: 0 })).call.response.headers.get('x-proxy-cache')).toBe('MISS');
    expect((await ask(undefined, { temperature: 0 })).call.response.headers.get('x-proxy-cache')).toBe('MISS');
    expect((await ask('flex', { temperature: 0 })).call.response.headers.get('x-proxy-cache')).toBe('HIT');
  });
});

describe('long context', () => {
  const usage = (promptTokens: number, extra: Partial<Usage> = {}): Usage => ({
    promptTokens,
    completionTokens: 0,
    cachedTokens: 0,
    cacheWriteTokens: 0,
    ...extra,
  });

  it('bills a GPT-5.4+ request over 272K input tokens whole at 2x input and cache rates and 1.5x output, every bucket', () => {
    // gpt-5.6-sol: $5 input, $0.50 cached, $6.25 cache write, $30 output; long: $10, $1, $12.50, $45.
    const long = usage(300_000, { cachedTokens: 100_000, cacheWriteTokens: 50_000, completionTokens: 2_000 });
    expect(costNano(long, price('openai/gpt-5.6-sol'))).toBe((150_000 * 10_000_000 + 100_000 * 1_000_000 + 50_000 * 12_500_000 + 2_000 * 45_000_000) / 1000);
    expect(costNano(long, price('openai/gpt-5.6-sol'))).toBe(2_315_000_000); // $2.315
    // gpt-5.4: $2.50 input, $0.25 cached, $15 output; long: $5, $0.50, $22.50 (its cache writes default to input).
    expect(costNano(usage(300_000, { cachedTokens: 200_000, completionTokens: 1_000 }), price('openai/gpt-5.4'))).toBe(622_500_000);
  });

  it('bills a request at or under the threshold at the standard rates', () => {
    const standard = usage(100_000, { cachedTokens: 30_000, cacheWriteTokens: 10_000, completionTokens: 2_000 });
    expect(costNano(standard, price('openai/gpt-5.6-sol'))).toBe((60_000 * 5_000_000 + 30_000 * 500_000 + 10_000 * 6_250_000 + 2_000 * 30_000_000) / 1000);
    // The threshold counts every input token; 272,000 is still standard, 272,001 is long.
    expect(costNano(usage(272_000), price('openai/gpt-5.4'))).toBe(272_000 * 2_500);
    expect(costNano(usage(272_001), price('openai/gpt-5.4'))).toBe(272_001 * 5_000);
    // GPT-5.4 mini (a 400K window) and older models have no long-context rates.
    expect(costNano(usage(300_000), price('openai/gpt-5.4-mini'))).toBe(300_000 * 750);
    expect(costNano(usage(300_000), price('openai/gpt-4.1'))).toBe(300_000 * 2_000);
  });

  it('scales the service tiers too: Flex and Batch are half the long rates, a 2x Fast mode twice them', () => {
    const long = usage(300_000, { completionTokens: 10_000 });
    // gpt-6.1-sol long: $4 input, $15 output; Fast: $8, $30.
    expect(costNano(long, price('openai/gpt-6.1-sol'))).toBe(300_000 * 4_000 + 10_000 * 15_000);
    expect(costNano({ ...long, serviceTier: 'fast' }, price('openai/gpt-6.1-sol'))).toBe(2 * (300_000 * 4_000 + 10_000 * 15_000));
    expect(costNano({ ...long, serviceTier: 'flex' }, price('openai/gpt-6.1-sol'))).toBe((300_000 * 4_000 + 10_000 * 15_000) / 2);
    expect(priceForCall(price('openai/gpt-6.1-sol'), { promptTokens: 300_000, serviceTier: 'batch' })).toMatchObject({
      input_per_mtok: 2,
      output_per_mtok: 7.5,
    });
  });

  it('bills Claude Haiku 5.5 prompts over 100K tokens, cache reads and writes counted, at 5x every rate', () => {
    const anthropic = fromAnthropicUsage({
      input_tokens: 40_000,
      output_tokens: 1_000,
      cache_read_input_tokens: 50_000,
      cache_creation_input_tokens: 20_000,
      cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 20_000 },
    });
    expect(anthropic.promptTokens).toBe(110_000);
    // Long: $0.50 input, $0.05 cache reads, $1 1-hour writes, $2.50 output.
    expect(costNano(anthropic, price('anthropic/claude-haiku-5-5'))).toBe((40_000 * 500_000 + 50_000 * 50_000 + 20_000 * 1_000_000 + 1_000 * 2_500_000) / 1000);
    expect(costNano(usage(100_000, { completionTokens: 1_000 }), price('anthropic/claude-haiku-5-5'))).toBe(100_000 * 100 + 1_000 * 500);
  });

  it('bills Claude Sonnet 4.5 and 4 requests over 200K input tokens (the 1M-context beta) at $6 and $22.50, Batch halving them', () => {
    const long = usage(250_000, { completionTokens: 2_000 });
    for (const id of ['anthropic/claude-sonnet-4-5', 'anthropic/claude-sonnet-4']) {
      expect(costNano(long, price(id)), id).toBe(1_545_000_000); // 0.25 * $6 + 0.002 * $22.50
      expect(costNano({ ...long, serviceTier: 'batch' }, price(id)), id).toBe(772_500_000);
    }
    // Sonnet 4.6 serves its 1M window at the standard rates.
    expect(costNano(long, price('anthropic/claude-sonnet-4-6'))).toBe(250_000 * 3_000 + 2_000 * 15_000);
  });
});

describe('regional processing', () => {
  it('reads Anthropic usage.inference_geo: `us` is the call’s region, `global` none', () => {
    expect(fromAnthropicUsage({ input_tokens: 10, output_tokens: 2, inference_geo: 'us' }).region).toBe('us');
    expect(fromAnthropicUsage({ input_tokens: 10, output_tokens: 2, inference_geo: 'global' })).not.toHaveProperty('region');
    expect(fromAnthropicUsage({ input_tokens: 10, output_tokens: 2 })).not.toHaveProperty('region');
  });

  it('knows an OpenAI data-residency endpoint by its base URL', () => {
    expect(dataResidencyRegion('https://eu.api.openai.com/v1')).toBe('eu');
    expect(dataResidencyRegion('https://us.api.openai.com/v1')).toBe('us');
    expect(dataResidencyRegion('https://api.openai.com/v1')).toBeUndefined();
    expect(dataResidencyRegion('http://127.0.0.1:8787/v1')).toBeUndefined();
  });

  it('adds 10% to every bucket on the models that charge it, in integer arithmetic rounded once', () => {
    const usage: Usage = { promptTokens: 1_234, completionTokens: 567, cachedTokens: 0, cacheWriteTokens: 0, region: 'us' };
    // claude-opus-4-6: $5 input, $25 output; (1,234 * 5,000,000 + 567 * 25,000,000) pico * 1.1 = 22,379,500 nano.
    expect(costNano(usage, price('anthropic/claude-opus-4-6'))).toBe(22_379_500);
    expect(costNano({ ...usage, region: undefined }, price('anthropic/claude-opus-4-6'))).toBe(20_345_000);
    // Older models charge no uplift (Anthropic refuses inference_geo on them; OpenAI's applies from GPT-5.4 on).
    expect(costNano(usage, price('anthropic/claude-opus-4-5'))).toBe(20_345_000);
    expect(costNano({ ...usage, region: 'eu' }, price('openai/gpt-4.1'))).toBe(costNano({ ...usage, region: undefined }, price('openai/gpt-4.1')));
    // gpt-6-luna: 3 cache writes at $0.125 and 1 cache read at $0.01 are 385,000 pico; * 1.1 = 423.5 nano, rounded once to 424.
    const small: Usage = { promptTokens: 4, completionTokens: 0, cachedTokens: 1, cacheWriteTokens: 3, region: 'eu' };
    expect(costNano(small, price('openai/gpt-6-luna'))).toBe(424);
  });

  it('stacks on long context and stays exact beyond a double’s exact integers', () => {
    // gpt-5.5-pro long: $60 input, $270 output. 920,000 * 60,000,000 + 100,000 * 270,000,000 = 8.22e13 pico;
    // times 110 that is past 2^53, yet the cost is exactly 8.22e13 * 1.1 / 1000 nano-USD.
    const usage: Usage = { promptTokens: 920_000, completionTokens: 100_000, cachedTokens: 0, cacheWriteTokens: 0, region: 'eu' };
    expect(costNano(usage, price('openai/gpt-5.5-pro'))).toBe(90_420_000_000);
  });

  it('prices an Anthropic call the upstream ran US-only at 1.1x, end to end, plain and streamed', async () => {
    const tenant = await createTestTenant();
    for (const stream of [false, true]) {
      const call = await postJson(
        '/v1/chat/completions',
        { model: 'anthropic/claude-opus-4-6', stream, messages: [{ role: 'user', content: `geo ${nonce()} upstream:inference-geo=us` }] },
        { apiKey: tenant.apiKey, env: upstreamEnv() },
      );
      expect(call.response.status).toBe(200);
      await call.response.text();
      await call.settled();
      const row = await loggedRow(call.response.headers.get('x-request-id'));
      expect(row, `stream: ${stream}`).toMatchObject({ model: 'anthropic/claude-opus-4-6', region: 'us' });
      const pico = BigInt(row!.prompt_tokens) * 5_000_000n + BigInt(row!.completion_tokens) * 25_000_000n;
      expect(row!.cost_nano, `stream: ${stream}`).toBe(Number((pico * 110n + 50_000n) / 100_000n));
      expect(Number.isInteger(row!.cost_nano)).toBe(true);
    }
  });
});

describe('price overrides and long context', () => {
  it('GET /admin/prices shows each model’s long-context rates and regional uplift; an override is flat and has neither', async () => {
    const list = await callAdmin('/admin/prices');
    const entries = ((await list.response.json()) as { data: Array<Record<string, unknown>> }).data;
    expect(entries.find((e) => e.model === 'openai/gpt-5.4')).toMatchObject({
      long_context: { above_input_tokens: 272_000, input_per_mtok: 5, cached_input_per_mtok: 0.5, cache_write_per_mtok: 5, output_per_mtok: 22.5 },
      regional_uplift_percent: 10,
    });
    expect(entries.find((e) => e.model === 'openai/gpt-4o')).toMatchObject({ long_context: null, regional_uplift_percent: 0 });

    const put = await callAdmin('/admin/prices/openai/gpt-5.4-pro', { method: 'PUT', json: { input_per_mtok: 30, output_per_mtok: 180 } });
    expect(put.response.status).toBe(200);
    expect(await put.response.json()).toMatchObject({ source: 'override', input_per_mtok: 30, long_context: null, regional_uplift_percent: 0 });
    // A flat price bills a 300K request, in any region, at its own rates.
    const flat: Price = { input_per_mtok: 30, output_per_mtok: 180 };
    expect(costNano({ promptTokens: 300_000, completionTokens: 1_000, cachedTokens: 0, cacheWriteTokens: 0, region: 'eu' }, flat)).toBe(
      300_000 * 30_000 + 1_000 * 180_000,
    );
  });
});
