import { beforeAll, describe, expect, it } from 'vitest';
import { readCachedCompletion, storeCompletion } from '../../proxy/cache/response-cache';
import { createTestTenant, loggedRow, type TestTenant } from './fixtures';
import { env, nonce, postJson, readSse, upstreamEnv, upstreamRequests } from './harness';

let tenant: TestTenant;

beforeAll(async () => {
  tenant = await createTestTenant();
});

type Options = { apiKey?: string; headers?: Record<string, string>; env?: Record<string, string> };
const chat = async (body: Record<string, unknown>, options: Options = {}) => {
  const call = await postJson(
    '/v1/chat/completions',
    { model: 'openai/gpt-4o-mini', ...body },
    { apiKey: options.apiKey ?? tenant.apiKey, headers: options.headers, env: { ...upstreamEnv(), ...options.env } },
  );
  const text = await call.response.text();
  await call.settled();
  return { headers: call.response.headers, status: call.response.status, text, row: await loggedRow(call.response.headers.get('x-request-id')) };
};
const ask = (tag: string, extra: Record<string, unknown> = {}) => ({ temperature: 0, messages: [{ role: 'user', content: `What is 2+2? ${tag}` }], ...extra });

describe('the response cache', () => {
  it('answers an identical temperature-0 call from KV, at zero cost, logging what it saved', async () => {
    const tag = nonce();
    const first = await chat(ask(tag));
    expect(first.headers.get('x-proxy-cache')).toBe('MISS');
    const second = await chat(ask(tag, { user: 'someone-else' }));
    expect(second.headers.get('x-proxy-cache')).toBe('HIT');
    expect(second.text).toBe(first.text);
    expect(second.headers.get('x-proxy-cost-usd')).toBe('0.000000000');
    expect(await upstreamRequests(tag)).toHaveLength(1);

    expect(first.row).toMatchObject({ cache: 'MISS', saved_nano: 0 });
    expect(first.row!.cost_nano).toBeGreaterThan(0);
    expect(second.row).toMatchObject({ cache: 'HIT', cost_nano: 0, saved_nano: first.row!.cost_nano, prompt_tokens: first.row!.prompt_tokens, status: 200 });
  });

  it('replays a cached answer as a stream, with the usage chunk only when asked', async () => {
    const tag = nonce();
    const plain = await chat(ask(tag));
    const content = JSON.parse(plain.text).choices[0].message.content as string;

    const streamed = await chat(ask(tag, { stream: true }));
    expect(streamed.headers.get('x-proxy-cache')).toBe('HIT');
    expect(streamed.headers.get('content-type')).toContain('text/event-stream');
    const events = await readSse(new Response(streamed.text));
    expect(events.at(-1)!.data).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.data));
    expect(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('')).toBe(content);
    expect(chunks.some((c) => c.usage)).toBe(false);
    expect(streamed.row).toMatchObject({ cache: 'HIT', stream: 1, cost_nano: 0, usage_estimated: 0 });

    const withUsage = await chat(ask(tag, { stream: true, stream_options: { include_usage: true } }));
    const usageChunk = JSON.parse((await readSse(new Response(withUsage.text))).at(-2)!.data);
    expect(usageChunk.usage.prompt_tokens).toBe(plain.row!.prompt_tokens);
    expect(await upstreamRequests(tag)).toHaveLength(1);
  });

  it('stores a streamed answer and serves it plainly', async () => {
    const tag = nonce();
    const streamed = await chat(ask(tag, { stream: true }));
    expect(streamed.headers.get('x-proxy-cache')).toBe('MISS');
    const content = (await readSse(new Response(streamed.text)))
      .filter((e) => e.data !== '[DONE]')
      .map((e) => JSON.parse(e.data).choices[0]?.delta?.content ?? '')
      .join('');
    const plain = await chat(ask(tag));
    expect(plain.headers.get('x-proxy-cache')).toBe('HIT');
    expect(JSON.parse(plain.text)).toMatchObject({ object: 'chat.completion', choices: [{ message: { role: 'assistant', content }, finish_reason: 'stop' }] });
    expect(await upstreamRequests(tag)).toHaveLength(1);
  });

  it('never answers one tenant from another tenant’s entry', async () => {
    const tag = nonce();
    await chat(ask(tag));
    const other = await createTestTenant();
    const theirs = await chat(ask(tag), { apiKey: other.apiKey });
    expect(theirs.headers.get('x-proxy-cache')).toBe('MISS');
    expect(await upstreamRequests(tag)).toHaveLength(2);
  });

  it('is bypassed by Cache-Control: no-cache, which still refreshes the entry', async () => {
    const tag = nonce();
    await chat(ask(tag));
    const bypassed = await chat(ask(tag), { headers: { 'cache-control': 'no-cache' } });
    expect(bypassed.headers.get('x-proxy-cache')).toBe('BYPASS');
    expect(bypassed.row?.cost_nano).toBeGreaterThan(0);
    expect(await upstreamRequests(tag)).toHaveLength(2);
    expect((await chat(ask(tag))).headers.get('x-proxy-cache')).toBe('HIT');
  });

  it('caches any temperature when x-proxy-cache-ttl asks, and nothing else by default', async () => {
    const tag = nonce();
    const warm = { temperature: 0.7, messages: [{ role: 'user', content: `poem ${tag}` }] };
    expect((await chat(warm)).headers.get('x-proxy-cache')).toBe('BYPASS');
    expect((await chat(warm)).headers.get('x-proxy-cache')).toBe('BYPASS');
    expect((await chat(warm, { headers: { 'x-proxy-cache-ttl': '600' } })).headers.get('x-proxy-cache')).toBe('MISS');
    expect((await chat(warm, { headers: { 'x-proxy-cache-ttl': '600' } })).headers.get('x-proxy-cache')).toBe('HIT');
    expect((await chat(warm, { headers: { 'x-proxy-cache-ttl': 'soon' } })).status).toBe(400);
  });

  it('expires entries after the shorter of the header TTL and the tenant’s cache_ttl_s', async () => {
    const tag = nonce();
    await chat(ask(tag), { headers: { 'x-proxy-cache-ttl': '1' } });
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await chat(ask(tag), { headers: { 'x-proxy-cache-ttl': '1' } })).headers.get('x-proxy-cache')).toBe('MISS');

    const off = await createTestTenant({ cache_ttl_s: 0 });
    expect((await chat(ask(tag), { apiKey: off.apiKey, headers: { 'x-proxy-cache-ttl': '600' } })).headers.get('x-proxy-cache')).toBe('BYPASS');
  });

  it('does not cache failures', async () => {
    const tag = nonce();
    const failing = ask(`upstream:status=500 ${tag}`);
    const once = { env: { UPSTREAM_MAX_RETRIES: '0', FALLBACK_MODEL: 'none' } };
    expect((await chat(failing, once)).status).toBe(502);
    const again = await chat(failing, once);
    expect(again.status).toBe(502);
    expect(again.headers.get('x-proxy-model')).toBe('openai/gpt-4o-mini');
    expect(await upstreamRequests(tag)).toHaveLength(2);
  });

  it('stores large answers and skips ones over the KV value limit', async () => {
    const usage = { promptTokens: 1, completionTokens: 1, cachedTokens: 0, cacheWriteTokens: 0 };
    const large = JSON.stringify({ choices: [{ message: { content: 'é'.repeat(2 * 1024 * 1024) } }] });
    expect(await storeCompletion(env.KV, 'rc:test:large', 60, { json: large, usage, model: 'mock/mock-mini' })).toBe(true);
    expect((await readCachedCompletion(env.KV, 'rc:test:large'))?.json).toBe(large);
    expect(await storeCompletion(env.KV, 'rc:test:too-large', 60, { json: large, usage, model: 'mock/mock-mini' }, 4 * 1024 * 1024)).toBe(false);
    expect(await readCachedCompletion(env.KV, 'rc:test:too-large')).toBeNull();
  });
});
