import { describe, expect, it } from 'vitest';
import { BUILT_IN_MODELS, costNano } from '../../proxy/pricing/catalog';
import { fromOpenAIUsage } from '../../proxy/core/usage';
import { fromAnthropicUsage } from '../../proxy/providers/anthropic/translate';
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
    const call = await postJson('/v1/chat/completions', { ...unpriced, messages: [{ role: 'user', content: `hi ${tag}` }] }, { apiKey: tenant.apiKey, env: upstreamEnv() });
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
