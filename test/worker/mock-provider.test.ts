import { beforeAll, describe, expect, it } from 'vitest';
import { BUILT_IN_MODELS, costNano } from '../../proxy/pricing/catalog';
import { createTestTenant, loggedRow, type TestTenant } from './fixtures';
import { callProxy, nonce, postJson, readSse } from './harness';

let tenant: TestTenant;

beforeAll(async () => {
  tenant = await createTestTenant();
});

const chat = (body: Record<string, unknown>, env = {}) => postJson('/v1/chat/completions', body, { apiKey: tenant.apiKey, env });

interface Completion {
  model: string;
  choices: { message: { content: string | null; tool_calls?: { function: { name: string } }[] }; finish_reason: string }[];
  usage: { prompt_tokens: number; completion_tokens: number; prompt_tokens_details: { cached_tokens: number } };
}

describe('the mock provider, the default on a fresh machine', () => {
  it('serves both tiers with deterministic answers and realistic usage', async () => {
    const messages = [{ role: 'user', content: `Tell me about caching ${nonce()}` }];
    const first = (await (await chat({ model: 'cheap', messages })).response.json()) as Completion;
    const again = (await (await chat({ model: 'cheap', messages })).response.json()) as Completion;
    expect(again.choices[0].message.content).toBe(first.choices[0].message.content);
    expect(first.model).toBe('mock-mini');
    expect(first.usage.prompt_tokens).toBeGreaterThan(5);
    expect(first.usage.completion_tokens).toBe(first.choices[0].message.content!.split(' ').length);

    const expensive = await chat({ model: 'expensive', messages });
    expect(expensive.response.headers.get('x-proxy-model')).toBe('mock/mock-large');
    expect(expensive.response.headers.get('x-proxy-route-reason')).toBe('alias:expensive');
  });

  it('streams the same text it answers plainly, with usage when asked', async () => {
    const messages = [{ role: 'user', content: `stream it ${nonce()}` }];
    const plain = (await (await chat({ model: 'mock/mock-mini', messages })).response.json()) as Completion;
    const streamed = await chat({ model: 'mock/mock-mini', messages, stream: true, stream_options: { include_usage: true } });
    const chunks = (await readSse(streamed.response)).filter((e) => e.data !== '[DONE]').map((e) => JSON.parse(e.data));
    expect(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('')).toBe(plain.choices[0].message.content);
    expect(chunks.at(-1).usage).toMatchObject({ prompt_tokens: plain.usage.prompt_tokens, completion_tokens: plain.usage.completion_tokens });
  });

  it('honours max_tokens, tool_choice and n', async () => {
    const short = (await (await chat({ model: 'cheap', max_tokens: 5, messages: [{ role: 'user', content: 'go' }] })).response.json()) as Completion;
    expect(short.choices[0].finish_reason).toBe('length');
    expect(short.usage.completion_tokens).toBe(5);

    const tools = [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: {} } } }];
    const tool = (await (
      await chat({ model: 'cheap', tools, tool_choice: 'required', messages: [{ role: 'user', content: 'go' }] })
    ).response.json()) as Completion;
    expect(tool.choices[0].finish_reason).toBe('tool_calls');
    expect(tool.choices[0].message.tool_calls?.[0].function.name).toBe('lookup');

    expect((await chat({ model: 'cheap', n: 2, messages: [{ role: 'user', content: 'go' }] })).response.status).toBe(400);
  });

  it('reports cached input tokens for a long prompt it has seen, priced at the cached rate', async () => {
    const messages = [
      { role: 'system', content: `${nonce()} ${'Long shared instructions. '.repeat(250)}` },
      { role: 'user', content: 'hi' },
    ];
    const cold = await chat({ model: 'cheap', messages });
    const coldBody = (await cold.response.json()) as Completion;
    const warm = await chat({ model: 'cheap', messages });
    const warmBody = (await warm.response.json()) as Completion;
    await warm.settled();
    expect(coldBody.usage.prompt_tokens_details.cached_tokens).toBe(0);
    expect(warmBody.usage.prompt_tokens_details.cached_tokens).toBeGreaterThanOrEqual(1024);
    const row = await loggedRow(warm.response.headers.get('x-request-id'));
    const price = BUILT_IN_MODELS.find((m) => m.id === 'mock/mock-mini')!;
    expect(row!.cost_nano).toBe(
      costNano(
        {
          promptTokens: warmBody.usage.prompt_tokens,
          completionTokens: warmBody.usage.completion_tokens,
          cachedTokens: warmBody.usage.prompt_tokens_details.cached_tokens,
          cacheWriteTokens: 0,
        },
        price,
      ),
    );
  });

  it('fails on request, plainly and mid-stream, and by MOCK_FAILURE_RATE', async () => {
    const failed = await chat({ model: 'cheap', messages: [{ role: 'user', content: 'mock:fail=503' }] });
    expect(failed.response.status).toBe(503);
    await failed.settled();
    expect(await loggedRow(failed.response.headers.get('x-request-id'))).toMatchObject({ status: 503, error_type: 'upstream_overloaded' });

    const broken = await chat({ model: 'cheap', stream: true, messages: [{ role: 'user', content: 'mock:stream-error' }] });
    const events = await readSse(broken.response);
    expect(JSON.parse(events.at(-1)!.data).error.code).toBe('upstream_error');

    expect((await chat({ model: 'cheap', messages: [{ role: 'user', content: 'hi' }] }, { MOCK_FAILURE_RATE: '1' })).response.status).toBe(503);
  });

  it('stops waiting for its next chunk when the idle timeout cancels it (a minute-long gap would outlast the test)', async () => {
    const slow = await chat(
      { model: 'cheap', stream: true, messages: [{ role: 'user', content: `slow ${nonce()}` }] },
      { MOCK_CHUNK_DELAY_MS: '60000', UPSTREAM_IDLE_TIMEOUT_MS: '200' },
    );
    const events = await readSse(slow.response);
    expect(JSON.parse(events[0].data).choices[0].delta.role).toBe('assistant');
    expect(JSON.parse(events.at(-1)!.data).error).toMatchObject({ type: 'upstream_error', code: 'upstream_timeout' });
    await slow.settled();
    expect(await loggedRow(slow.response.headers.get('x-request-id'))).toMatchObject({ status: 504, error_type: 'upstream_timeout' });
  });

  it('serves deterministic, normalized embeddings', async () => {
    const call = await postJson('/v1/embeddings', { model: 'mock-embed', input: ['a cat', 'a dog'], dimensions: 16 }, { apiKey: tenant.apiKey });
    const body = (await call.response.json()) as { data: { embedding: number[]; index: number }[]; usage: { prompt_tokens: number } };
    expect(body.data).toHaveLength(2);
    expect(body.data[0].embedding).toHaveLength(16);
    expect(Math.hypot(...body.data[0].embedding)).toBeCloseTo(1, 6);
    expect(body.usage.prompt_tokens).toBe(4);
  });
});

describe('GET /v1/models', () => {
  it('lists the aliases and the models of configured providers only', async () => {
    const call = await callProxy('/v1/models', { headers: { authorization: `Bearer ${tenant.apiKey}` } });
    const body = (await call.response.json()) as { object: string; data: { id: string; object: string }[] };
    const ids = body.data.map((m) => m.id);
    expect(body.object).toBe('list');
    expect(ids.slice(0, 2)).toEqual(['cheap', 'expensive']);
    expect(ids).toContain('mock/mock-mini');
    expect(ids.some((id) => id.startsWith('anthropic/'))).toBe(false);

    const withOpenAI = await callProxy('/v1/models', { headers: { authorization: `Bearer ${tenant.apiKey}` } }, { OPENAI_API_KEY: 'sk-x' });
    const openaiIds = ((await withOpenAI.response.json()) as typeof body).data.map((m) => m.id);
    expect(openaiIds).toContain('openai/gpt-4o-mini');
  });

  it('needs a tenant key', async () => {
    expect((await callProxy('/v1/models')).response.status).toBe(401);
  });
});
