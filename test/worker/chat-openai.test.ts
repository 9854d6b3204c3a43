import { beforeAll, describe, expect, it } from 'vitest';
import { costNano, BUILT_IN_MODELS } from '../../proxy/pricing/catalog';
import { createTestTenant, loggedRow, type TestTenant } from './fixtures';
import { nonce, postJson, readSse, recordingAnalytics, TEST_OPENAI_KEY, upstreamEnv, upstreamRequests } from './harness';

const GPT4O_MINI = BUILT_IN_MODELS.find((m) => m.id === 'openai/gpt-4o-mini')!;
let tenant: TestTenant;

beforeAll(async () => {
  tenant = await createTestTenant();
});

const chat = (body: Record<string, unknown>, env = {}) => postJson('/v1/chat/completions', body, { apiKey: tenant.apiKey, env: { ...upstreamEnv(), ...env } });

describe('OpenAI upstream, plain', () => {
  it('forwards the request, answers with the upstream body, prices and logs the call', async () => {
    const tag = nonce();
    const ae = recordingAnalytics();
    const call = await chat(
      { model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: `hello ${tag}` }], logit_bias: { '50256': -100 }, custom_field: { kept: true } },
      { AE: ae },
    );
    expect(call.response.status).toBe(200);
    const body = (await call.response.json()) as { choices: { message: { content: string } }[]; usage: { prompt_tokens: number; completion_tokens: number } };
    expect(body.choices[0].message.content).toContain(`Echo: hello ${tag}`);
    await call.settled();

    const [sent] = await upstreamRequests(tag);
    expect(sent.path).toBe('/v1/chat/completions');
    expect(sent.headers.authorization).toBe(`Bearer ${TEST_OPENAI_KEY}`);
    expect(sent.body).toMatchObject({ model: 'gpt-4o-mini', logit_bias: { '50256': -100 }, custom_field: { kept: true } });

    const h = call.response.headers;
    expect(h.get('x-proxy-model')).toBe('openai/gpt-4o-mini');
    expect(h.get('x-proxy-tier')).toBe('cheap');
    expect(h.get('x-proxy-route-reason')).toBe('model');
    expect(h.get('x-proxy-cache')).toBe('BYPASS');
    const usage = { promptTokens: body.usage.prompt_tokens, completionTokens: body.usage.completion_tokens, cachedTokens: 0, cacheWriteTokens: 0 };
    const expectedCost = costNano(usage, GPT4O_MINI);
    expect(h.get('x-proxy-cost-usd')).toBe((expectedCost / 1e9).toFixed(9));

    const row = await loggedRow(h.get('x-request-id'));
    expect(row).toMatchObject({
      tenant_id: tenant.id,
      key_id: tenant.keyId,
      endpoint: 'chat',
      model_requested: 'openai/gpt-4o-mini',
      model: 'openai/gpt-4o-mini',
      provider: 'openai',
      tier: 'cheap',
      status: 200,
      prompt_tokens: usage.promptTokens,
      completion_tokens: usage.completionTokens,
      cost_nano: expectedCost,
      stream: 0,
      cache: 'BYPASS',
      ttft_ms: null,
      usage_estimated: 0,
      error_type: null,
    });
    expect(ae.points).toHaveLength(1);
    expect(ae.points[0].indexes).toEqual([tenant.id]);
    expect(ae.points[0].blobs?.slice(0, 5)).toEqual([tenant.id, 'openai/gpt-4o-mini', 'openai', 'cheap', '200']);
    expect(ae.points[0].doubles?.slice(0, 2)).toEqual([usage.promptTokens, usage.completionTokens]);
  });

  it('accepts a bare catalog name and prices cached prompt tokens at the cached rate', async () => {
    const tag = nonce();
    const longSystem = `${tag} ${'You are a careful assistant. '.repeat(200)}`;
    const call = await chat({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: longSystem },
        { role: 'user', content: 'hi' },
      ],
    });
    const body = (await call.response.json()) as {
      usage: { prompt_tokens: number; completion_tokens: number; prompt_tokens_details: { cached_tokens: number } };
    };
    await call.settled();
    const cached = body.usage.prompt_tokens_details.cached_tokens;
    expect(cached).toBeGreaterThanOrEqual(1024);
    const row = await loggedRow(call.response.headers.get('x-request-id'));
    expect(row?.cached_tokens).toBe(cached);
    const usage = { promptTokens: body.usage.prompt_tokens, completionTokens: body.usage.completion_tokens, cachedTokens: cached, cacheWriteTokens: 0 };
    expect(row?.cost_nano).toBe(costNano(usage, GPT4O_MINI));
    expect(row!.cost_nano).toBeLessThan(costNano({ ...usage, cachedTokens: 0 }, GPT4O_MINI));
  });
});

describe('OpenAI upstream, streaming', () => {
  it('always asks upstream for usage but hides the usage chunk from a client that did not ask', async () => {
    const tag = nonce();
    const call = await chat({ model: 'openai/gpt-4o-mini', stream: true, messages: [{ role: 'user', content: `stream please ${tag}` }] });
    expect(call.response.headers.get('content-type')).toContain('text/event-stream');
    expect(call.response.headers.get('cache-control')).toBe('no-cache');
    const events = await readSse(call.response);
    await call.settled();
    expect(events.at(-1)?.data).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.data));
    expect(chunks.every((c) => c.choices.length > 0)).toBe(true);
    expect(chunks.map((c) => c.choices[0].delta.content ?? '').join('')).toContain(`Echo: stream please ${tag}`);

    const [sent] = await upstreamRequests(tag);
    expect(sent.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    const row = await loggedRow(call.response.headers.get('x-request-id'));
    expect(row).toMatchObject({ status: 200, stream: 1, usage_estimated: 0 });
    expect(row!.prompt_tokens).toBeGreaterThan(0);
    expect(row!.completion_tokens).toBeGreaterThan(0);
    expect(row!.ttft_ms).not.toBeNull();
  });

  it('forwards the usage chunk when the client asked, and logs exactly that usage', async () => {
    const tag = nonce();
    const call = await chat({
      model: 'openai/gpt-4o-mini',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: `count ${tag}` }],
    });
    const events = await readSse(call.response);
    await call.settled();
    const usageChunk = JSON.parse(events.at(-2)!.data);
    expect(usageChunk.choices).toEqual([]);
    const row = await loggedRow(call.response.headers.get('x-request-id'));
    expect(row?.prompt_tokens).toBe(usageChunk.usage.prompt_tokens);
    expect(row?.completion_tokens).toBe(usageChunk.usage.completion_tokens);
    expect(row?.cost_nano).toBe(
      costNano(
        { promptTokens: usageChunk.usage.prompt_tokens, completionTokens: usageChunk.usage.completion_tokens, cachedTokens: 0, cacheWriteTokens: 0 },
        GPT4O_MINI,
      ),
    );
  });

  it('passes the upstream stream through as sent when the client asked for usage; re-frames it otherwise', async () => {
    for (const includeUsage of [true, false]) {
      const tag = nonce();
      const call = await chat({
        model: 'openai/gpt-4o-mini',
        stream: true,
        stream_options: { include_usage: includeUsage },
        messages: [{ role: 'user', content: `upstream:sse-comment hi ${tag}` }],
      });
      const text = await call.response.text();
      await call.settled();
      // The upstream's keep-alive comment reaches the client only through the pass-through.
      expect(text.includes(': keep-alive\n\n'), `include_usage ${includeUsage}`).toBe(includeUsage);
      expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
      const row = await loggedRow(call.response.headers.get('x-request-id'));
      expect(row).toMatchObject({ status: 200, stream: 1, usage_estimated: 0 });
      expect(row!.ttft_ms).not.toBeNull();
    }
  });

  it('turns an upstream failure mid-stream into an error event and logs it', async () => {
    const call = await chat({ model: 'openai/gpt-4o-mini', stream: true, messages: [{ role: 'user', content: `upstream:midstream-error ${nonce()}` }] });
    expect(call.response.status).toBe(200);
    const events = await readSse(call.response);
    await call.settled();
    const last = JSON.parse(events.at(-1)!.data);
    expect(last.error).toMatchObject({ type: 'upstream_error', code: 'upstream_stream_error' });
    const row = await loggedRow(call.response.headers.get('x-request-id'));
    expect(row).toMatchObject({ status: 502, error_type: 'upstream_stream_error', stream: 1, usage_estimated: 1 });
    expect(row!.prompt_tokens).toBeGreaterThan(0);
  });
});

describe('OpenAI upstream failures', () => {
  // One attempt, no fallback: the mapping of a single failure (failover.test.ts covers retries).
  const once = { UPSTREAM_MAX_RETRIES: '0', FALLBACK_MODEL: 'none' };

  it.each([
    [500, 502, 'upstream_error'],
    [503, 503, 'upstream_overloaded'],
    [400, 400, 'upstream_rejected'],
  ])('maps an upstream %i to a %i and logs it', async (upstreamStatus, status, code) => {
    const call = await chat({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: `upstream:status=${upstreamStatus} ${nonce()}` }] }, once);
    expect(call.response.status).toBe(status);
    const body = (await call.response.json()) as { error: { code: string } };
    expect(body.error.code).toBe(code);
    await call.settled();
    const row = await loggedRow(call.response.headers.get('x-request-id'));
    expect(row).toMatchObject({ status, error_type: code, model: 'openai/gpt-4o-mini', cost_nano: 0 });
  });

  it('passes an upstream 429 on with its retry-after', async () => {
    const call = await chat({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: `upstream:status=429 ${nonce()}` }] }, once);
    expect(call.response.status).toBe(429);
    expect(call.response.headers.get('retry-after')).toBe('1');
    expect(((await call.response.json()) as { error: { code: string } }).error.code).toBe('rate_limit_exceeded');
  });

  it('answers 502 without leaking the provider key when the upstream rejects it', async () => {
    const call = await chat({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }, { OPENAI_API_KEY: 'sk-invalid-secret-key' });
    expect(call.response.status).toBe(502);
    const text = await call.response.text();
    expect(text).not.toContain('sk-invalid-secret-key');
    expect(JSON.parse(text).error.code).toBe('upstream_auth_failed');
  });

  it('answers 502 when the upstream cannot be reached', async () => {
    const call = await chat({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }, { OPENAI_BASE_URL: 'http://127.0.0.1:9/v1' });
    expect(call.response.status).toBe(502);
    expect(((await call.response.json()) as { error: { code: string } }).error.code).toBe('upstream_unreachable');
  });
});

describe('embeddings', () => {
  it('forwards to the OpenAI upstream and logs the input tokens and cost', async () => {
    const tag = nonce();
    const call = await postJson(
      '/v1/embeddings',
      { model: 'text-embedding-3-small', input: [`first ${tag}`, 'second'] },
      { apiKey: tenant.apiKey, env: upstreamEnv() },
    );
    expect(call.response.status).toBe(200);
    const body = (await call.response.json()) as { data: unknown[]; usage: { prompt_tokens: number } };
    expect(body.data).toHaveLength(2);
    await call.settled();
    const [sent] = await upstreamRequests(tag);
    expect(sent.body).toMatchObject({ model: 'text-embedding-3-small' });
    const row = await loggedRow(call.response.headers.get('x-request-id'));
    const model = BUILT_IN_MODELS.find((m) => m.id === 'openai/text-embedding-3-small')!;
    expect(row).toMatchObject({ endpoint: 'embeddings', status: 200, prompt_tokens: body.usage.prompt_tokens });
    expect(row?.cost_nano).toBe(costNano({ promptTokens: body.usage.prompt_tokens, completionTokens: 0, cachedTokens: 0, cacheWriteTokens: 0 }, model));
  });

  it('refuses a chat model on the embeddings endpoint', async () => {
    const call = await postJson('/v1/embeddings', { model: 'gpt-4o-mini', input: 'x' }, { apiKey: tenant.apiKey, env: upstreamEnv() });
    expect(call.response.status).toBe(400);
    expect(((await call.response.json()) as { error: { param: string } }).error.param).toBe('model');
  });
});
