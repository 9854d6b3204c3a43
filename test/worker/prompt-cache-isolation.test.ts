/**
 * Prompt-cache isolation (a tenant's `prompt_cache`): the fake upstream records what the proxy
 * forwarded. An isolated tenant's prompt begins with a salt of its own on every path (chat,
 * Responses native and translated, Messages native and translated, the mock's simulated cache),
 * the same on each of its calls and different from every other tenant's; a shared tenant's body
 * is forwarded exactly as before. And the oracle itself: with a provider cache shared by the
 * whole proxy, another tenant's cached_tokens no longer tell whether an isolated tenant sent a prompt.
 * The salt itself is random, kept in D1, owes nothing to ADMIN_TOKEN, is never shown by the admin
 * API, is read again from D1 when a KV key entry lacks it, and is never replaced by nothing.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../proxy/auth/keys';
import { saltPrompt } from '../../proxy/providers/anthropic/prompt-cache';
import type { AnthropicRequest, AnthropicTool } from '../../proxy/providers/anthropic/types';
import { saltedChatRequest } from '../../proxy/providers/prompt-cache-salt';
import { forgetKey } from '../../proxy/tenants/key-cache';
import { createTestTenant, loggedRow, type TestTenant } from './fixtures';
import type { Env as ProxyEnv } from '../../proxy/core/env';
import { callAdmin, callProxy, env, nonce, upstreamEnv, upstreamRequests, type RecordedRequest } from './harness';

const SALT = /^prompt-cache-scope: [A-Za-z0-9_-]{16}$/;
const LONG = 'Company policy that every support answer must follow. '.repeat(120); // ~1,600 tokens

let isolated: TestTenant;
let otherIsolated: TestTenant;
let shared: TestTenant;

beforeAll(async () => {
  [isolated, otherIsolated, shared] = await Promise.all([
    createTestTenant({ prompt_cache: 'isolated' }),
    createTestTenant({ prompt_cache: 'isolated' }),
    createTestTenant(),
  ]);
});

const openaiTranslated = { ...upstreamEnv(), OPENAI_RESPONSES_API: 'translate' };

/** POSTs `body` as `tenant` (both key headers, so every endpoint takes it) and returns what reached the upstream. */
async function forwarded(tenant: TestTenant, path: string, body: Record<string, unknown>, tag: string, env = upstreamEnv()): Promise<RecordedRequest> {
  const call = await callProxy(
    path,
    {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tenant.apiKey}`, 'anthropic-version': '2023-06-01' },
      body: JSON.stringify(body),
    },
    env,
  );
  expect(call.response.status, await call.response.clone().text()).toBe(200);
  await call.response.text();
  await call.settled();
  const sent = await upstreamRequests(tag);
  expect(sent).toHaveLength(1);
  return sent[0];
}

/** The same request from the isolated tenant (twice), the other isolated tenant and the shared one, each with its own nonce. */
async function fromEachTenant(path: string, body: (tag: string) => Record<string, unknown>, env = upstreamEnv()) {
  const send = (tenant: TestTenant) => {
    const tag = nonce();
    return forwarded(tenant, path, body(tag), tag, env).then((request) => ({ request, tag }));
  };
  return { first: await send(isolated), again: await send(isolated), other: await send(otherIsolated), shared: await send(shared) };
}

/** The salt that starts a text, and the text after it. */
function splitSalt(text: string): { salt: string; rest: string } {
  const [salt, ...rest] = text.split('\n\n');
  expect(salt).toMatch(SALT);
  return { salt, rest: rest.join('\n\n') };
}

/** One tenant's salt is the same on each of its calls, and no other tenant's. */
function expectDistinctSalts(first: string, again: string, other: string) {
  expect(again).toBe(first);
  expect(other).not.toBe(first);
}

describe('the setting in the admin API', () => {
  it('defaults to shared, is taken at creation and by PATCH, and refuses anything else', async () => {
    const created = await callAdmin('/admin/tenants', { method: 'POST', json: { name: 'plain' } });
    const tenant = (await created.response.json()) as { id: string; prompt_cache: string };
    expect(tenant.prompt_cache).toBe('shared');

    const patched = await callAdmin(`/admin/tenants/${tenant.id}`, { method: 'PATCH', json: { prompt_cache: 'isolated' } });
    expect(patched.response.status).toBe(200);
    expect(((await patched.response.json()) as { prompt_cache: string }).prompt_cache).toBe('isolated');
    const read = await callAdmin(`/admin/tenants/${tenant.id}`);
    expect(((await read.response.json()) as { prompt_cache: string }).prompt_cache).toBe('isolated');

    for (const bad of ['private', 'ISOLATED', '', 1, true, null, ['isolated']]) {
      const refused = await callAdmin(`/admin/tenants/${tenant.id}`, { method: 'PATCH', json: { prompt_cache: bad } });
      expect(refused.response.status, JSON.stringify(bad)).toBe(400);
      expect(((await refused.response.json()) as { error: { param: string } }).error.param).toBe('prompt_cache');
    }
    const refusedAtCreation = await callAdmin('/admin/tenants', { method: 'POST', json: { name: 'x', prompt_cache: 'per-key' } });
    expect(refusedAtCreation.response.status).toBe(400);
  });

  it('takes effect on the next call of a key already in use', async () => {
    const tenant = await createTestTenant();
    const ask = async () => {
      const tag = nonce();
      const request = await forwarded(tenant, '/v1/chat/completions', { model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: tag }] }, tag);
      return request.body.messages[0];
    };
    expect((await ask()).role).toBe('user');
    await callAdmin(`/admin/tenants/${tenant.id}`, { method: 'PATCH', json: { prompt_cache: 'isolated' } });
    expect((await ask()).content).toMatch(SALT);
  });
});

/** The salt D1 keeps for a tenant: random hex, internal. */
const storedSalt = async (tenantId: string) =>
  (await env.DB.prepare('SELECT prompt_cache_salt FROM tenants WHERE id = ?').bind(tenantId).first<{ prompt_cache_salt: string | null }>())?.prompt_cache_salt;

/** The salt as a prompt carries it: the label and the stored bytes in base64url. */
const saltText = (hex: string) =>
  `prompt-cache-scope: ${btoa(String.fromCharCode(...hex.match(/../g)!.map((pair) => parseInt(pair, 16))))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '')}`;

/** The system message an isolated tenant's chat call without one reaches the upstream with. */
async function saltSent(tenant: TestTenant, envOverrides: Partial<ProxyEnv> = {}): Promise<string> {
  const tag = nonce();
  const request = await forwarded(tenant, '/v1/chat/completions', { model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: tag }] }, tag, {
    ...upstreamEnv(),
    ...envOverrides,
  });
  expect(request.body.messages[0].role).toBe('system');
  return request.body.messages[0].content as string;
}

describe('the salt', () => {
  it('is random, made for every tenant at creation (shared ones too), and kept in D1', async () => {
    const [a, b] = await Promise.all([storedSalt(isolated.id), storedSalt(shared.id)]);
    expect(a).toMatch(/^[0-9a-f]{24}$/);
    expect(b).toMatch(/^[0-9a-f]{24}$/);
    expect(a).not.toBe(b);
    expect(await saltSent(isolated)).toBe(saltText(a!));
  });

  it('is the same on each of a tenant’s calls, another tenant’s differs, and ADMIN_TOKEN plays no part', async () => {
    const salt = await saltSent(isolated);
    expect(await saltSent(isolated)).toBe(salt);
    expect(await saltSent(otherIsolated)).not.toBe(salt);
    expect(await saltSent(isolated, { ADMIN_TOKEN: 'another-admin-token-another-admin-token' })).toBe(salt);
    expect(await saltSent(isolated, { ADMIN_TOKEN: undefined })).toBe(salt);
  });

  it('is kept when the tenant switches to shared and back', async () => {
    const tenant = await createTestTenant({ prompt_cache: 'isolated' });
    const salt = await saltSent(tenant);
    await callAdmin(`/admin/tenants/${tenant.id}`, { method: 'PATCH', json: { prompt_cache: 'shared' } });
    await callAdmin(`/admin/tenants/${tenant.id}`, { method: 'PATCH', json: { prompt_cache: 'isolated' } });
    expect(await saltSent(tenant)).toBe(salt);
  });

  it('is never shown by the admin API', async () => {
    const hidden = (text: string, hex: string) => {
      expect(text).not.toContain(hex);
      expect(text).not.toContain(saltText(hex).slice('prompt-cache-scope: '.length));
      expect(text).not.toMatch(/prompt_cache_salt|promptCacheSalt/);
    };
    const created = await callAdmin('/admin/tenants', { method: 'POST', json: { name: 'salt-hidden', prompt_cache: 'isolated' } });
    const createdText = await created.response.text();
    hidden(createdText, (await storedSalt((JSON.parse(createdText) as { id: string }).id))!);
    const hex = (await storedSalt(isolated.id))!;
    for (const [path, init] of [
      [`/admin/tenants/${isolated.id}`, {}],
      ['/admin/tenants', {}],
      [`/admin/tenants/${isolated.id}`, { method: 'PATCH', json: { prompt_cache: 'isolated' } }],
      ['/admin/openapi.json', {}],
    ] as const) {
      const { response } = await callAdmin(path, init);
      expect(response.status, path).toBe(200);
      hidden(await response.text(), hex);
    }
  });

  it('comes with a tenant inserted into D1 by hand, and no two tenants’ are the same', async () => {
    const ids = [`ten_${nonce('h')}`, `ten_${nonce('h')}`].map((id) => id.replace(/[^A-Za-z0-9_]/g, ''));
    await env.DB.batch(
      ids.map((id) =>
        env.DB.prepare("INSERT INTO tenants (id, name, routing, cache_ttl_s, created_at, updated_at) VALUES (?, 'By hand', 'passthrough', 3600, 0, 0)").bind(
          id,
        ),
      ),
    );
    const salts = await Promise.all(ids.map(storedSalt));
    for (const salt of salts) expect(salt).toMatch(/^[0-9a-f]{24}$/);
    expect(salts[0]).not.toBe(salts[1]);
  });

  it('is read from D1 when a key’s KV entry was written without one', async () => {
    const tenant = await createTestTenant({ prompt_cache: 'isolated' });
    const keyHash = await sha256Hex(tenant.apiKey);
    const entry = (await env.KV.get<Record<string, unknown>>(`apikey:${keyHash}`, 'json'))!;
    expect(entry.promptCacheSalt).toBe(await storedSalt(tenant.id));
    const { promptCacheSalt: _, ...older } = entry;
    await env.KV.put(`apikey:${keyHash}`, JSON.stringify(older));
    forgetKey(keyHash); // as an isolate that has not seen the key would be

    expect(await saltSent(tenant)).toBe(saltText((await storedSalt(tenant.id))!));
    expect((await env.KV.get<Record<string, unknown>>(`apikey:${keyHash}`, 'json'))?.promptCacheSalt).toBe(await storedSalt(tenant.id));
  });

  it('missing from D1, refuses an isolated tenant’s calls rather than send them unsalted', async () => {
    const tenant = await createTestTenant({ prompt_cache: 'isolated' });
    await env.DB.prepare('UPDATE tenants SET prompt_cache_salt = NULL WHERE id = ?').bind(tenant.id).run();
    await callAdmin(`/admin/tenants/${tenant.id}`, { method: 'PATCH', json: { rpm: 1000 } }); // rewrites the key's entry from D1
    const tag = nonce();
    const call = await callProxy(
      '/v1/chat/completions',
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${tenant.apiKey}` },
        body: JSON.stringify({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: tag }] }),
      },
      upstreamEnv(),
    );
    expect(call.response.status).toBe(500);
    expect(((await call.response.json()) as { error: { code: string } }).error.code).toBe('prompt_cache_salt_missing');
    await call.settled();
    expect(await upstreamRequests(tag)).toHaveLength(0);
  });
});

describe('chat completions (OpenAI upstream)', () => {
  it('puts the salt first in the leading system message, distinct per tenant; a shared tenant’s body is forwarded byte for byte', async () => {
    const body = (tag: string) => ({
      model: 'openai/gpt-4o-mini',
      messages: [
        { role: 'system', content: `Be brief. ${tag}` },
        { role: 'user', content: 'hello' },
      ],
    });
    const { first, again, other, shared: plain } = await fromEachTenant('/v1/chat/completions', body);

    const system = (r: RecordedRequest) => splitSalt(r.body.messages[0].content as string);
    expect(system(first.request).rest).toBe(`Be brief. ${first.tag}`);
    expect(first.request.body.messages.slice(1)).toEqual([{ role: 'user', content: 'hello' }]);
    expectDistinctSalts(system(first.request).salt, system(again.request).salt, system(other.request).salt);

    expect(plain.request.rawBody).toBe(JSON.stringify({ ...body(plain.tag), model: 'gpt-4o-mini' }));
  });

  it('adds a system message of its own when the prompt has none, streamed or not, and the upstream’s usage counts it', async () => {
    const tag = nonce();
    const body = { model: 'openai/gpt-4o-mini', stream: true, messages: [{ role: 'user', content: `hi ${tag}` }] };
    const call = await callProxy(
      '/v1/chat/completions',
      { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${isolated.apiKey}` }, body: JSON.stringify(body) },
      upstreamEnv(),
    );
    await call.response.text();
    await call.settled();
    const [sent] = await upstreamRequests(tag);
    expect(sent.body.messages).toEqual([
      { role: 'system', content: expect.stringMatching(SALT) },
      { role: 'user', content: `hi ${tag}` },
    ]);
    // The fake upstream counts a token per 4 characters and 3 a message: the salt's are in the row.
    const row = await loggedRow(call.response.headers.get('x-request-id'));
    const characters = (sent.body.messages[0].content as string).length + `hi ${tag}`.length;
    expect(row!.prompt_tokens).toBe(Math.ceil(characters / 4) + 2 * 3);
  });
});

describe('Responses', () => {
  it('native: the salt begins the instructions (made when there were none); a shared tenant’s body is forwarded byte for byte', async () => {
    const body = (tag: string) => ({ model: 'openai/gpt-4o-mini', instructions: `Answer in French. ${tag}`, input: 'hello' });
    const { first, again, other, shared: plain } = await fromEachTenant('/v1/responses', body);
    const instructions = (r: RecordedRequest) => splitSalt(r.body.instructions as string);
    expect(instructions(first.request).rest).toBe(`Answer in French. ${first.tag}`);
    expect(first.request.body.input).toBe('hello');
    expectDistinctSalts(instructions(first.request).salt, instructions(again.request).salt, instructions(other.request).salt);
    expect(plain.request.rawBody).toBe(JSON.stringify({ ...body(plain.tag), model: 'gpt-4o-mini' }));

    const tag = nonce();
    const bare = await forwarded(isolated, '/v1/responses', { model: 'openai/gpt-4o-mini', input: `hi ${tag}` }, tag);
    expect(bare.body.instructions).toBe(instructions(first.request).salt);
  });

  it('translated to chat: the salt begins the system message the instructions became', async () => {
    const body = (tag: string) => ({ model: 'openai/gpt-4o-mini', instructions: 'Answer in French.', input: `hello ${tag}` });
    const { first, again, other, shared: plain } = await fromEachTenant('/v1/responses', body, openaiTranslated);
    expect(first.request.path).toMatch(/chat\/completions$/);
    const system = (r: RecordedRequest) => splitSalt(r.body.messages[0].content as string);
    expect(system(first.request).rest).toBe('Answer in French.');
    expectDistinctSalts(system(first.request).salt, system(again.request).salt, system(other.request).salt);
    expect(plain.request.body.messages[0]).toEqual({ role: 'system', content: 'Answer in French.' });
  });

  it('translated to Anthropic: the salt begins the system prompt', async () => {
    const body = (tag: string) => ({ model: 'anthropic/claude-haiku-4-5', input: `hello ${tag}` });
    const { first, again, other, shared: plain } = await fromEachTenant('/v1/responses', body);
    const salt = (r: RecordedRequest) => (r.body.system as Array<{ text: string }>)[0].text;
    expect(first.request.body.system).toEqual([{ type: 'text', text: expect.stringMatching(SALT) }]);
    expectDistinctSalts(salt(first.request), salt(again.request), salt(other.request));
    expect(plain.request.body.system).toBeUndefined();
  });
});

describe('Messages', () => {
  const weather = (tag: string) => ({ name: 'get_weather', description: `Weather for a city ${tag}`, input_schema: { type: 'object', properties: {} } });

  it('native: the salt is the first system block; a shared tenant’s body is forwarded byte for byte', async () => {
    const body = (tag: string) => ({
      model: 'anthropic/claude-haiku-4-5',
      max_tokens: 50,
      system: `Be brief. ${tag}`,
      messages: [{ role: 'user', content: 'hi' }],
    });
    const { first, again, other, shared: plain } = await fromEachTenant('/v1/messages', body);
    const system = (r: RecordedRequest) => r.body.system as Array<{ type: string; text: string }>;
    expect(system(first.request)).toEqual([
      { type: 'text', text: expect.stringMatching(SALT) },
      { type: 'text', text: `Be brief. ${first.tag}` },
    ]);
    expect(first.request.body.messages).toEqual([{ role: 'user', content: 'hi' }]);
    expectDistinctSalts(system(first.request)[0].text, system(again.request)[0].text, system(other.request)[0].text);
    expect(plain.request.rawBody).toBe(JSON.stringify({ ...body(plain.tag), model: 'claude-haiku-4-5' }));
  });

  it('native with tools: the salt begins the first custom tool’s description, since tools come first in the prompt', async () => {
    const tag = nonce();
    const body = {
      model: 'anthropic/claude-haiku-4-5',
      max_tokens: 50,
      system: 'Be brief.',
      tools: [{ type: 'web_search_20250305', name: 'web_search' }, weather(tag)],
      messages: [{ role: 'user', content: 'hi' }],
    };
    const sent = await forwarded(isolated, '/v1/messages', body, tag);
    expect(sent.body.tools[0]).toEqual({ type: 'web_search_20250305', name: 'web_search' });
    expect(splitSalt(sent.body.tools[1].description as string).rest).toBe(`Weather for a city ${tag}`);
    expect(sent.body.system).toEqual([{ type: 'text', text: 'Be brief.' }]);
  });

  it('translated to chat: the salt begins the system message', async () => {
    const body = (tag: string) => ({ model: 'openai/gpt-4o-mini', max_tokens: 50, system: `Be brief. ${tag}`, messages: [{ role: 'user', content: 'hi' }] });
    const { first, again, other, shared: plain } = await fromEachTenant('/v1/messages', body);
    expect(first.request.path).toMatch(/chat\/completions$/);
    const system = (r: RecordedRequest) => splitSalt(r.body.messages[0].content as string);
    expect(system(first.request).rest).toBe(`Be brief. ${first.tag}`);
    expectDistinctSalts(system(first.request).salt, system(again.request).salt, system(other.request).salt);
    expect(plain.request.body.messages[0]).toEqual({ role: 'system', content: `Be brief. ${plain.tag}` });
  });

  it('keeps the cache marking: a long prompt still gets one breakpoint, after the salt', async () => {
    const tag = nonce();
    const sent = await forwarded(
      isolated,
      '/v1/messages',
      { model: 'anthropic/claude-haiku-4-5', max_tokens: 50, system: `${tag} ${LONG}`, messages: [{ role: 'user', content: 'hi' }] },
      tag,
    );
    const system = sent.body.system as Array<{ text: string; cache_control?: unknown }>;
    expect(system.map((b) => b.cache_control)).toEqual([undefined, { type: 'ephemeral' }]);
    expect(system[0].text).toMatch(SALT);
  });
});

describe('the oracle', () => {
  /** A long system prompt sent through /v1/messages; what the fake Anthropic cache (shared by the whole proxy) read. */
  async function cacheRead(tenant: TestTenant, system: string): Promise<number> {
    const call = await callProxy(
      '/v1/messages',
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': tenant.apiKey, 'anthropic-version': '2023-06-01' },
        body: JSON.stringify({ model: 'anthropic/claude-haiku-4-5', max_tokens: 20, system, messages: [{ role: 'user', content: 'Can I get a refund?' }] }),
      },
      upstreamEnv(),
    );
    const usage = ((await call.response.json()) as { usage: { cache_read_input_tokens?: number } }).usage;
    await call.settled();
    return usage.cache_read_input_tokens ?? 0;
  }

  it('is closed for an isolated tenant, whose own calls still read its cache; shared tenants still share', async () => {
    const secret = `${nonce()} ${LONG}`;
    expect(await cacheRead(isolated, secret)).toBe(0);
    expect(await cacheRead(isolated, secret)).toBeGreaterThanOrEqual(1024);
    // Neither a shared tenant nor another isolated one learns that the prompt was sent.
    expect(await cacheRead(shared, secret)).toBe(0);
    expect(await cacheRead(otherIsolated, secret)).toBe(0);

    const public_ = `${nonce()} ${LONG}`;
    const neighbour = await createTestTenant();
    expect(await cacheRead(shared, public_)).toBe(0);
    expect(await cacheRead(neighbour, public_)).toBeGreaterThanOrEqual(1024);
  });

  it('is closed in the mock provider’s simulated cache too, which counts the salt as prompt', async () => {
    const ask = async (tenant: TestTenant, prompt: string) => {
      const call = await callProxy('/v1/chat/completions', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${tenant.apiKey}` },
        body: JSON.stringify({ model: 'mock/mock-mini', messages: [{ role: 'system', content: prompt }] }),
      });
      const usage = ((await call.response.json()) as { usage: { prompt_tokens: number; prompt_tokens_details: { cached_tokens: number } } }).usage;
      await call.settled();
      return { prompt: usage.prompt_tokens, cached: usage.prompt_tokens_details.cached_tokens };
    };
    const secret = `${nonce()} ${LONG}`;
    const own = await ask(isolated, secret);
    expect(own.cached).toBe(0);
    expect((await ask(isolated, secret)).cached).toBeGreaterThan(0);
    const other = await ask(shared, secret);
    expect(other.cached).toBe(0);
    expect(own.prompt).toBeGreaterThan(other.prompt);
  });
});

describe('where the salt goes, whatever the shape of the prompt', () => {
  const salt = 'prompt-cache-scope: AAAAAAAAAAAAAAAA';

  it('chat: a developer message or content parts take it first; anything else gets a system message of its own', () => {
    const salted = (messages: Array<Record<string, unknown>>) => saltedChatRequest({ model: 'm', messages: messages as never }, salt).messages;
    expect(salted([{ role: 'developer', content: 'Rules.' }])).toEqual([{ role: 'developer', content: `${salt}\n\nRules.` }]);
    expect(salted([{ role: 'system', content: [{ type: 'text', text: 'Rules.' }] }])).toEqual([
      {
        role: 'system',
        content: [
          { type: 'text', text: salt },
          { type: 'text', text: 'Rules.' },
        ],
      },
    ]);
    expect(salted([{ role: 'system', content: null }])).toEqual([{ role: 'system', content: salt }]);
    expect(
      salted([
        { role: 'system', content: { odd: true } },
        { role: 'user', content: 'x' },
      ]),
    ).toEqual([
      { role: 'system', content: salt },
      { role: 'system', content: { odd: true } },
      { role: 'user', content: 'x' },
    ]);
    expect(salted([])).toEqual([{ role: 'system', content: salt }]);
    const untouched = { model: 'm', messages: [{ role: 'user', content: 'x' }] };
    expect(saltedChatRequest(untouched, undefined)).toBe(untouched);
  });

  it('Anthropic: the first custom tool takes it, else the system prompt; no cache breakpoint is added', () => {
    const request: AnthropicRequest = { model: 'm', max_tokens: 1, messages: [{ role: 'user', content: [{ type: 'text', text: 'x' }] }] };
    expect(saltPrompt(request, salt).system).toEqual([{ type: 'text', text: salt }]);
    const tools: AnthropicTool[] = [
      { name: 'a', input_schema: {} },
      { name: 'b', description: 'B', input_schema: {} },
    ];
    expect(saltPrompt({ ...request, tools }, salt).tools).toEqual([{ name: 'a', description: salt, input_schema: {} }, tools[1]]);
    // A server tool, as a native request may list it: a type of its own.
    const bash: AnthropicTool & { type: string } = { type: 'bash_20250124', name: 'bash', input_schema: {} };
    const serverOnly: AnthropicTool[] = [bash];
    const salted = saltPrompt({ ...request, tools: serverOnly, system: [{ type: 'text', text: 'S' }] }, salt);
    expect(salted.tools).toBe(serverOnly);
    expect(salted.system).toEqual([
      { type: 'text', text: salt },
      { type: 'text', text: 'S' },
    ]);
    expect(JSON.stringify(salted)).not.toContain('cache_control');
  });
});
