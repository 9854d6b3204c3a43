import { describe, expect, it } from 'vitest';
import { BUILT_IN_MODELS, costNano } from '../../proxy/pricing/catalog';
import { createTestTenant } from './fixtures';
import { callAdmin, nonce, postJson, upstreamEnv, upstreamRequests } from './harness';

const tiersEnv = { ...upstreamEnv(), CHEAP_MODEL: 'openai/gpt-4o-mini', EXPENSIVE_MODEL: 'anthropic/claude-sonnet-4-5' };

describe('model: auto', () => {
  it('sends x-task: classify to the cheap model and x-task: reason to the expensive one', async () => {
    const tenant = await createTestTenant();
    const cheapTag = nonce();
    const cheap = await postJson(
      '/v1/chat/completions',
      { model: 'auto', messages: [{ role: 'user', content: `Is this spam? ${cheapTag}` }] },
      { apiKey: tenant.apiKey, headers: { 'x-task': 'classify' }, env: tiersEnv },
    );
    expect(cheap.response.status).toBe(200);
    expect(cheap.response.headers.get('x-proxy-tier')).toBe('cheap');
    expect(cheap.response.headers.get('x-proxy-model')).toBe('openai/gpt-4o-mini');
    expect(cheap.response.headers.get('x-proxy-route-reason')).toBe('task:classify');
    const [cheapSent] = await upstreamRequests(cheapTag);
    expect(cheapSent).toMatchObject({ path: '/v1/chat/completions', body: { model: 'gpt-4o-mini' } });

    const expensiveTag = nonce();
    const expensive = await postJson(
      '/v1/chat/completions',
      { model: 'auto', messages: [{ role: 'user', content: `Why? ${expensiveTag}` }] },
      { apiKey: tenant.apiKey, headers: { 'x-task': 'reason' }, env: tiersEnv },
    );
    expect(expensive.response.headers.get('x-proxy-model')).toBe('anthropic/claude-sonnet-4-5');
    const [expensiveSent] = await upstreamRequests(expensiveTag);
    expect(expensiveSent).toMatchObject({ path: '/v1/messages', body: { model: 'claude-sonnet-4-5' } });

    await expensive.settled();
    const log = (await (await callAdmin(`/admin/requests?tenant=${tenant.id}`)).response.json()) as {
      data: { tier: string; route_reason: string; model_requested: string }[];
    };
    expect(log.data.map((r) => [r.model_requested, r.tier, r.route_reason])).toEqual([
      ['auto', 'expensive', 'task:reason'],
      ['auto', 'cheap', 'task:classify'],
    ]);
  });

  it('reads the request when there is no hint', async () => {
    const tenant = await createTestTenant();
    const call = await postJson(
      '/v1/chat/completions',
      { model: 'auto', messages: [{ role: 'user', content: 'Write a function that merges two sorted arrays.' }] },
      { apiKey: tenant.apiKey },
    );
    expect(call.response.headers.get('x-proxy-tier')).toBe('expensive');
    expect(call.response.headers.get('x-proxy-route-reason')).toBe('rule:code');
  });

  it('answers 400 for an unknown x-task', async () => {
    const tenant = await createTestTenant();
    const call = await postJson(
      '/v1/chat/completions',
      { model: 'auto', messages: [{ role: 'user', content: 'x' }] },
      { apiKey: tenant.apiKey, headers: { 'x-task': 'dance' } },
    );
    expect(call.response.status).toBe(400);
    expect(((await call.response.json()) as { error: { param: string } }).error.param).toBe('x-task');
  });
});

describe('an unknown x-task', () => {
  /** A call to `path` with `x-task: dance`, a model the hint would not decide, and a tag to find it upstream by. */
  const withUnknownTask = async (path: string, body: Record<string, unknown>, headers: Record<string, string> = {}) => {
    const tenant = await createTestTenant();
    const tag = nonce();
    const messages = [{ role: 'user', content: `Is this spam? ${tag}` }];
    const call = await postJson(
      path,
      { ...body, ...(path === '/v1/responses' ? { input: tag } : { messages }) },
      {
        apiKey: tenant.apiKey,
        headers: { 'x-task': 'dance', ...headers },
        env: tiersEnv,
      },
    );
    return { call, tag, tenant };
  };

  it.each([
    ['/v1/chat/completions', { model: 'cheap' }],
    ['/v1/chat/completions', { model: 'openai/gpt-4o', stream: true }],
    ['/v1/responses', { model: 'expensive' }],
    ['/v1/responses', { model: 'openai/gpt-4o-mini' }],
  ] as const)('is a 400 naming x-task on %s with %j, before any upstream call', async (path, body) => {
    const { call, tag } = await withUnknownTask(path, body);
    expect(call.response.status).toBe(400);
    expect(await call.response.json()).toMatchObject({ error: { type: 'invalid_request_error', param: 'x-task', code: 'invalid_task' } });
    await call.settled();
    expect(await upstreamRequests(tag)).toEqual([]);
  });

  it.each([
    ['/v1/messages', { model: 'anthropic/claude-sonnet-4-5', max_tokens: 50 }],
    ['/v1/messages/count_tokens', { model: 'cheap' }],
  ] as const)('is a 400 in Anthropic’s shape on %s with %j, before any upstream call', async (path, body) => {
    const { call, tag } = await withUnknownTask(path, body, { 'anthropic-version': '2023-06-01' });
    expect(call.response.status).toBe(400);
    const refused = (await call.response.json()) as { type: string; error: { type: string; message: string } };
    expect(refused).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
    expect(refused.error.message).toContain('x-task');
    await call.settled();
    expect(await upstreamRequests(tag)).toEqual([]);
  });

  it('is a 400 on a Responses call continuing a conversation, whose model the previous response decides', async () => {
    const tenant = await createTestTenant();
    const first = await postJson('/v1/responses', { model: 'openai/gpt-4o', input: `Hello ${nonce()}` }, { apiKey: tenant.apiKey, env: tiersEnv });
    const { id } = (await first.response.json()) as { id: string };
    await first.settled();
    const tag = nonce();
    const second = await postJson(
      '/v1/responses',
      { model: 'openai/gpt-4o', previous_response_id: id, input: tag },
      { apiKey: tenant.apiKey, headers: { 'x-task': 'dance' }, env: tiersEnv },
    );
    expect(second.response.status).toBe(400);
    expect(((await second.response.json()) as { error: { param: string } }).error.param).toBe('x-task');
    await second.settled();
    expect(await upstreamRequests(tag)).toEqual([]);
  });

  it('still routes a known task given in any case, on a call it does not decide', async () => {
    const tenant = await createTestTenant();
    const call = await postJson(
      '/v1/chat/completions',
      { model: 'expensive', messages: [{ role: 'user', content: 'x' }] },
      { apiKey: tenant.apiKey, headers: { 'x-task': ' Classify ' }, env: tiersEnv },
    );
    expect(call.response.status).toBe(200);
    expect(call.response.headers.get('x-proxy-route-reason')).toBe('alias:expensive');
    await call.response.text();
    await call.settled();
  });
});

describe('tenant routing', () => {
  it('passthrough keeps a concrete model as asked', async () => {
    const tenant = await createTestTenant();
    const call = await postJson(
      '/v1/chat/completions',
      { model: 'mock/mock-large', messages: [{ role: 'user', content: 'x' }] },
      { apiKey: tenant.apiKey, headers: { 'x-task': 'classify' } },
    );
    expect(call.response.headers.get('x-proxy-model')).toBe('mock/mock-large');
    expect(call.response.headers.get('x-proxy-route-reason')).toBe('model');
  });

  it('auto routes a concrete model by task, with the asked model as the ceiling', async () => {
    const tenant = await createTestTenant({ routing: 'auto' });
    const send = (model: string, task: string) =>
      postJson('/v1/chat/completions', { model, messages: [{ role: 'user', content: 'x' }] }, { apiKey: tenant.apiKey, headers: { 'x-task': task } });

    const downgraded = await send('mock/mock-large', 'classify');
    expect(downgraded.response.headers.get('x-proxy-model')).toBe('mock/mock-mini');
    expect(downgraded.response.headers.get('x-proxy-tier')).toBe('cheap');
    expect(downgraded.response.headers.get('x-proxy-route-reason')).toBe('task:classify');

    const kept = await send('mock/mock-large', 'reason');
    expect(kept.response.headers.get('x-proxy-model')).toBe('mock/mock-large');
    expect(kept.response.headers.get('x-proxy-route-reason')).toBe('task:reason');

    const ceiling = await send('mock/mock-mini', 'reason');
    expect(ceiling.response.headers.get('x-proxy-model')).toBe('mock/mock-mini');
    expect(ceiling.response.headers.get('x-proxy-route-reason')).toBe('task:reason+ceiling');
  });

  it('uses the tenant’s own tier models when it has them', async () => {
    const tenant = await createTestTenant({ cheap_model: 'openai/gpt-4.1-nano', expensive_model: 'mock/mock-large' });
    const tag = nonce();
    const call = await postJson(
      '/v1/chat/completions',
      { model: 'cheap', messages: [{ role: 'user', content: tag }] },
      { apiKey: tenant.apiKey, env: upstreamEnv() },
    );
    expect(call.response.headers.get('x-proxy-model')).toBe('openai/gpt-4.1-nano');
    expect((await upstreamRequests(tag))[0].body.model).toBe('gpt-4.1-nano');
  });

  it('rejects a tier override that is not provider/model', async () => {
    const call = await callAdmin('/admin/tenants', { method: 'POST', json: { name: 'x', cheap_model: 'gpt-4o-mini' } });
    expect(call.response.status).toBe(400);
  });
});

describe('pinned snapshots', () => {
  it('serve a dated model under its own name upstream, priced as the model it pins', async () => {
    const tenant = await createTestTenant();
    for (const [asked, provider, pinned, upstreamModel] of [
      ['claude-sonnet-4-5-20250929', 'anthropic', 'anthropic/claude-sonnet-4-5', 'claude-sonnet-4-5-20250929'],
      ['anthropic/claude-haiku-4-5-20251001', 'anthropic', 'anthropic/claude-haiku-4-5', 'claude-haiku-4-5-20251001'],
      ['gpt-4o-2024-08-06', 'openai', 'openai/gpt-4o', 'gpt-4o-2024-08-06'],
    ]) {
      const tag = nonce();
      const call = await postJson(
        '/v1/chat/completions',
        { model: asked, messages: [{ role: 'user', content: `hi ${tag}` }] },
        { apiKey: tenant.apiKey, env: upstreamEnv() },
      );
      expect(call.response.status, asked).toBe(200);
      const body = (await call.response.json()) as { usage: { prompt_tokens: number; completion_tokens: number } };
      expect(call.response.headers.get('x-proxy-model')).toBe(`${provider}/${upstreamModel}`);
      const [sent] = await upstreamRequests(tag);
      expect((sent.body as { model: string }).model).toBe(upstreamModel);
      const price = BUILT_IN_MODELS.find((m) => m.id === pinned)!;
      const usage = { promptTokens: body.usage.prompt_tokens, completionTokens: body.usage.completion_tokens, cachedTokens: 0, cacheWriteTokens: 0 };
      expect(call.response.headers.get('x-proxy-cost-usd'), asked).toBe((costNano(usage, price) / 1e9).toFixed(9));
    }
  });
});
