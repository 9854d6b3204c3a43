import { beforeAll, describe, expect, it } from 'vitest';
import { BUILT_IN_MODELS, costNano } from '../../proxy/pricing/catalog';
import { createTestTenant, loggedRow, type TestTenant } from './fixtures';
import { nonce, postJson, readSse, TEST_ANTHROPIC_KEY, upstreamEnv, upstreamRequests } from './harness';

const SONNET = BUILT_IN_MODELS.find((m) => m.id === 'anthropic/claude-sonnet-4-5')!;
let tenant: TestTenant;

beforeAll(async () => {
  tenant = await createTestTenant();
});

const chat = (body: Record<string, unknown>) => postJson('/v1/chat/completions', body, { apiKey: tenant.apiKey, env: upstreamEnv() });

const weatherTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

describe('Anthropic upstream through the proxy', () => {
  it('translates a plain call both ways and logs the usage', async () => {
    const tag = nonce();
    const call = await chat({
      model: 'claude-sonnet-4-5',
      max_tokens: 200,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: `hello ${tag}` },
      ],
    });
    expect(call.response.status).toBe(200);
    const body = (await call.response.json()) as {
      object: string;
      choices: { message: { content: string }; finish_reason: string }[];
      usage: { prompt_tokens: number; completion_tokens: number };
    };
    await call.settled();
    expect(body.object).toBe('chat.completion');
    expect(body.choices[0].message.content).toContain(`Echo: hello ${tag}`);
    expect(body.choices[0].finish_reason).toBe('stop');

    const [sent] = await upstreamRequests(tag);
    expect(sent.path).toBe('/v1/messages');
    expect(sent.headers['x-api-key']).toBe(TEST_ANTHROPIC_KEY);
    expect(sent.headers['anthropic-version']).toBeTruthy();
    expect(sent.body).toMatchObject({ model: 'claude-sonnet-4-5', max_tokens: 200, system: [{ type: 'text', text: 'Be brief.' }] });

    expect(call.response.headers.get('x-proxy-model')).toBe('anthropic/claude-sonnet-4-5');
    expect(call.response.headers.get('x-proxy-tier')).toBe('expensive');
    const row = await loggedRow(call.response.headers.get('x-request-id'));
    expect(row).toMatchObject({ provider: 'anthropic', status: 200, prompt_tokens: body.usage.prompt_tokens, completion_tokens: body.usage.completion_tokens });
  });

  it('returns tool calls in OpenAI shape, plain and streamed', async () => {
    const plain = await chat({
      model: 'anthropic/claude-sonnet-4-5',
      tools: [weatherTool],
      messages: [{ role: 'user', content: `What is the weather in Paris? ${nonce()}` }],
    });
    const body = (await plain.response.json()) as {
      choices: { message: { tool_calls: { id: string; function: { name: string; arguments: string } }[] }; finish_reason: string }[];
    };
    expect(body.choices[0].finish_reason).toBe('tool_calls');
    const [toolCall] = body.choices[0].message.tool_calls;
    expect(toolCall.function.name).toBe('get_weather');
    expect(JSON.parse(toolCall.function.arguments)).toEqual({ city: 'Paris' });

    const streamed = await chat({
      model: 'anthropic/claude-sonnet-4-5',
      stream: true,
      tools: [weatherTool],
      messages: [{ role: 'user', content: `weather in Paris? ${nonce()}` }],
    });
    const chunks = (await readSse(streamed.response)).filter((e) => e.data !== '[DONE]').map((e) => JSON.parse(e.data));
    const toolDeltas = chunks.flatMap((c) => c.choices[0]?.delta?.tool_calls ?? []);
    expect(toolDeltas[0]).toMatchObject({ index: 0, type: 'function', function: { name: 'get_weather' } });
    expect(JSON.parse(toolDeltas.map((d: { function: { arguments?: string } }) => d.function.arguments ?? '').join(''))).toEqual({ city: 'Paris' });
    expect(chunks.at(-1).choices[0].finish_reason).toBe('tool_calls');
  });

  it('streams text, takes the usage from message_start and message_delta, and forwards it when asked', async () => {
    const tag = nonce();
    const call = await chat({
      model: 'anthropic/claude-sonnet-4-5',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: `stream ${tag}` }],
    });
    const events = await readSse(call.response);
    await call.settled();
    expect(events.at(-1)?.data).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.data));
    expect(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('')).toContain(`Echo: stream ${tag}`);
    const usage = chunks.at(-1).usage;
    expect(usage.prompt_tokens).toBeGreaterThan(0);
    const row = await loggedRow(call.response.headers.get('x-request-id'));
    expect(row).toMatchObject({ stream: 1, usage_estimated: 0, prompt_tokens: usage.prompt_tokens, completion_tokens: usage.completion_tokens });
  });

  it('prices Anthropic cache writes and reads at their own rates', async () => {
    const tag = nonce();
    const system = [{ type: 'text', text: `${tag} ${'Policy text that every request repeats. '.repeat(150)}`, cache_control: { type: 'ephemeral' } }];
    const ask = () =>
      chat({
        model: 'anthropic/claude-sonnet-4-5',
        messages: [
          { role: 'system', content: system },
          { role: 'user', content: 'Summarize.' },
        ],
      });

    const first = await ask();
    const firstBody = (await first.response.json()) as {
      usage: { prompt_tokens: number; completion_tokens: number; prompt_tokens_details: { cached_tokens: number } };
    };
    await first.settled();
    const second = await ask();
    const secondBody = (await second.response.json()) as typeof firstBody;
    await second.settled();

    const written = await loggedRow(first.response.headers.get('x-request-id'));
    const read = await loggedRow(second.response.headers.get('x-request-id'));
    expect(written!.cache_write_tokens).toBeGreaterThanOrEqual(1024);
    expect(written!.cached_tokens).toBe(0);
    expect(read!.cached_tokens).toBe(written!.cache_write_tokens);
    expect(secondBody.usage.prompt_tokens_details.cached_tokens).toBe(read!.cached_tokens);
    // Normalized: prompt_tokens counts every input token, cached or written, like OpenAI.
    expect(read!.prompt_tokens).toBe(firstBody.usage.prompt_tokens);
    expect(written!.cost_nano).toBe(
      costNano(
        { promptTokens: written!.prompt_tokens, completionTokens: written!.completion_tokens, cachedTokens: 0, cacheWriteTokens: written!.cache_write_tokens },
        SONNET,
      ),
    );
    expect(read!.cost_nano).toBe(
      costNano(
        { promptTokens: read!.prompt_tokens, completionTokens: read!.completion_tokens, cachedTokens: read!.cached_tokens, cacheWriteTokens: 0 },
        SONNET,
      ),
    );
    expect(read!.cost_nano).toBeLessThan(written!.cost_nano);
  });

  it('maps Anthropic errors: overloaded to 503, a bad request to 400, mid-stream errors to an error event', async () => {
    const overloaded = await chat({ model: 'anthropic/claude-sonnet-4-5', messages: [{ role: 'user', content: `upstream:status=529 ${nonce()}` }] });
    expect(overloaded.response.status).toBe(503);
    const rejected = await chat({ model: 'anthropic/claude-sonnet-4-5', messages: [{ role: 'user', content: `upstream:status=400 ${nonce()}` }] });
    expect(rejected.response.status).toBe(400);
    expect(((await rejected.response.json()) as { error: { type: string } }).error.type).toBe('invalid_request_error');

    const midStream = await chat({
      model: 'anthropic/claude-sonnet-4-5',
      stream: true,
      messages: [{ role: 'user', content: `upstream:midstream-error ${nonce()}` }],
    });
    const events = await readSse(midStream.response);
    await midStream.settled();
    expect(JSON.parse(events.at(-1)!.data).error.type).toBe('upstream_error');
    const row = await loggedRow(midStream.response.headers.get('x-request-id'));
    expect(row!.status).toBeGreaterThanOrEqual(500);
    expect(row!.prompt_tokens).toBeGreaterThan(0);
  });

  it('rejects n > 1, which the Messages API cannot do', async () => {
    const call = await chat({ model: 'anthropic/claude-sonnet-4-5', n: 2, messages: [{ role: 'user', content: 'hi' }] });
    expect(call.response.status).toBe(400);
    expect(((await call.response.json()) as { error: { param: string } }).error.param).toBe('n');
  });
});
