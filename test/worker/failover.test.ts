/**
 * Upstream faults, through the real proxy against the fake upstream: timeouts, retries with
 * backoff, fallback to the other tier, and how every attempt is logged without counting cost
 * twice. Backoffs are shortened by the test binding UPSTREAM_RETRY_BASE_MS (vitest.config.ts).
 */
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { backoffMs, DEFAULT_POLICY, requestedWaitMs, withFailover } from '../../proxy/routing/failover';
import { ProxyError } from '../../proxy/core/errors';
import { createTestTenant, loggedRow, type TestTenant } from './fixtures';
import { callAdmin, callProxy, env, nonce, postJson, readSse, recordingAnalytics, upstreamEnv, upstreamRequests } from './harness';

let tenant: TestTenant;

beforeAll(async () => {
  tenant = await createTestTenant();
});

/** `includeUsage` asks for the usage chunk: the OpenAI stream is then passed through rather than re-framed (pass-through-stream.ts). */
const chat = async (content: string, options: { model?: string; stream?: boolean; includeUsage?: boolean; env?: Record<string, string> } = {}) => {
  const call = await postJson(
    '/v1/chat/completions',
    {
      model: options.model ?? 'openai/gpt-4o-mini',
      stream: options.stream,
      ...(options.includeUsage ? { stream_options: { include_usage: true } } : {}),
      messages: [{ role: 'user', content }],
    },
    { apiKey: tenant.apiKey, env: { ...upstreamEnv(), ...options.env } },
  );
  const text = await call.response.text();
  await call.settled();
  const id = call.response.headers.get('x-request-id');
  return { status: call.response.status, headers: call.response.headers, text, row: await loggedRow(id), attempts: await attemptRows(id) };
};

interface AttemptRow {
  attempt: number;
  model: string;
  status: number;
  error_type: string;
  error_message: string;
}

async function attemptRows(requestId: string | null): Promise<AttemptRow[]> {
  const { results } = await env.DB.prepare('SELECT * FROM request_attempts WHERE request_id = ? ORDER BY attempt').bind(requestId).all<AttemptRow>();
  return results;
}

const spentThisMonth = async () =>
  (await env.DB.prepare('SELECT spent_nano FROM tenant_spend WHERE tenant_id = ?').bind(tenant.id).first<{ spent_nano: number }>())?.spent_nano ?? 0;

describe('retries', () => {
  it('retries a failing upstream until it answers, logging each failed attempt and billing once', async () => {
    const tag = nonce();
    const spentBefore = await spentThisMonth();
    const call = await chat(`upstream:first=${tag}:2:status=503 hello`);
    expect(call.status).toBe(200);
    expect(call.headers.get('x-proxy-attempts')).toBe('3');
    expect(call.headers.get('x-proxy-model')).toBe('openai/gpt-4o-mini');
    expect(await upstreamRequests(tag)).toHaveLength(3);

    expect(call.row).toMatchObject({ status: 200, attempts: 3, model: 'openai/gpt-4o-mini' });
    expect(call.row!.cost_nano).toBeGreaterThan(0);
    expect(call.attempts.map((a) => [a.attempt, a.model, a.status, a.error_type])).toEqual([
      [1, 'openai/gpt-4o-mini', 503, 'upstream_overloaded'],
      [2, 'openai/gpt-4o-mini', 503, 'upstream_overloaded'],
    ]);
    // The failed attempts cost nothing: the month moved by exactly the one answer's cost.
    expect((await spentThisMonth()) - spentBefore).toBe(call.row!.cost_nano);

    // The admin API shows the call with its failed attempts.
    const detail = (await (await callAdmin(`/admin/requests/${call.row!.id}`)).response.json()) as {
      attempts: number;
      failed_attempts: { attempt: number; status: number; ts: string }[];
    };
    expect(detail.attempts).toBe(3);
    expect(detail.failed_attempts.map((a) => [a.attempt, a.status])).toEqual([
      [1, 503],
      [2, 503],
    ]);
    expect(new Date(detail.failed_attempts[0].ts).getTime()).toBeGreaterThan(0);
    expect((await callAdmin('/admin/requests/req_unknown')).response.status).toBe(404);
  });

  it('retries an upstream 429 after its retry-after, and does not wait for one longer than 10 s', async () => {
    const soon = nonce();
    const retried = await chat(`upstream:first=${soon}:1:status=429 upstream:retry-after=0.05`);
    expect([retried.status, retried.row!.attempts, retried.headers.get('x-proxy-model')]).toEqual([200, 2, 'openai/gpt-4o-mini']);

    const late = nonce();
    const fellBack = await chat(`upstream:if-model=gpt-4o-mini:status=429 upstream:retry-after=3600 ${late}`);
    // No retry of the same model (it asked for an hour): straight to the fallback.
    expect([fellBack.status, fellBack.row!.attempts, fellBack.headers.get('x-proxy-model')]).toEqual([200, 2, 'openai/gpt-4o']);
    expect(fellBack.attempts.map((a) => [a.model, a.status])).toEqual([['openai/gpt-4o-mini', 429]]);
  });

  it('does not retry what another try cannot cure', async () => {
    const tag = nonce();
    const call = await chat(`upstream:status=400 ${tag}`);
    expect(call.status).toBe(400);
    expect(call.row).toMatchObject({ status: 400, attempts: 1 });
    expect(call.attempts).toEqual([]);
    expect(await upstreamRequests(tag)).toHaveLength(1);
  });

  it('waits longer before each retry, with jitter, or as long as the upstream asks', () => {
    const error = new ProxyError(503, 'overloaded', { type: 'upstream_error' });
    const policy = { ...DEFAULT_POLICY, retryBaseMs: 200 };
    expect([1, 2, 3].map((retry) => backoffMs(error, retry, policy, () => 0))).toEqual([100, 200, 400]);
    expect([1, 2, 3].map((retry) => backoffMs(error, retry, policy, () => 0.999999))).toEqual(
      [1, 2, 3].map((retry) => expect.closeTo(200 * 2 ** (retry - 1), 3)),
    );
    const asked = new ProxyError(429, 'slow down', { type: 'rate_limit_error', headers: { 'retry-after': '2' } });
    expect(backoffMs(asked, 1, policy)).toBe(2000);
    expect(backoffMs(new ProxyError(429, '', { type: 'rate_limit_error', headers: { 'retry-after': '11' } }), 1, policy)).toBeNull();
    expect(requestedWaitMs({ 'retry-after-ms': '150', 'retry-after': '9' })).toBe(150);
    const now = Date.UTC(2026, 10, 25, 12, 0, 0);
    expect(requestedWaitMs({ 'retry-after': 'Wed, 25 Nov 2026 12:00:03 GMT' }, now)).toBe(3000);
    expect(requestedWaitMs({ 'retry-after': 'soon' })).toBeNull();
  });
});

describe('fallback', () => {
  it('answers from the other tier when the routed model keeps failing, and says so', async () => {
    const tag = nonce();
    const call = await chat(`upstream:if-model=gpt-4o-mini:status=502 ${tag}`);
    expect(call.status).toBe(200);
    expect(call.headers.get('x-proxy-model')).toBe('openai/gpt-4o');
    expect(call.headers.get('x-proxy-tier')).toBe('expensive');
    expect(call.headers.get('x-proxy-fallback-from')).toBe('openai/gpt-4o-mini');
    expect(call.headers.get('x-proxy-route-reason')).toBe('fallback:openai/gpt-4o-mini');
    expect(call.headers.get('x-proxy-attempts')).toBe(String(DEFAULT_POLICY.maxRetries + 2));
    // Billed at the price of the model that answered.
    expect(call.row).toMatchObject({ status: 200, model: 'openai/gpt-4o', tier: 'expensive', route_reason: 'fallback:openai/gpt-4o-mini' });
    expect(call.attempts.map((a) => a.model)).toEqual(Array(DEFAULT_POLICY.maxRetries + 1).fill('openai/gpt-4o-mini'));
  });

  it('uses FALLBACK_MODEL when set, and none when it is none', async () => {
    const configured = await chat(`upstream:if-model=gpt-4o-mini:status=503 ${nonce()}`, {
      env: { FALLBACK_MODEL: 'anthropic/claude-haiku-4-5', UPSTREAM_MAX_RETRIES: '0' },
    });
    expect([configured.status, configured.headers.get('x-proxy-model')]).toEqual([200, 'anthropic/claude-haiku-4-5']);

    const none = await chat(`upstream:status=503 ${nonce()}`, { env: { FALLBACK_MODEL: 'none', UPSTREAM_MAX_RETRIES: '1' } });
    expect(none.status).toBe(503);
    expect(none.row).toMatchObject({ status: 503, attempts: 2, model: 'openai/gpt-4o-mini' });
  });

  it('gives up with the last failure when every model fails, every attempt on record', async () => {
    const tag = nonce();
    const call = await chat(`upstream:status=500 ${tag}`);
    const total = 2 * (DEFAULT_POLICY.maxRetries + 1);
    expect(call.status).toBe(502);
    expect(JSON.parse(call.text).error.code).toBe('upstream_error');
    expect(await upstreamRequests(tag)).toHaveLength(total);
    // The call's own row is the last attempt; the ones before it are in request_attempts.
    expect(call.row).toMatchObject({ status: 502, attempts: total, model: 'openai/gpt-4o', cost_nano: 0 });
    expect(call.attempts.map((a) => a.attempt)).toEqual(Array.from({ length: total - 1 }, (_, i) => i + 1));
  });

  it('never stores a fallback’s answer under the routed model’s cache key', async () => {
    const tag = nonce();
    const first = await postJson(
      '/v1/chat/completions',
      { model: 'openai/gpt-4o-mini', temperature: 0, messages: [{ role: 'user', content: `upstream:if-model=gpt-4o-mini:status=503 ${tag}` }] },
      { apiKey: tenant.apiKey, env: { ...upstreamEnv(), UPSTREAM_MAX_RETRIES: '0' } },
    );
    await first.response.text();
    await first.settled();
    expect(first.response.headers.get('x-proxy-model')).toBe('openai/gpt-4o');
    const again = await postJson(
      '/v1/chat/completions',
      { model: 'openai/gpt-4o-mini', temperature: 0, messages: [{ role: 'user', content: `upstream:if-model=gpt-4o-mini:status=503 ${tag}` }] },
      { apiKey: tenant.apiKey, env: { ...upstreamEnv(), UPSTREAM_MAX_RETRIES: '0' } },
    );
    await again.response.text();
    expect(again.response.headers.get('x-proxy-cache')).toBe('MISS');
  });
});

describe('timeouts', () => {
  it('times out a slow answer (first byte) and retries it', async () => {
    const tag = nonce();
    const call = await chat(`upstream:first=${tag}:1:slow=3000`, { env: { UPSTREAM_FIRST_BYTE_TIMEOUT_MS: '300' } });
    expect(call.status).toBe(200);
    expect(call.attempts).toMatchObject([{ attempt: 1, status: 504, error_type: 'upstream_timeout' }]);
    expect(call.attempts[0].error_message).toContain('did not answer within 300 ms');
    // The timed-out request was cancelled, not left running upstream.
    const [timedOut] = await upstreamRequests(tag);
    await expect.poll(async () => (await upstreamRequests(tag))[0].aborted).toBe(true);
    expect(timedOut.completed).toBe(false);
  });

  it('answers 504 when every attempt times out', async () => {
    const call = await chat(`upstream:slow=2000 ${nonce()}`, {
      env: { UPSTREAM_FIRST_BYTE_TIMEOUT_MS: '100', UPSTREAM_MAX_RETRIES: '0', FALLBACK_MODEL: 'none' },
    });
    expect(call.status).toBe(504);
    expect(JSON.parse(call.text).error).toMatchObject({ type: 'upstream_error', code: 'upstream_timeout' });
    expect(call.row).toMatchObject({ status: 504, error_type: 'upstream_timeout', attempts: 1 });
  });
});

/**
 * Streams reach the client two ways: re-framed event by event by the proxy (metered-stream.ts), or,
 * when the client asked for the usage chunk, as the upstream's own bytes (pass-through-stream.ts).
 * Every fault must end the same way on both.
 */
describe.each([
  ['re-framed', false],
  ['passed through', true],
] as const)('streams %s', (_path, includeUsage) => {
  describe('timeouts', () => {
    it('times out a stream that does not connect, and one whose first chunk does not come', async () => {
      const connect = nonce();
      const slowHeaders = await chat(`upstream:first=${connect}:1:slow=3000`, { stream: true, includeUsage, env: { UPSTREAM_CONNECT_TIMEOUT_MS: '300' } });
      expect(slowHeaders.status).toBe(200);
      expect(slowHeaders.attempts).toMatchObject([{ status: 504, error_type: 'upstream_timeout' }]);

      const firstByte = nonce();
      const slowFirstChunk = await chat(`upstream:first=${firstByte}:1:first-event-delay=3000`, {
        stream: true,
        includeUsage,
        env: { UPSTREAM_FIRST_BYTE_TIMEOUT_MS: '300' },
      });
      expect(slowFirstChunk.status).toBe(200);
      expect(slowFirstChunk.text).toContain('[DONE]');
      expect(slowFirstChunk.row).toMatchObject({ status: 200, attempts: 2, stream: 1 });
      expect(slowFirstChunk.attempts).toMatchObject([{ status: 504, error_type: 'upstream_timeout' }]);
    });
  });

  describe('after the first byte', () => {
    it('never retries a stream that fails mid-way: the client gets an error event, the row what was used', async () => {
      const tag = nonce();
      const call = await postJson(
        '/v1/chat/completions',
        {
          model: 'openai/gpt-4o-mini',
          stream: true,
          stream_options: { include_usage: includeUsage },
          messages: [{ role: 'user', content: `tell me a long story upstream:midstream-error ${tag}` }],
        },
        { apiKey: tenant.apiKey, env: upstreamEnv() },
      );
      expect(call.response.status).toBe(200);
      const events = await readSse(call.response);
      await call.settled();
      expect(events.some((e) => e.data.includes('"content"'))).toBe(true);
      expect(JSON.parse(events.at(-1)!.data)).toMatchObject({ error: { type: 'upstream_error', code: 'upstream_stream_error' } });
      expect(await upstreamRequests(tag)).toHaveLength(1);
      const row = await loggedRow(call.response.headers.get('x-request-id'));
      expect(row).toMatchObject({ status: 502, attempts: 1, usage_estimated: 1, error_type: 'upstream_stream_error' });
      expect(row!.prompt_tokens).toBeGreaterThan(0);
      expect(row!.completion_tokens).toBeGreaterThan(0);
      expect(row!.cost_nano).toBeGreaterThan(0);
    });
  });

  describe('an upstream answer cut off before any byte reached the client', () => {
    it('retries a stream whose connection drops before its first event; one that drops later ends with an error event', async () => {
      const tag = nonce();
      const early = await chat(`upstream:first=${tag}:1:reset-stream=0 hi`, { stream: true, includeUsage });
      expect(early.status).toBe(200);
      expect(early.text).toContain('[DONE]');
      expect(early.attempts).toMatchObject([{ attempt: 1, status: 502, error_type: 'upstream_stream_error' }]);

      const late = await chat(`upstream:reset-stream=3 tell me more ${nonce()}`, { stream: true, includeUsage });
      expect(late.status).toBe(200);
      expect(late.text).not.toContain('[DONE]');
      expect(late.text).toContain('upstream_stream_error');
      expect(late.row).toMatchObject({ status: 502, attempts: 1, error_type: 'upstream_stream_error', usage_estimated: 1 });
    });
  });

  describe('an OpenAI stream that ends early', () => {
    it('ends the client stream with an error event and logs 502 upstream_stream_incomplete with the usage seen', async () => {
      const call = await chat(`upstream:truncate-stream=3 tell me a story ${nonce()}`, { stream: true, includeUsage });
      expect(call.status).toBe(200);
      expect(call.text).not.toContain('[DONE]');
      expect(JSON.parse(call.text.trim().split('\n\n').at(-1)!.slice(6))).toMatchObject({
        error: { type: 'upstream_error', code: 'upstream_stream_incomplete' },
      });
      expect(call.row).toMatchObject({ status: 502, error_type: 'upstream_stream_incomplete', usage_estimated: 1, attempts: 1 });
      expect(call.row!.completion_tokens).toBeGreaterThan(0);
    });

    it('retries a 200 that ends before its first event', async () => {
      const tag = nonce();
      const call = await chat(`upstream:first=${tag}:1:truncate-stream=0 hi`, { stream: true, includeUsage });
      expect(call.status).toBe(200);
      expect(call.text).toContain('[DONE]');
      expect(call.row).toMatchObject({ status: 200, attempts: 2 });
      expect(call.attempts).toMatchObject([{ attempt: 1, status: 502, error_type: 'upstream_stream_incomplete' }]);
    });

    it('accepts a stream that ends after its finish_reason and usage without [DONE]', async () => {
      // Reply "Echo: upstream:truncate-stream=6 hi": role, three words, finish, usage, then [DONE] (cut).
      const call = await chat('upstream:truncate-stream=6 hi', { stream: true, includeUsage });
      expect(call.text).toContain('"finish_reason":"stop"');
      expect(call.text).toContain('[DONE]');
      expect(call.row).toMatchObject({ status: 200, usage_estimated: 0 });
    });
  });

  describe('a client that leaves mid-stream', () => {
    /** Starts a slow stream, reads its first chunks, then leaves. */
    async function leave(tag: string, env: Record<string, string> = {}) {
      // A tenant of its own: another test counts this file's tenant's 499 rows.
      const leaver = await createTestTenant();
      const controller = new AbortController();
      const call = await callProxy(
        new Request('http://proxy.test/v1/chat/completions', {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${leaver.apiKey}` },
          body: JSON.stringify({
            model: 'openai/gpt-4o-mini',
            stream: true,
            stream_options: { include_usage: includeUsage },
            messages: [{ role: 'user', content: `upstream:chunk-delay=100 write a long essay ${tag}` }],
          }),
          signal: controller.signal,
        }),
        undefined,
        { ...upstreamEnv(), ...env },
      );
      const reader = call.response.body!.getReader();
      const received = new TextDecoder().decode((await reader.read()).value) + new TextDecoder().decode((await reader.read()).value);
      expect(received).toContain('"content"');
      controller.abort();
      await reader.cancel().catch(() => {});
      await call.settled();
      return loggedRow(call.response.headers.get('x-request-id'));
    }

    it('is billed on the real usage: the upstream is metered on until it ends, and the row is 499', async () => {
      const tag = nonce();
      const row = await leave(tag);
      // The upstream's final usage arrived (not an estimate): it was read to its end.
      expect(row).toMatchObject({ status: 499, error_type: 'client_closed', usage_estimated: 0, stream: 1 });
      expect(row!.completion_tokens).toBeGreaterThan(0);
    });

    it('past UPSTREAM_ABANDONED_METER_MS has its upstream cancelled, the output sent so far estimated', async () => {
      const tag = nonce();
      const row = await leave(tag, { UPSTREAM_ABANDONED_METER_MS: '0' });
      await expect.poll(async () => (await upstreamRequests(tag))[0].aborted).toBe(true);
      expect((await upstreamRequests(tag))[0].completed).toBe(false);
      expect(row).toMatchObject({ status: 499, error_type: 'client_closed', usage_estimated: 1, stream: 1 });
      expect(row!.completion_tokens).toBeGreaterThan(0);
    });
  });

  describe('a stream that stalls after its first byte', () => {
    it('ends with an error event after UPSTREAM_IDLE_TIMEOUT_MS, cancels the upstream and logs 504 with the usage so far', async () => {
      const tag = nonce();
      // The upstream never ends this stream: only the idle timeout can (else the test times out).
      const call = await chat(`upstream:hang tell me a story ${tag}`, { stream: true, includeUsage, env: { UPSTREAM_IDLE_TIMEOUT_MS: '300' } });
      expect(call.status).toBe(200);
      expect(call.text).toContain('Echo:');
      expect(JSON.parse(call.text.trim().split('\n\n').at(-1)!.slice(6))).toMatchObject({ error: { type: 'upstream_error', code: 'upstream_timeout' } });
      expect(call.row).toMatchObject({ status: 504, error_type: 'upstream_timeout', usage_estimated: 1 });
      expect(call.row!.completion_tokens).toBeGreaterThan(0);
      await expect.poll(async () => (await upstreamRequests(tag))[0].aborted).toBe(true);
    });
  });
});

describe('a client that goes away', () => {
  it('cancels a non-streamed upstream call and still writes the row', async () => {
    const tag = nonce();
    const controller = new AbortController();
    const request = new Request('http://proxy.test/v1/chat/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tenant.apiKey}` },
      body: JSON.stringify({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: `upstream:slow=5000 ${tag}` }] }),
      signal: controller.signal,
    });
    const pending = callProxy(request, undefined, upstreamEnv());
    await expect.poll(() => upstreamRequests(tag).then((r) => r.length)).toBe(1);
    controller.abort();
    const call = await pending.catch(() => null);
    await call?.settled();
    await expect.poll(async () => (await upstreamRequests(tag))[0].aborted).toBe(true);
    const abandoned = () =>
      env.DB.prepare('SELECT * FROM requests WHERE tenant_id = ? AND status = 499')
        .bind(tenant.id)
        .all<{ error_type: string; usage_estimated: number; prompt_tokens: number; completion_tokens: number }>();
    await expect.poll(async () => (await abandoned()).results.length).toBe(1);
    const { results } = await abandoned();
    expect(results[0]).toMatchObject({ error_type: 'client_closed', usage_estimated: 1, completion_tokens: 0 });
    expect(results[0].prompt_tokens).toBeGreaterThan(0);
  });

  const leaving = (body: Record<string, unknown>, signal: AbortSignal, ae: AnalyticsEngineDataset) =>
    callProxy(
      new Request('http://proxy.test/v1/chat/completions', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${tenant.apiKey}` },
        body: JSON.stringify(body),
        signal,
      }),
      undefined,
      { ...upstreamEnv(), AE: ae },
    );

  it('logs a call the client leaves exactly once (one row, one data point), plain or streamed, whatever the upstream does after', async () => {
    const cases = [
      { model: 'mock/mock-mini', stream: true, content: 'mock:latency=3000' },
      { model: 'mock/mock-mini', stream: false, content: 'mock:latency=3000' },
      { model: 'openai/gpt-4o-mini', stream: true, content: 'upstream:slow=3000' },
      { model: 'openai/gpt-4o-mini', stream: true, content: 'upstream:first-event-delay=3000' },
    ];
    for (const { model, stream, content } of cases) {
      const ae = recordingAnalytics();
      const controller = new AbortController();
      const pending = leaving({ model, stream, messages: [{ role: 'user', content: `${content} ${nonce()}` }] }, controller.signal, ae);
      await new Promise((resolve) => setTimeout(resolve, 300));
      controller.abort();
      const call = await pending.catch(() => null);
      await call?.response.text().catch(() => '');
      await call?.settled();
      const label = `${model} ${stream ? 'stream' : 'plain'} ${content}`;
      expect(ae.points, label).toHaveLength(1);
      const id = ae.points[0].blobs![10] as string;
      const { results } = await env.DB.prepare('SELECT status, error_type FROM requests WHERE id = ?').bind(id).all();
      expect(results, label).toEqual([{ status: 499, error_type: 'client_closed' }]);
    }
  });

  it('treats an attempt that answers after the client left (a provider that cannot be cancelled) as the client leaving', async () => {
    const controller = new AbortController();
    const model = { requested: 'x', id: 'workers-ai/x', provider: 'workers-ai', model: 'x', tier: 'cheap', reason: 'model', price: null } as const;
    const run = async () => {
      controller.abort();
      return 'answer';
    };
    await expect(withFailover([model], DEFAULT_POLICY, controller.signal, run, { onAttempt() {}, onFailure() {} })).rejects.toMatchObject({ status: 499 });
  });

  it('neither calls the upstream nor streams a cached answer for a client that left before its call was tracked', async () => {
    const tag = nonce();
    const cached = await postJson(
      '/v1/chat/completions',
      { model: 'openai/gpt-4o-mini', stream: true, temperature: 0, messages: [{ role: 'user', content: `cached ${tag}` }] },
      { apiKey: tenant.apiKey, env: upstreamEnv() },
    );
    await cached.response.text();
    await cached.settled();
    for (const [content, stream] of [
      [`fresh ${tag}`, false],
      [`cached ${tag}`, true],
    ] as const) {
      const ae = recordingAnalytics();
      const controller = new AbortController();
      controller.abort();
      const call = await leaving({ model: 'openai/gpt-4o-mini', stream, temperature: 0, messages: [{ role: 'user', content }] }, controller.signal, ae).catch(
        () => null,
      );
      await call?.response.text().catch(() => '');
      await call?.settled();
      expect(
        ae.points.map((p) => p.blobs![4]),
        content,
      ).toEqual(['499']);
    }
    expect((await upstreamRequests(tag)).map((r) => r.body.messages[0].content)).toEqual([`cached ${tag}`]);
  });
});

describe('an upstream answer cut off before any byte reached the client', () => {
  it('retries a plain answer whose connection drops mid-body, and answers 502 when it keeps dropping', async () => {
    const tag = nonce();
    const call = await chat(`upstream:first=${tag}:1:midstream-error hello`);
    expect(call.status).toBe(200);
    expect(call.row).toMatchObject({ status: 200, attempts: 2 });
    expect(call.attempts).toMatchObject([{ attempt: 1, status: 502, error_type: 'upstream_interrupted' }]);

    const always = await chat(`upstream:midstream-error ${nonce()}`, { env: { UPSTREAM_MAX_RETRIES: '1', FALLBACK_MODEL: 'none' } });
    expect(always.status).toBe(502);
    expect(JSON.parse(always.text).error).toMatchObject({ type: 'upstream_error', code: 'upstream_interrupted' });
    expect(always.row).toMatchObject({ status: 502, attempts: 2, error_type: 'upstream_interrupted' });
  });
});

describe('timeout and retry settings', () => {
  it('uses the default, and says so once, for a value that is not a number in range', async () => {
    const warnings: string[] = [];
    const warn = vi.spyOn(console, 'warn').mockImplementation((message: unknown) => void warnings.push(String(message)));
    const odd = { UPSTREAM_FIRST_BYTE_TIMEOUT_MS: '0', UPSTREAM_CONNECT_TIMEOUT_MS: 'soon', UPSTREAM_RETRY_BASE_MS: '-5', FALLBACK_MODEL: 'none' };
    for (let i = 0; i < 2; i++) expect((await chat(`hi ${nonce()}`, { stream: i === 1, env: odd })).status).toBe(200);
    // Retries: 0 is a choice, a negative or absurd count is not.
    const retried = await chat(`upstream:status=503 ${nonce()}`, { env: { UPSTREAM_MAX_RETRIES: '1000', FALLBACK_MODEL: 'none' } });
    expect(retried.row).toMatchObject({ status: 503, attempts: DEFAULT_POLICY.maxRetries + 1 });
    expect((await chat(`upstream:status=503 ${nonce()}`, { env: { UPSTREAM_MAX_RETRIES: '0', FALLBACK_MODEL: 'none' } })).row).toMatchObject({ attempts: 1 });
    warn.mockRestore();
    for (const name of ['UPSTREAM_FIRST_BYTE_TIMEOUT_MS', 'UPSTREAM_CONNECT_TIMEOUT_MS', 'UPSTREAM_RETRY_BASE_MS', 'UPSTREAM_MAX_RETRIES']) {
      expect(
        warnings.filter((w) => w.startsWith(`${name}=`)),
        name,
      ).toHaveLength(1);
    }
  });
});

describe('embeddings', () => {
  const embed = async (input: string, env: Record<string, string> = {}) => {
    const call = await postJson(
      '/v1/embeddings',
      { model: 'openai/text-embedding-3-small', input },
      { apiKey: tenant.apiKey, env: { ...upstreamEnv(), ...env } },
    );
    const text = await call.response.text();
    await call.settled();
    const id = call.response.headers.get('x-request-id');
    return { status: call.response.status, headers: call.response.headers, text, row: await loggedRow(id), attempts: await attemptRows(id) };
  };

  it('are retried, every failed attempt on record, a cut-off answer included', async () => {
    const tag = nonce();
    const call = await embed(`upstream:first=${tag}:1:status=503 upstream:first=${tag}-cut:2:midstream-error hello`);
    expect(call.status).toBe(200);
    expect(call.row).toMatchObject({ status: 200, attempts: 3, endpoint: 'embeddings', model: 'openai/text-embedding-3-small' });
    expect(call.attempts.map((a) => [a.attempt, a.status, a.error_type])).toEqual([
      [1, 503, 'upstream_overloaded'],
      [2, 502, 'upstream_interrupted'],
    ]);
  });

  it('fall back to FALLBACK_EMBEDDINGS_MODEL when the model keeps failing, and have no fallback without it', async () => {
    const down = `upstream:if-model=text-embedding-3-small:status=503 ${nonce()}`;
    const call = await embed(down, { FALLBACK_EMBEDDINGS_MODEL: 'openai/text-embedding-3-large', UPSTREAM_MAX_RETRIES: '1' });
    expect(call.status).toBe(200);
    expect(call.headers.get('x-proxy-model')).toBe('openai/text-embedding-3-large');
    expect(call.headers.get('x-proxy-fallback-from')).toBe('openai/text-embedding-3-small');
    expect(call.row).toMatchObject({
      status: 200,
      attempts: 3,
      model: 'openai/text-embedding-3-large',
      route_reason: 'fallback:openai/text-embedding-3-small',
    });
    expect(call.attempts.map((a) => a.model)).toEqual(['openai/text-embedding-3-small', 'openai/text-embedding-3-small']);

    const none = await embed(down, { UPSTREAM_MAX_RETRIES: '0' });
    expect(none.status).toBe(503);
    expect(none.row).toMatchObject({ status: 503, attempts: 1, model: 'openai/text-embedding-3-small' });
  });
});
