import { describe, expect, it } from 'vitest';
import { BUILT_IN_MODELS, costNano } from '../../proxy/pricing/catalog';
import { markPromptCache } from '../../proxy/providers/anthropic/prompt-cache';
import { promptCacheKeyField } from '../../proxy/providers/openai';
import { createTestTenant, loggedRow } from './fixtures';
import { nonce, postJson, upstreamEnv, upstreamRequests } from './harness';
import type { AnthropicRequest } from '../../proxy/providers/anthropic/types';

const LONG = 'Company policy that every support answer must follow. '.repeat(120); // ~1,600 tokens
const SHORT = 'Be brief.';
const tools = (n: number, description = 'x') =>
  Array.from({ length: n }, (_, i) => ({ name: `tool_${i}`, description, input_schema: { type: 'object', properties: {} } }));
const request = (extra: Partial<AnthropicRequest>): AnthropicRequest => ({
  model: 'claude-sonnet-4-5',
  max_tokens: 100,
  messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }],
  ...extra,
});

describe('Anthropic cache_control marking', () => {
  it('marks the last block of a long system prompt', () => {
    const marked = markPromptCache(
      request({
        system: [
          { type: 'text', text: 'intro' },
          { type: 'text', text: LONG },
        ],
      }),
    );
    expect(marked.system?.[0].cache_control).toBeUndefined();
    expect(marked.system?.[1].cache_control).toEqual({ type: 'ephemeral' });
  });

  it('leaves short prompts alone: a cache write would cost more than it saves', () => {
    const original = request({ system: [{ type: 'text', text: SHORT }], tools: tools(1) });
    expect(markPromptCache(original)).toEqual(original);
  });

  it('marks long tool definitions on their own, and the system prompt when tools and system together are long', () => {
    const longTools = tools(8, LONG.slice(0, 800));
    const marked = markPromptCache(request({ tools: longTools, system: [{ type: 'text', text: SHORT }] }));
    expect(marked.tools?.at(-1)?.cache_control).toEqual({ type: 'ephemeral' });
    expect(marked.tools?.slice(0, -1).every((t) => !t.cache_control)).toBe(true);
    expect(marked.system?.[0].cache_control).toEqual({ type: 'ephemeral' });
    const breakpoints = [...(marked.tools ?? []), ...(marked.system ?? [])].filter((b) => b.cache_control).length;
    expect(breakpoints).toBeLessThanOrEqual(4);
  });

  it('never touches a request that sets its own cache_control', () => {
    const own = request({
      system: [{ type: 'text', text: LONG }],
      messages: [{ role: 'user', content: [{ type: 'text', text: 'doc', cache_control: { type: 'ephemeral' } }] }],
    });
    expect(markPromptCache(own)).toEqual(own);
  });
});

describe('OpenAI prompt_cache_key', () => {
  const body = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] };
  it('is added per tenant for api.openai.com only, and never replaces the client’s own', () => {
    expect(promptCacheKeyField(body, 'tenant-a', 'https://api.openai.com/v1')).toEqual({ prompt_cache_key: 'tenant-a' });
    expect(promptCacheKeyField(body, 'tenant-a', 'http://localhost:11434/v1')).toEqual({});
    // A key the client set wins: nothing is added over it.
    expect(promptCacheKeyField({ ...body, prompt_cache_key: 'mine' }, 'tenant-a', 'https://api.openai.com/v1')).toEqual({});
  });
});

describe('a long system prompt through the proxy', () => {
  it('is cached by Anthropic after the first call, and the logged cost shows the discount', async () => {
    const tenant = await createTestTenant();
    const system = `${nonce()} ${LONG}`;
    const ask = async () => {
      const call = await postJson(
        '/v1/chat/completions',
        {
          model: 'anthropic/claude-sonnet-4-5',
          messages: [
            { role: 'system', content: system },
            { role: 'user', content: 'Can I get a refund?' },
          ],
        },
        { apiKey: tenant.apiKey, env: upstreamEnv() },
      );
      await call.response.text();
      await call.settled();
      return loggedRow(call.response.headers.get('x-request-id'));
    };
    const first = await ask();
    const second = await ask();

    const sent = await upstreamRequests(system.slice(0, 16));
    expect(sent[0].body.system.at(-1).cache_control).toEqual({ type: 'ephemeral' });

    expect(first!.cache_write_tokens).toBeGreaterThanOrEqual(1024);
    expect(second!.cached_tokens).toBe(first!.cache_write_tokens);
    expect(second!.prompt_tokens).toBe(first!.prompt_tokens);

    const sonnet = BUILT_IN_MODELS.find((m) => m.id === 'anthropic/claude-sonnet-4-5')!;
    const uncachedCost = costNano(
      { promptTokens: second!.prompt_tokens, completionTokens: second!.completion_tokens, cachedTokens: 0, cacheWriteTokens: 0 },
      sonnet,
    );
    expect(second!.cost_nano).toBe(
      costNano(
        { promptTokens: second!.prompt_tokens, completionTokens: second!.completion_tokens, cachedTokens: second!.cached_tokens, cacheWriteTokens: 0 },
        sonnet,
      ),
    );
    // Cache reads are billed at a tenth of the input price: the second call costs well under the first.
    expect(second!.cost_nano).toBeLessThan(uncachedCost * 0.5);
    expect(first!.cost_nano).toBeGreaterThan(uncachedCost);
  });
});
