import { beforeAll, describe, expect, it } from 'vitest';
import { toProxyError } from '../../proxy/core/errors';
import { fetchUpstream } from '../../proxy/providers/upstream';
import { createTestTenant, loggedRow, rowsForTenant, type TestTenant } from './fixtures';
import { callAdmin, callProxy, nonce, postJson, upstreamEnv, upstreamRequests } from './harness';

let tenant: TestTenant;

beforeAll(async () => {
  tenant = await createTestTenant();
});

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

const errorOf = async (response: Response) => ((await response.json()) as ErrorBody).error;
const hello = { model: 'cheap', messages: [{ role: 'user', content: 'hello' }] };

describe('authentication', () => {
  it('answers 401 invalid_api_key without a key, with an unknown key, and with a revoked key', async () => {
    const none = await postJson('/v1/chat/completions', hello);
    expect(none.response.status).toBe(401);
    expect(await errorOf(none.response)).toMatchObject({ type: 'invalid_request_error', code: 'invalid_api_key' });

    const unknown = await postJson('/v1/chat/completions', hello, { apiKey: 'sk-proxy-not-a-real-key' });
    expect(unknown.response.status).toBe(401);

    const other = await createTestTenant();
    expect((await postJson('/v1/chat/completions', hello, { apiKey: other.apiKey })).response.status).toBe(200);
    const revoke = await callAdmin(`/admin/keys/${other.keyId}`, { method: 'DELETE' });
    expect(revoke.response.status).toBe(200);
    const revoked = await postJson('/v1/chat/completions', hello, { apiKey: other.apiKey });
    expect(revoked.response.status).toBe(401);
    expect((await errorOf(revoked.response)).code).toBe('invalid_api_key');
  });

  it('logs nothing for calls that never authenticated', async () => {
    const before = await rowsForTenant(tenant.id);
    await postJson('/v1/chat/completions', hello, { apiKey: 'sk-proxy-wrong' });
    expect(await rowsForTenant(tenant.id)).toHaveLength(before.length);
  });
});

describe('bad input after authentication: a clear 4xx, and a logged row', () => {
  const send = (body: BodyInit, headers: Record<string, string> = {}, env = {}) =>
    callProxy(
      '/v1/chat/completions',
      { method: 'POST', headers: { authorization: `Bearer ${tenant.apiKey}`, 'content-type': 'application/json', ...headers }, body },
      env,
    );

  it('rejects malformed JSON with 400 invalid_json', async () => {
    const call = await send('{"model": "cheap", "messages": [');
    expect(call.response.status).toBe(400);
    expect(await errorOf(call.response)).toMatchObject({ type: 'invalid_request_error', code: 'invalid_json' });
    await call.settled();
    expect(await loggedRow(call.response.headers.get('x-request-id'))).toMatchObject({ status: 400, error_type: 'invalid_json', tenant_id: tenant.id });
  });

  it.each([
    [{ messages: [{ role: 'user', content: 'x' }] }, 'model', 'missing_required_parameter'],
    [{ model: 'cheap' }, 'messages', 'missing_required_parameter'],
    [{ model: 'cheap', messages: [] }, 'messages', 'invalid_value'],
    [{ model: 'cheap', messages: [{ role: 'wizard', content: 'x' }] }, 'messages[0].role', 'invalid_value'],
    [{ model: 'cheap', messages: [{ role: 'user', content: 'x' }], temperature: 7 }, 'temperature', 'invalid_value'],
    [{ model: 'cheap', messages: [{ role: 'user', content: 'x' }], max_tokens: 'many' }, 'max_tokens', 'invalid_value'],
    [{ model: 42, messages: [{ role: 'user', content: 'x' }] }, 'model', 'invalid_value'],
  ])('names the param of a bad field: %j', async (body, param, code) => {
    const call = await send(JSON.stringify(body));
    expect(call.response.status).toBe(400);
    expect(await errorOf(call.response)).toMatchObject({ param, code, type: 'invalid_request_error' });
  });

  it('rejects a JSON body that is not an object', async () => {
    const call = await send('[1, 2, 3]');
    expect(call.response.status).toBe(400);
    expect((await errorOf(call.response)).code).toBe('invalid_json');
  });

  it('answers 413 before parsing a body over MAX_BODY_BYTES, declared or streamed', async () => {
    const big = JSON.stringify({ ...hello, messages: [{ role: 'user', content: 'x'.repeat(5000) }] });
    const declared = await send(big, {}, { MAX_BODY_BYTES: '2048' });
    expect(declared.response.status).toBe(413);
    expect((await errorOf(declared.response)).code).toBe('request_too_large');

    // No content-length: the cap is enforced while reading.
    const chunked = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 10; i++) controller.enqueue(new TextEncoder().encode('x'.repeat(1024)));
        controller.close();
      },
    });
    const streamed = await callProxy(
      '/v1/chat/completions',
      { method: 'POST', headers: { authorization: `Bearer ${tenant.apiKey}` }, body: chunked, duplex: 'half' } as RequestInit,
      { MAX_BODY_BYTES: '2048' },
    );
    expect(streamed.response.status).toBe(413);
    await streamed.settled();
    expect(await loggedRow(streamed.response.headers.get('x-request-id'))).toMatchObject({ status: 413, error_type: 'request_too_large' });
  });

  it('answers 404 model_not_found for an unknown model and logs what was asked', async () => {
    const call = await send(JSON.stringify({ model: 'gpt-17-ultra', messages: [{ role: 'user', content: 'x' }] }));
    expect(call.response.status).toBe(404);
    expect(await errorOf(call.response)).toMatchObject({ code: 'model_not_found', param: 'model' });
    await call.settled();
    expect(await loggedRow(call.response.headers.get('x-request-id'))).toMatchObject({ status: 404, model_requested: 'gpt-17-ultra', model: null });
  });

  it('answers 404 saying what to configure when the model’s provider is not set up', async () => {
    const call = await send(JSON.stringify({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'x' }] }));
    expect(call.response.status).toBe(404);
    expect((await errorOf(call.response)).message).toContain('ANTHROPIC_API_KEY');

    const workersAi = await send(JSON.stringify({ model: '@cf/meta/llama-3.1-8b-instruct', messages: [{ role: 'user', content: 'x' }] }));
    expect(workersAi.response.status).toBe(404);
    expect((await errorOf(workersAi.response)).message).toContain('AI');
  });

  it('answers 404 in OpenAI shape for an unknown endpoint', async () => {
    const call = await callProxy('/v1/nope', { headers: { authorization: `Bearer ${tenant.apiKey}` } });
    expect(call.response.status).toBe(404);
    expect((await errorOf(call.response)).type).toBe('invalid_request_error');
  });
});

describe('abandoned streams', () => {
  it('logs a stream the client abandons, with estimated usage, and cancels the upstream call once the meter gives up on it', async () => {
    const tag = nonce();
    const call = await postJson(
      '/v1/chat/completions',
      { model: 'openai/gpt-4o-mini', stream: true, messages: [{ role: 'user', content: `upstream:hang ${tag}` }] },
      // The upstream never ends: only UPSTREAM_ABANDONED_METER_MS stops the meter.
      { apiKey: tenant.apiKey, env: { ...upstreamEnv(), UPSTREAM_ABANDONED_METER_MS: '200' } },
    );
    const reader = call.response.body!.getReader();
    await reader.read();
    await reader.cancel();
    await call.settled();

    const row = await loggedRow(call.response.headers.get('x-request-id'));
    expect(row).toMatchObject({ status: 499, stream: 1, usage_estimated: 1, model: 'openai/gpt-4o-mini' });
    expect(row!.prompt_tokens).toBeGreaterThan(0);
    expect(row!.completion_tokens).toBeGreaterThan(0);
    expect(row!.cost_nano).toBeGreaterThan(0);

    // The fake upstream notices the disconnect shortly after.
    let aborted = false;
    for (let i = 0; i < 50 && !aborted; i++) {
      aborted = (await upstreamRequests(tag))[0]?.aborted === true;
      if (!aborted) await new Promise((r) => setTimeout(r, 20));
    }
    expect(aborted).toBe(true);
  });

  it('logs an abandoned mock stream with its real usage: the meter reads it to its end', async () => {
    const call = await postJson(
      '/v1/chat/completions',
      { model: 'expensive', stream: true, messages: [{ role: 'user', content: `long story ${nonce()}` }] },
      { apiKey: tenant.apiKey, env: { MOCK_CHUNK_DELAY_MS: '20' } },
    );
    const reader = call.response.body!.getReader();
    for (let i = 0; i < 3; i++) await reader.read();
    await reader.cancel();
    await call.settled();
    const row = await loggedRow(call.response.headers.get('x-request-id'));
    expect(row).toMatchObject({ status: 499, usage_estimated: 0, model: 'mock/mock-large', tier: 'expensive' });
    expect(row!.completion_tokens).toBeGreaterThan(0);
  });
});

describe('errors keep their cause', () => {
  it('an unreachable upstream is a 502 whose cause is the failed fetch', async () => {
    const failure = await fetchUpstream('openai', 'http://127.0.0.1:1/v1/chat/completions', { method: 'POST' }).catch((error: unknown) => error);
    expect(failure).toMatchObject({ status: 502, code: 'upstream_unreachable' });
    expect((failure as Error).cause).toBeInstanceOf(Error);
  });

  it('an unknown failure becomes a 500 naming no internals, the original kept as its cause', async () => {
    const original = new TypeError('secret internals');
    const error = toProxyError(original);
    expect(error.toBody().error).toEqual({ message: 'The proxy failed to handle the request.', type: 'server_error', param: null, code: 'internal_error' });
    expect(error.cause).toBe(original);
  });
});
