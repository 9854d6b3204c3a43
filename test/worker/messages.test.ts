/**
 * POST /v1/messages and /v1/messages/count_tokens: native to Anthropic upstreams (the body and
 * the client's anthropic-* headers forwarded, the answer passed back as sent, metered from a
 * copy), translated for the others (the mock provider, and OpenAI through the fake upstream);
 * errors in Anthropic's shape; each call logged and priced.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { BUILT_IN_MODELS, costNano } from '../../proxy/pricing/catalog';
import { createTestTenant, loggedRow, type TestTenant } from './fixtures';
import { callAdmin, callProxy, nonce, readSse, TEST_ANTHROPIC_KEY, upstreamEnv, upstreamRequests } from './harness';

let tenant: TestTenant;

beforeAll(async () => {
  tenant = await createTestTenant();
});

/** A Messages call as the Anthropic SDK makes it: the key in x-api-key, anthropic-version set. */
function send(body: Record<string, unknown>, env = {}, headers: Record<string, string> = {}, path = '/v1/messages') {
  return callProxy(
    path,
    {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': tenant.apiKey, 'anthropic-version': '2023-06-01', ...headers },
      body: JSON.stringify(body),
    },
    env,
  );
}

interface MessageBody {
  id: string;
  type: string;
  role: string;
  model: string;
  content: Array<{ type: string; text?: string; id?: string; name?: string; input?: unknown }>;
  stop_reason: string;
  usage: { input_tokens: number; output_tokens: number; cache_read_input_tokens?: number; cache_creation_input_tokens?: number };
}

const said = (message: MessageBody) =>
  message.content
    .filter((b) => b.type === 'text')
    .map((b) => b.text)
    .join('');

const anthropicOnly = { ...upstreamEnv(), OPENAI_API_KEY: undefined, OPENAI_BASE_URL: undefined };
const openaiOnly = { ...upstreamEnv(), ANTHROPIC_API_KEY: undefined, ANTHROPIC_BASE_URL: undefined };
const weather = {
  name: 'get_weather',
  description: 'Weather for a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

describe('native (Anthropic upstream)', () => {
  it('forwards the body and the client anthropic-* headers with the proxy key, passes the answer back and prices it', async () => {
    const tag = nonce();
    const call = await send(
      {
        model: 'claude-haiku-4-5-20251001',
        max_tokens: 100,
        system: 'Be brief.',
        messages: [{ role: 'user', content: `hello ${tag}` }],
        metadata: { user_id: 'u1' },
      },
      anthropicOnly,
      { 'anthropic-beta': 'prompt-caching-2024-07-31' },
    );
    expect(call.response.status).toBe(200);
    const message = (await call.response.json()) as MessageBody;
    expect(message.type).toBe('message');
    expect(said(message)).toContain(tag);
    const [sent] = await upstreamRequests(tag);
    expect(sent.path).toBe('/v1/messages');
    expect(sent.headers['x-api-key']).toBe(TEST_ANTHROPIC_KEY);
    expect(sent.headers['anthropic-beta']).toBe('prompt-caching-2024-07-31');
    expect(sent.body).toMatchObject({ model: 'claude-haiku-4-5-20251001', system: 'Be brief.', metadata: { user_id: 'u1' } });
    await call.settled();
    const row = await loggedRow(call.response.headers.get('x-request-id'));
    const usage = { promptTokens: message.usage.input_tokens, completionTokens: message.usage.output_tokens, cachedTokens: 0, cacheWriteTokens: 0 };
    const price = BUILT_IN_MODELS.find((m) => m.id === 'anthropic/claude-haiku-4-5')!;
    expect(row).toMatchObject({ endpoint: 'messages', status: 200, model: 'anthropic/claude-haiku-4-5-20251001', cost_nano: costNano(usage, price) });
    expect(call.response.headers.get('x-proxy-cost-usd')).toBe((costNano(usage, price) / 1e9).toFixed(9));
  });

  it('passes a stream through as sent and meters it from a copy', async () => {
    const tag = nonce();
    const call = await send(
      { model: 'anthropic/claude-haiku-4-5', max_tokens: 100, stream: true, messages: [{ role: 'user', content: `stream ${tag}` }] },
      anthropicOnly,
    );
    const events = await readSse(call.response);
    expect(events[0].event).toBe('message_start');
    expect(events.at(-1)!.event).toBe('message_stop');
    await call.settled();
    const row = await loggedRow(call.response.headers.get('x-request-id'));
    expect(row).toMatchObject({ endpoint: 'messages', status: 200, stream: 1, usage_estimated: 0 });
    expect(row!.prompt_tokens).toBeGreaterThan(0);
    expect(row!.completion_tokens).toBeGreaterThan(0);
  });
});

describe('translated (OpenAI-compatible upstream)', () => {
  it('carries tools both ways over two turns', async () => {
    const tag = nonce();
    const first = await send(
      { model: 'openai/gpt-4o-mini', max_tokens: 200, tools: [weather], messages: [{ role: 'user', content: `What is the weather in Paris? ${tag}` }] },
      openaiOnly,
    );
    expect(first.response.status).toBe(200);
    const turn1 = (await first.response.json()) as MessageBody;
    expect(turn1.stop_reason).toBe('tool_use');
    const toolUse = turn1.content.find((b) => b.type === 'tool_use')!;
    expect(toolUse).toMatchObject({ name: 'get_weather', input: { city: 'Paris' } });
    const [sent] = await upstreamRequests(tag);
    expect(sent.path).toBe('/v1/chat/completions');
    expect((sent.body as { tools: Array<{ function: { name: string } }> }).tools[0].function.name).toBe('get_weather');

    const second = await send(
      {
        model: 'openai/gpt-4o-mini',
        max_tokens: 200,
        tools: [weather],
        messages: [
          { role: 'user', content: `What is the weather in Paris? ${tag}` },
          { role: 'assistant', content: turn1.content },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: toolUse.id, content: '{"temp":21}' }] },
        ],
      },
      openaiOnly,
    );
    const turn2 = (await second.response.json()) as MessageBody;
    expect(turn2.stop_reason).toBe('end_turn');
    expect(said(turn2)).toContain('Echo:');
    const [, continued] = await upstreamRequests(tag);
    const messages = (continued.body as { messages: Array<{ role: string; tool_call_id?: string; content: unknown; tool_calls?: unknown[] }> }).messages;
    expect(messages.map((m) => m.role)).toEqual(['user', 'assistant', 'tool']);
    expect(messages[1].tool_calls).toHaveLength(1);
    expect(messages[2]).toMatchObject({ tool_call_id: toolUse.id, content: '{"temp":21}' });
  });

  it('streams in Anthropic events, message_start carrying the estimated input tokens', async () => {
    const call = await send({ model: 'cheap', max_tokens: 100, stream: true, messages: [{ role: 'user', content: `stream me ${nonce()}` }] });
    const events = await readSse(call.response);
    const types = events.map((e) => e.event);
    expect(types[0]).toBe('message_start');
    expect(types.slice(1, 3)).toEqual(['content_block_start', 'content_block_delta']);
    expect(types.slice(-3)).toEqual(['content_block_stop', 'message_delta', 'message_stop']);
    const start = JSON.parse(events[0].data) as { message: MessageBody };
    expect(start.message.usage.input_tokens).toBeGreaterThan(0);
    const delta = JSON.parse(events.at(-2)!.data) as { delta: { stop_reason: string }; usage: { output_tokens: number } };
    expect(delta.delta.stop_reason).toBe('end_turn');
    expect(delta.usage.output_tokens).toBeGreaterThan(0);
    await call.settled();
    const row = await loggedRow(call.response.headers.get('x-request-id'));
    expect(row).toMatchObject({ endpoint: 'messages', status: 200, stream: 1, usage_estimated: 0, completion_tokens: delta.usage.output_tokens });
  });

  it('refuses a server tool by name rather than dropping it', async () => {
    const call = await send({
      model: 'cheap',
      max_tokens: 100,
      tools: [{ type: 'web_search_20250305', name: 'web_search' }],
      messages: [{ role: 'user', content: 'search' }],
    });
    expect(call.response.status).toBe(400);
    const body = (await call.response.json()) as { type: string; error: { type: string; message: string } };
    expect(body.type).toBe('error');
    expect(body.error.type).toBe('invalid_request_error');
    expect(body.error.message).toContain('web_search_20250305');
  });
});

describe('errors in Anthropic shape', () => {
  it('answers a bad key, a bad body and an unknown model as Anthropic does, with a request-id', async () => {
    const bad = await callProxy('/v1/messages', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'sk-proxy-wrong', 'anthropic-version': '2023-06-01' },
      body: '{}',
    });
    expect(bad.response.status).toBe(401);
    expect(await bad.response.json()).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
    expect(bad.response.headers.get('request-id')).toBeTruthy();

    const invalid = await send({ model: 'cheap', messages: [{ role: 'user', content: 'no max_tokens' }] });
    expect(invalid.response.status).toBe(400);
    expect(await invalid.response.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });

    const unknown = await send({ model: 'no-such-model', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] });
    expect(unknown.response.status).toBe(404);
    expect(await unknown.response.json()).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
  });

  it('answers a spent budget with 402 billing_error and x-should-retry: false', async () => {
    const spent = await createTestTenant();
    await callAdmin(`/admin/tenants/${spent.id}`, { method: 'PATCH', json: { monthly_budget_usd: 0 } });
    const call = await callProxy('/v1/messages', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${spent.apiKey}`, 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'cheap', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(call.response.status).toBe(402);
    expect(call.response.headers.get('x-should-retry')).toBe('false');
    expect(await call.response.json()).toMatchObject({ type: 'error', error: { type: 'billing_error' } });
    // The row says what the client got.
    await call.settled();
    expect(await loggedRow(call.response.headers.get('x-request-id'))).toMatchObject({ endpoint: 'messages', status: 402, error_type: 'insufficient_quota' });
  });
});

describe('the end user told to another provider', () => {
  it("is Claude Code's stable account id, not its whole JSON, and fits OpenAI's user field", async () => {
    const tag = nonce();
    const userId = JSON.stringify({ device_id: 'd'.repeat(64), account_uuid: 'acc-1234', session_id: 'sess-9' });
    const call = await send(
      { model: 'openai/gpt-4o-mini', max_tokens: 20, metadata: { user_id: userId }, messages: [{ role: 'user', content: `hi ${tag}` }] },
      openaiOnly,
    );
    expect(call.response.status).toBe(200);
    const [sent] = await upstreamRequests(tag);
    expect((sent.body as { user: string }).user).toBe('acc-1234');
  });
});

describe('count_tokens', () => {
  it('estimates for a provider without the Messages API, logged at zero cost', async () => {
    const call = await send({ model: 'cheap', messages: [{ role: 'user', content: 'count these words please' }] }, {}, {}, '/v1/messages/count_tokens');
    expect(call.response.status).toBe(200);
    const body = (await call.response.json()) as { input_tokens: number };
    expect(body.input_tokens).toBeGreaterThan(0);
    await call.settled();
    const row = await loggedRow(call.response.headers.get('x-request-id'));
    expect(row).toMatchObject({ endpoint: 'count_tokens', status: 200, cost_nano: 0 });
  });
});

describe('GET /v1/models', () => {
  it('answers in Anthropic shape when the request names an anthropic-version', async () => {
    const call = await callProxy('/v1/models', { headers: { 'x-api-key': tenant.apiKey, 'anthropic-version': '2023-06-01' } });
    const body = (await call.response.json()) as { data: Array<{ type: string; id: string }>; has_more: boolean };
    expect(body.has_more).toBe(false);
    expect(body.data[0]).toMatchObject({ type: 'model', id: 'cheap' });
  });
});

describe('native cost details', () => {
  it('prices 1-hour cache writes at their own rate and keeps them on the row', async () => {
    const tag = nonce();
    const system = [{ type: 'text', text: `${tag} ${'You are a careful assistant. '.repeat(300)}`, cache_control: { type: 'ephemeral', ttl: '1h' } }];
    const call = await send({ model: 'anthropic/claude-sonnet-4-5', max_tokens: 50, system, messages: [{ role: 'user', content: 'hi' }] }, anthropicOnly);
    const message = (await call.response.json()) as MessageBody & { usage: { cache_creation: { ephemeral_1h_input_tokens: number } } };
    const writes = message.usage.cache_creation_input_tokens!;
    expect(writes).toBeGreaterThan(1000);
    expect(message.usage.cache_creation.ephemeral_1h_input_tokens).toBe(writes);
    await call.settled();
    const row = await loggedRow(call.response.headers.get('x-request-id'));
    const price = BUILT_IN_MODELS.find((m) => m.id === 'anthropic/claude-sonnet-4-5')!;
    const usage = {
      promptTokens: message.usage.input_tokens + writes,
      completionTokens: message.usage.output_tokens,
      cachedTokens: 0,
      cacheWriteTokens: writes,
      cacheWrite1hTokens: writes,
    };
    expect(row).toMatchObject({ cache_write_tokens: writes, cache_write_1h_tokens: writes, cost_nano: costNano(usage, price) });
    // At the 5-minute rate the same call would cost less: 1.25x input instead of 2x.
    expect(costNano({ ...usage, cacheWrite1hTokens: 0 }, price)).toBeLessThan(row!.cost_nano);
  });

  it('forwards count_tokens to Anthropic, logged at zero cost', async () => {
    const call = await send(
      { model: 'claude-haiku-4-5', messages: [{ role: 'user', content: `count ${nonce()}` }] },
      anthropicOnly,
      {},
      '/v1/messages/count_tokens',
    );
    expect(call.response.status).toBe(200);
    expect(((await call.response.json()) as { input_tokens: number }).input_tokens).toBeGreaterThan(0);
    await call.settled();
    expect(await loggedRow(call.response.headers.get('x-request-id'))).toMatchObject({ endpoint: 'count_tokens', provider: 'anthropic', cost_nano: 0 });
  });
});

describe('response cache', () => {
  it('replays a cached Message as Anthropic events', async () => {
    const request = { model: 'cheap', max_tokens: 50, temperature: 0, messages: [{ role: 'user', content: `cache me ${nonce()}` }] };
    const miss = await send(request);
    const original = (await miss.response.json()) as MessageBody;
    await miss.settled();
    const hit = await send({ ...request, stream: true });
    expect(hit.response.headers.get('x-proxy-cache')).toBe('HIT');
    const events = await readSse(hit.response);
    const types = events.map((e) => e.event);
    expect(types.slice(0, 3)).toEqual(['message_start', 'content_block_start', 'content_block_delta']);
    expect(types.slice(-3)).toEqual(['content_block_stop', 'message_delta', 'message_stop']);
    const deltas = events.filter((e) => e.event === 'content_block_delta').map((e) => (JSON.parse(e.data) as { delta: { text: string } }).delta.text);
    expect(deltas.join('')).toBe(said(original));
  });
});
