/**
 * What the proxy keeps and what it lets out: prompts and answers are stored only for tenants
 * that opt in; keys and provider secrets never reach a log line, an error, a row or a data
 * point; CORS is closed unless configured.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createTestTenant, loggedRow } from './fixtures';
import { callAdmin, callProxy, env, nonce, postJson, readSse, recordingAnalytics, upstreamEnv } from './harness';

/** Every row of every table, as text: where a stored secret or prompt would show up. */
async function everythingInD1(): Promise<string> {
  const { results: tables } = await env.DB.prepare(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name NOT LIKE 'd1_%'",
  ).all<{ name: string }>();
  const dumps = await Promise.all(tables.map(async ({ name }) => JSON.stringify((await env.DB.prepare(`SELECT * FROM "${name}"`).all()).results)));
  return dumps.join('\n');
}

/** Every KV value, as text. */
async function everythingInKv(): Promise<string> {
  const { keys } = await env.KV.list();
  return (await Promise.all(keys.map(async (k) => `${k.name}=${await env.KV.get(k.name)}`))).join('\n');
}

describe('prompts and answers', () => {
  it('are not stored anywhere for a tenant that has not opted in', async () => {
    const tenant = await createTestTenant();
    const secret = nonce('prompt');
    const ae = recordingAnalytics();
    for (const stream of [false, true]) {
      const call = await postJson(
        '/v1/chat/completions',
        { model: 'openai/gpt-4o-mini', stream, messages: [{ role: 'user', content: `my private question ${secret}` }] },
        { apiKey: tenant.apiKey, env: { ...upstreamEnv(), AE: ae } },
      );
      expect(call.response.status).toBe(200);
      expect(await call.response.text()).toContain(secret); // the answer echoes it: a good canary
      await call.settled();
      const detail = (await (await callAdmin(`/admin/requests/${call.response.headers.get('x-request-id')}`)).response.json()) as { content: unknown };
      expect(detail.content).toBeNull();
    }
    expect(await everythingInD1()).not.toContain(secret);
    expect(await everythingInKv()).not.toContain(secret);
    expect(JSON.stringify(ae.points)).not.toContain(secret);
  });

  it('are kept, plain and streamed, for a tenant that opted in, and shown to the admin', async () => {
    const tenant = await createTestTenant({ store_content: true });
    const tag = nonce('kept');
    const plain = await postJson(
      '/v1/chat/completions',
      { model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: `plain ${tag}` }] },
      { apiKey: tenant.apiKey, env: upstreamEnv() },
    );
    const answer = await plain.response.text();
    await plain.settled();
    const stream = await postJson(
      '/v1/chat/completions',
      { model: 'openai/gpt-4o-mini', stream: true, messages: [{ role: 'user', content: `streamed ${tag}` }] },
      { apiKey: tenant.apiKey, env: upstreamEnv() },
    );
    await readSse(stream.response);
    await stream.settled();

    type Detail = { content: { request: string; response: string | null; truncated: boolean } };
    const plainDetail = (await (await callAdmin(`/admin/requests/${plain.response.headers.get('x-request-id')}`)).response.json()) as Detail;
    expect(JSON.parse(plainDetail.content.request).messages[0].content).toBe(`plain ${tag}`);
    expect(plainDetail.content.response).toBe(answer);
    expect(plainDetail.content.truncated).toBe(false);
    const streamDetail = (await (await callAdmin(`/admin/requests/${stream.response.headers.get('x-request-id')}`)).response.json()) as Detail;
    expect(JSON.parse(streamDetail.content.response!).choices[0].message.content).toContain(`streamed ${tag}`);
    // A stream passed through (the client asked for usage) is kept the same way, from the proxy's copy.
    const passed = await postJson(
      '/v1/chat/completions',
      { model: 'openai/gpt-4o-mini', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: `passed ${tag}` }] },
      { apiKey: tenant.apiKey, env: upstreamEnv() },
    );
    await readSse(passed.response);
    await passed.settled();
    const passedDetail = (await (await callAdmin(`/admin/requests/${passed.response.headers.get('x-request-id')}`)).response.json()) as Detail;
    expect(JSON.parse(passedDetail.content.response!).choices[0].message.content).toContain(`passed ${tag}`);
    // The setting shows on the tenant and can be turned off.
    const off = await callAdmin(`/admin/tenants/${tenant.id}`, { method: 'PATCH', json: { store_content: false } });
    expect(((await off.response.json()) as { store_content: boolean }).store_content).toBe(false);
  });
});

describe('keys and provider secrets', () => {
  const logged: string[] = [];
  beforeEach(() => {
    logged.length = 0;
    for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
      vi.spyOn(console, method).mockImplementation(
        (...args: unknown[]) =>
          void logged.push(args.map((a) => (a instanceof Error ? `${a.message} ${a.stack}` : typeof a === 'string' ? a : JSON.stringify(a))).join(' ')),
      );
    }
  });
  afterEach(() => vi.restoreAllMocks());

  it('never appear in logs, errors, rows or data points, whatever fails', async () => {
    const tenant = await createTestTenant();
    const providerKey = 'sk-provider-SECRET-0123456789abcdef';
    const wrongTenantKey = 'sk-proxy-SECRET-wrong-key-0123456789';
    const wrongAdminToken = 'admin-SECRET-guess-0123456789';
    const ae = recordingAnalytics();
    const seen: string[] = [];
    const record = async (call: Awaited<ReturnType<typeof callProxy>>) => {
      seen.push(`${call.response.status} ${JSON.stringify([...call.response.headers])} ${await call.response.text()}`);
      await call.settled();
    };
    const providerEnv = { ...upstreamEnv(), OPENAI_API_KEY: providerKey, AE: ae, UPSTREAM_MAX_RETRIES: '0', FALLBACK_MODEL: 'none' };

    // An upstream that quotes the credentials it was sent in its error.
    await record(
      await postJson(
        '/v1/chat/completions',
        { model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'upstream:status=400 upstream:echo-credentials' }] },
        { apiKey: tenant.apiKey, env: providerEnv },
      ),
    );
    // The same mid-way through retries and a fallback.
    await record(
      await postJson(
        '/v1/chat/completions',
        { model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'upstream:status=503 upstream:echo-credentials' }] },
        { apiKey: tenant.apiKey, env: { ...providerEnv, UPSTREAM_MAX_RETRIES: '1', FALLBACK_MODEL: '' } },
      ),
    );
    // The provider rejecting the key.
    await record(
      await postJson(
        '/v1/chat/completions',
        { model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] },
        { apiKey: tenant.apiKey, env: { ...providerEnv, OPENAI_API_KEY: 'sk-invalid-SECRET-0123456789' } },
      ),
    );
    // Wrong tenant key, wrong admin token.
    await record(await postJson('/v1/chat/completions', { model: 'cheap', messages: [{ role: 'user', content: 'hi' }] }, { apiKey: wrongTenantKey }));
    await record(await callProxy('/admin/tenants', { headers: { authorization: `Bearer ${wrongAdminToken}` } }));
    // A successful call, whose row and data point are written.
    await record(
      await postJson(
        '/v1/chat/completions',
        { model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] },
        { apiKey: tenant.apiKey, env: providerEnv },
      ),
    );

    const everything = [...seen, ...logged, JSON.stringify(ae.points), await everythingInD1()].join('\n');
    for (const secret of [providerKey, 'sk-invalid-SECRET', wrongTenantKey, wrongAdminToken, tenant.apiKey, 'test-admin-token']) {
      expect(everything, secret).not.toContain(secret);
    }
    expect(seen[0]).toContain('[redacted]');
  });

  it('are redacted by value too, when their shape is not a known one', async () => {
    const tenant = await createTestTenant();
    const key = 'gsk_abc123def456';
    const ae = recordingAnalytics();
    const call = await postJson(
      '/v1/chat/completions',
      { model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'upstream:status=400 upstream:echo-credentials' }] },
      { apiKey: tenant.apiKey, env: { ...upstreamEnv(), OPENAI_API_KEY: key, AE: ae } },
    );
    const text = await call.response.text();
    await call.settled();
    expect(text).toContain('API key provided: [redacted]');
    expect([text, ...logged, JSON.stringify(ae.points), await everythingInD1()].join('\n')).not.toContain(key);
  });
});

describe('CORS', () => {
  const preflight = (path: string, origin: string, overrides = {}) =>
    callProxy(
      path,
      {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type, x-stainless-os' },
      },
      overrides,
    );

  it('is off unless configured, for the proxy and the admin API', async () => {
    const tenant = await createTestTenant();
    for (const path of ['/v1/chat/completions', '/admin/tenants']) {
      const call = await preflight(path, 'https://app.example');
      expect(call.response.headers.get('access-control-allow-origin')).toBeNull();
      expect(call.response.status).toBeGreaterThanOrEqual(400);
    }
    const simple = await postJson(
      '/v1/chat/completions',
      { model: 'cheap', messages: [{ role: 'user', content: 'hi' }] },
      { apiKey: tenant.apiKey, headers: { origin: 'https://app.example' } },
    );
    expect(simple.response.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('allows the configured origins only, each API on its own setting', async () => {
    const configured = { CORS_ALLOWED_ORIGINS: 'https://app.example, https://other.example' };
    const allowed = await preflight('/v1/chat/completions', 'https://app.example', configured);
    expect(allowed.response.status).toBe(204);
    expect(allowed.response.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(allowed.response.headers.get('access-control-allow-headers')).toContain('x-stainless-os');
    expect((await preflight('/v1/chat/completions', 'https://evil.example', configured)).response.headers.get('access-control-allow-origin')).toBeNull();
    // The proxy's origins do not open the admin API.
    expect((await preflight('/admin/tenants', 'https://app.example', configured)).response.headers.get('access-control-allow-origin')).toBeNull();
    const admin = await preflight('/admin/tenants', 'https://ops.example', { ADMIN_CORS_ALLOWED_ORIGINS: 'https://ops.example' });
    expect(admin.response.headers.get('access-control-allow-origin')).toBe('https://ops.example');

    const tenant = await createTestTenant();
    const call = await postJson(
      '/v1/chat/completions',
      { model: 'cheap', messages: [{ role: 'user', content: 'hi' }] },
      { apiKey: tenant.apiKey, headers: { origin: 'https://app.example' }, env: configured },
    );
    expect(call.response.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(call.response.headers.get('access-control-expose-headers')).toContain('x-proxy-cost-usd');
    await call.response.text();
    await call.settled();
    expect(await loggedRow(call.response.headers.get('x-request-id'))).not.toBeNull();
  });
});
