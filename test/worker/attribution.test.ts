/**
 * Attribution: the end user of every call (x-proxy-user, else the user id its body carries, on
 * every endpoint) and its tags (x-proxy-tags), stored on its row for plain, streamed, cached and
 * failed calls, served by GET /admin/requests, and refused in each API's own error shape when the
 * headers break their rules.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { RequestLogPage } from '../../analytics/types';
import { createTestTenant, loggedRow, type TestTenant } from './fixtures';
import { callAdmin, callProxy, nonce, postJson, recordingAnalytics, upstreamEnv, upstreamRequests, type ProxyCall } from './harness';

let tenant: TestTenant;

beforeAll(async () => {
  tenant = await createTestTenant();
});

/** A POST to the proxy with the tenant's key (and anthropic-version on the Messages paths); the call read to its end and its row. */
async function send(path: string, body: Record<string, unknown>, headers: Record<string, string> = {}, env = {}) {
  const anthropic: Record<string, string> = path.startsWith('/v1/messages') ? { 'anthropic-version': '2023-06-01' } : {};
  const call: ProxyCall = await postJson(path, body, { apiKey: tenant.apiKey, headers: { ...anthropic, ...headers }, env });
  const text = await call.response.text();
  await call.settled();
  return { status: call.response.status, text, row: await loggedRow(call.response.headers.get('x-request-id')) };
}

const chat = (extra: Record<string, unknown> = {}) => ({ model: 'cheap', messages: [{ role: 'user', content: `hi ${nonce()}` }], ...extra });
const responses = (extra: Record<string, unknown> = {}) => ({ model: 'cheap', input: `hi ${nonce()}`, ...extra });
const messages = (extra: Record<string, unknown> = {}) => ({
  model: 'cheap',
  max_tokens: 20,
  messages: [{ role: 'user', content: `hi ${nonce()}` }],
  ...extra,
});
const claudeCode = (ids: Record<string, string>) => ({ metadata: { user_id: JSON.stringify(ids) } });

describe('the end user of a call', () => {
  it.each([
    ['Chat: user', '/v1/chat/completions', chat({ user: 'chat-user' }), 'chat-user'],
    ['Responses: user', '/v1/responses', responses({ user: 'resp-user' }), 'resp-user'],
    ['Responses: safety_identifier', '/v1/responses', responses({ safety_identifier: 'safe-id' }), 'safe-id'],
    ['Responses: user before safety_identifier', '/v1/responses', responses({ user: 'resp-user', safety_identifier: 'safe-id' }), 'resp-user'],
    ['Responses: safety_identifier when user is blank', '/v1/responses', responses({ user: '  ', safety_identifier: 'safe-id' }), 'safe-id'],
    ['Embeddings: user', '/v1/embeddings', { model: 'mock/mock-embed', input: 'vectors', user: 'embed-user' }, 'embed-user'],
    ['Messages: metadata.user_id', '/v1/messages', messages({ metadata: { user_id: 'anthropic-user' } }), 'anthropic-user'],
    [
      "Messages: Claude Code's account id",
      '/v1/messages',
      messages(claudeCode({ device_id: 'd'.repeat(64), account_uuid: 'acc-1', session_id: 'sess-1' })),
      'acc-1',
    ],
    ["Messages: Claude Code's device id, without an account", '/v1/messages', messages(claudeCode({ device_id: 'dev-1', session_id: 'sess-1' })), 'dev-1'],
    ["Messages: Claude Code's session id alone names no one", '/v1/messages', messages(claudeCode({ session_id: 'sess-1' })), null],
    [
      "Messages: an older Claude Code's text id, its account",
      '/v1/messages',
      messages({
        metadata: { user_id: `user_${'ab12'.repeat(16)}_account_5b0e6c1e-8a1f-4c1d-9f2e-3a4b5c6d7e8f_session_0d9f8e7c-6b5a-4f3e-8d2c-1b0a9f8e7d6c` },
      }),
      '5b0e6c1e-8a1f-4c1d-9f2e-3a4b5c6d7e8f',
    ],
    [
      "Messages: an older Claude Code's text id without an account, its device",
      '/v1/messages',
      messages({ metadata: { user_id: `user_${'ab12'.repeat(16)}_account__session_0d9f8e7c-6b5a-4f3e-8d2c-1b0a9f8e7d6c` } }),
      'ab12'.repeat(16),
    ],
    [
      'count_tokens: metadata.user_id',
      '/v1/messages/count_tokens',
      { model: 'cheap', messages: [{ role: 'user', content: 'count me' }], ...claudeCode({ account_uuid: 'acc-2' }) },
      'acc-2',
    ],
    ['no user at all', '/v1/chat/completions', chat(), null],
  ])('%s', async (_, path, body, user) => {
    const { status, row } = await send(path, body);
    expect(status).toBe(200);
    expect(row!.user).toBe(user);
  });

  it('is the same person across Claude Code sessions', async () => {
    const first = await send('/v1/messages', messages(claudeCode({ device_id: 'dev-9', account_uuid: 'acc-9', session_id: 'sess-a' })));
    const second = await send('/v1/messages', messages(claudeCode({ device_id: 'dev-9', account_uuid: 'acc-9', session_id: 'sess-b' })));
    expect([first.row!.user, second.row!.user]).toEqual(['acc-9', 'acc-9']);
  });

  it('is x-proxy-user first, on every endpoint', async () => {
    const header = { 'x-proxy-user': '  alice@example.com ' };
    const calls = await Promise.all([
      send('/v1/chat/completions', chat({ user: 'body-user' }), header),
      send('/v1/responses', responses({ user: 'body-user', safety_identifier: 'safe' }), header),
      send('/v1/embeddings', { model: 'mock/mock-embed', input: 'x', user: 'body-user' }, header),
      send('/v1/messages', messages(claudeCode({ account_uuid: 'acc-3' })), header),
      send('/v1/messages/count_tokens', { model: 'cheap', messages: [{ role: 'user', content: 'count me' }] }, header),
    ]);
    expect(calls.map((c) => [c.status, c.row!.endpoint, c.row!.user])).toEqual([
      [200, 'chat', 'alice@example.com'],
      [200, 'responses', 'alice@example.com'],
      [200, 'embeddings', 'alice@example.com'],
      [200, 'messages', 'alice@example.com'],
      [200, 'count_tokens', 'alice@example.com'],
    ]);
  });

  it("cleans up a body's user id rather than refusing the call: control characters dropped, cut to 64 characters", async () => {
    const messy = await send('/v1/chat/completions', chat({ user: ' bob\u0000\u0007\u202e\n ' }));
    expect(messy.status).toBe(200);
    expect(messy.row!.user).toBe('bob');
    const long = await send('/v1/chat/completions', chat({ user: `${'é'.repeat(70)}` }));
    expect(long.row!.user).toBe('é'.repeat(64));
    const blank = await send('/v1/chat/completions', chat({ user: '\u0000 ' }));
    expect(blank.row!.user).toBeNull();
  });

  it("tells another provider the same user it logs: Claude Code's stable id", async () => {
    const tag = nonce();
    const { status, row } = await send(
      '/v1/messages',
      {
        model: 'openai/gpt-4o-mini',
        max_tokens: 20,
        messages: [{ role: 'user', content: `hi ${tag}` }],
        ...claudeCode({ device_id: 'dev-4', session_id: 's' }),
      },
      {},
      upstreamEnv(),
    );
    expect(status).toBe(200);
    const [sent] = await upstreamRequests(tag);
    expect((sent.body as { user?: string }).user).toBe('dev-4');
    expect(row!.user).toBe('dev-4');
  });

  it.each([
    ['too long', 'u'.repeat(65)],
    ['a tab inside', 'a\tb'],
    ['not ASCII', 'caf\u00e9'],
  ])('refuses an x-proxy-user that is %s: 400 naming the header, logged without it', async (_, value) => {
    const { status, text, row } = await send('/v1/chat/completions', chat({ user: 'body-user' }), { 'x-proxy-user': value });
    expect(status).toBe(400);
    expect(JSON.parse(text)).toMatchObject({ error: { type: 'invalid_request_error', param: 'x-proxy-user', code: 'invalid_value' } });
    expect(row).toMatchObject({ status: 400, user: null });
  });
});

describe('the tags of a call', () => {
  it('are stored as canonical JSON (keys in order) and served by GET /admin/requests as an object', async () => {
    const { status, row } = await send('/v1/chat/completions', chat(), { 'x-proxy-tags': ' team=search , feature=rag,10=ten,2=two,,' });
    expect(status).toBe(200);
    expect(row!.tags).toBe('{"10":"ten","2":"two","feature":"rag","team":"search"}');
    const page = await callAdmin(`/admin/requests?tenant=${tenant.id}&limit=500`);
    const served = ((await page.response.json()) as RequestLogPage).data.find((r) => r.id === row!.id)!;
    expect(served.tags).toEqual({ 10: 'ten', 2: 'two', feature: 'rag', team: 'search' });
    const untagged = await send('/v1/chat/completions', chat());
    expect(untagged.row!.tags).toBeNull();
    const detail = await callAdmin(`/admin/requests/${untagged.row!.id}`);
    expect(await detail.response.json()).toMatchObject({ user: null, tags: {} });
  });

  it('keep keys that are names of object properties as tags', async () => {
    const { row } = await send('/v1/chat/completions', chat(), { 'x-proxy-tags': '__proto__=x,constructor=y' });
    expect(JSON.parse(row!.tags!)).toEqual(JSON.parse('{"__proto__":"x","constructor":"y"}'));
  });

  it('take values with spaces and equals signs, and ten pairs', async () => {
    const ten = Array.from({ length: 10 }, (_, i) => `k${i}=v ${i}=x`).join(',');
    const { status, row } = await send('/v1/chat/completions', chat(), { 'x-proxy-tags': ten });
    expect(status).toBe(200);
    expect(Object.keys(JSON.parse(row!.tags!))).toHaveLength(10);
    expect(JSON.parse(row!.tags!).k3).toBe('v 3=x');
  });

  const BAD_TAGS: Array<[string, string]> = [
    ['eleven pairs', Array.from({ length: 11 }, (_, i) => `k${i}=v`).join(',')],
    ['a pair without =', 'team'],
    ['an upper-case key', 'Team=search'],
    ['a key of 33 characters', `${'k'.repeat(33)}=v`],
    ['an empty key', '=v'],
    ['an empty value', 'team='],
    ['a value of 65 characters', `team=${'v'.repeat(65)}`],
    ['a value with a tab', 'team=a\tb'],
    ['a key given twice', 'team=a,team=b'],
  ];

  it.each(BAD_TAGS)('refuse %s: 400 naming x-proxy-tags in the OpenAI shape (chat, responses, embeddings)', async (_, value) => {
    for (const [path, body] of [
      ['/v1/chat/completions', chat()],
      ['/v1/responses', responses()],
      ['/v1/embeddings', { model: 'mock/mock-embed', input: 'x' }],
    ] as const) {
      const { status, text, row } = await send(path, body, { 'x-proxy-tags': value, 'x-proxy-user': 'carol' });
      expect(status, path).toBe(400);
      expect(JSON.parse(text), path).toMatchObject({ error: { type: 'invalid_request_error', param: 'x-proxy-tags', code: 'invalid_value' } });
      // Logged as refused, with the user its valid header named.
      expect(row, path).toMatchObject({ status: 400, user: 'carol', tags: null });
    }
  });

  it.each(BAD_TAGS.slice(0, 3))('refuse %s: 400 in the Anthropic shape on /v1/messages and count_tokens', async (_, value) => {
    for (const path of ['/v1/messages', '/v1/messages/count_tokens']) {
      const { status, text } = await send(path, messages(), { 'x-proxy-tags': value });
      expect(status, path).toBe(400);
      const body = JSON.parse(text) as { type: string; error: { type: string; message: string } };
      expect(body).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
      expect(body.error.message).toContain('x-proxy-tags');
    }
  });
});

describe('every row carries the user and tags', () => {
  const headers = { 'x-proxy-user': 'dana', 'x-proxy-tags': 'team=search,feature=rag' };
  const expected = { user: 'dana', tags: '{"feature":"rag","team":"search"}' };

  it('of a plain and a streamed call', async () => {
    const plain = await send('/v1/chat/completions', chat(), headers);
    const streamed = await send('/v1/chat/completions', chat({ stream: true }), headers);
    const streamedMessage = await send('/v1/messages', messages({ stream: true }), headers);
    const streamedResponse = await send('/v1/responses', responses({ stream: true }), headers);
    for (const call of [plain, streamed, streamedMessage, streamedResponse]) expect(call.row).toMatchObject({ status: 200, ...expected });
    expect([streamed.row!.stream, streamedMessage.row!.stream, streamedResponse.row!.stream]).toEqual([1, 1, 1]);
  });

  it('of a call answered from the response cache: its own user, not the first caller’s', async () => {
    const body = chat({ temperature: 0 });
    const first = await send('/v1/chat/completions', body, { 'x-proxy-user': 'first-caller' });
    const hit = await send('/v1/chat/completions', body, headers);
    expect(first.row).toMatchObject({ cache: 'MISS', user: 'first-caller', tags: null });
    expect(hit.row).toMatchObject({ cache: 'HIT', ...expected });
  });

  it('of a failed call, an upstream failure or a refused body', async () => {
    const failed = await send('/v1/chat/completions', chat({ messages: [{ role: 'user', content: `mock:fail=400 ${nonce()}` }] }), headers);
    expect(failed.row).toMatchObject({ status: 400, ...expected });
    const upstream = await send('/v1/messages', messages({ messages: [{ role: 'user', content: 'mock:fail=503' }] }), headers);
    expect(upstream.row!.status).toBeGreaterThanOrEqual(500);
    expect(upstream.row).toMatchObject(expected);
    const badBody = await send('/v1/responses', { model: 'cheap' }, headers);
    expect(badBody.row).toMatchObject({ status: 400, ...expected });
  });

  it("of a call refused for its body: the headers' user and tags, even without a body user", async () => {
    const call = await callProxy('/v1/chat/completions', {
      method: 'POST',
      headers: { authorization: `Bearer ${tenant.apiKey}`, 'content-type': 'application/json', ...headers },
      body: '{not json',
    });
    expect(call.response.status).toBe(400);
    await call.settled();
    expect(await loggedRow(call.response.headers.get('x-request-id'))).toMatchObject({ endpoint: 'chat', ...expected });
  });

  it('in its Analytics Engine point: blob12 the user, blob13 the tags', async () => {
    const ae = recordingAnalytics();
    await send('/v1/chat/completions', chat(), headers, { AE: ae });
    expect(ae.points).toHaveLength(1);
    expect(ae.points[0].blobs!.slice(11)).toEqual(['dana', '{"feature":"rag","team":"search"}']);
  });

  it('and GET /admin/requests filters by user and by tag', async () => {
    const own = await createTestTenant();
    const call = (user: string, tags: string) =>
      postJson('/v1/chat/completions', chat(), { apiKey: own.apiKey, headers: { 'x-proxy-user': user, 'x-proxy-tags': tags } }).then(async (c) => {
        await c.response.text();
        await c.settled();
      });
    await call('erin', 'team=search');
    await call('erin', 'team=ads');
    await call('frank', 'team=search,feature=rag');
    const page = async (query: string) =>
      ((await (await callAdmin(`/admin/requests?tenant=${own.id}&${query}`)).response.json()) as RequestLogPage).data.map((r) => [r.user, r.tags.team]);
    expect((await page('user=erin')).sort()).toEqual([
      ['erin', 'ads'],
      ['erin', 'search'],
    ]);
    expect((await page('tag=team=search')).sort()).toEqual([
      ['erin', 'search'],
      ['frank', 'search'],
    ]);
    expect(await page('tag=feature=rag&user=frank')).toEqual([['frank', 'search']]);
    const bad = await callAdmin(`/admin/requests?tag=Team`);
    expect(bad.response.status).toBe(400);
    expect(await bad.response.json()).toMatchObject({ error: { param: 'tag' } });
  });
});
