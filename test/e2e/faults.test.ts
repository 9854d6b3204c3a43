/**
 * Faults through the real server (`npm start`) with the official openai SDK: an upstream that
 * fails and recovers, a routed model that is down, a client that gives up on a slow call, and
 * what the request log and the admin API make of each.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstreamServer, type UpstreamServer } from '../support/upstream-server';
import { startServer, type RunningServer } from './server';

let upstream: UpstreamServer;
let server: RunningServer;
let client: OpenAI;
let tenantId: string;

const admin = async <T>(path: string) =>
  (await (await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${server.adminToken}` } })).json()) as T;
const nonce = () => `n-${crypto.randomUUID().slice(0, 12)}`;

interface Detail {
  status: number;
  attempts: number;
  model: string;
  error_type: string | null;
  usage_estimated: boolean;
  failed_attempts: { attempt: number; model: string; status: number }[];
}

beforeAll(async () => {
  upstream = await startUpstreamServer();
  // Short backoffs keep the run quick; the behaviour is the default one.
  server = await startServer({ upstreamUrl: upstream.url, vars: { UPSTREAM_RETRY_BASE_MS: '20' } });
  const created = (await (
    await fetch(`${server.url}/admin/tenants`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'faults' }),
    })
  ).json()) as { id: string; api_key: string };
  tenantId = created.id;
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: created.api_key, maxRetries: 0 });
});

afterAll(async () => {
  await server?.stop();
  await upstream?.close();
});

describe('upstream faults, end to end', () => {
  it('retries an upstream that fails twice, and the SDK never sees the failures', async () => {
    const tag = nonce();
    const { data, response } = await client.chat.completions
      .create({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: `upstream:first=${tag}:2:status=503 hi` }] })
      .withResponse();
    expect(data.choices[0].message.content).toContain('Echo');
    expect(response.headers.get('x-proxy-attempts')).toBe('3');
    const detail = await admin<Detail>(`/admin/requests/${response.headers.get('x-request-id')}`);
    expect(detail).toMatchObject({ status: 200, attempts: 3 });
    expect(detail.failed_attempts.map((a) => a.status)).toEqual([503, 503]);
  });

  it('falls back to the other tier, plain and streamed, when the routed model is down', async () => {
    const down = `upstream:if-model=gpt-4o-mini:status=502 ${nonce()}`;
    const { response } = await client.chat.completions.create({ model: 'cheap', messages: [{ role: 'user', content: down }] }).withResponse();
    expect([response.headers.get('x-proxy-model'), response.headers.get('x-proxy-fallback-from')]).toEqual(['openai/gpt-4o', 'openai/gpt-4o-mini']);
    const stream = await client.chat.completions.create({ model: 'cheap', stream: true, messages: [{ role: 'user', content: down }] });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    expect(text).toContain('Echo');
  });

  // With include_usage the stream is passed through as the upstream sends it (pass-through-stream.ts); without, re-framed.
  it.each([false, true])('meters a stream the client abandons to its end, and bills its real usage (include_usage %s)', async (includeUsage) => {
    const abandoned = async () =>
      (
        await admin<{ data: { status: number; error_type: string; stream: boolean; usage_estimated: boolean; completion_tokens: number }[] }>(
          `/admin/requests?tenant=${tenantId}&status=499`,
        )
      ).data;
    const before = (await abandoned()).length;
    const tag = nonce();
    const controller = new AbortController();
    const stream = await client.chat.completions.create(
      {
        model: 'openai/gpt-4o-mini',
        stream: true,
        stream_options: { include_usage: includeUsage },
        messages: [{ role: 'user', content: `upstream:chunk-delay=200 ${tag} write a long essay` }],
      },
      { signal: controller.signal },
    );
    const chunks = stream[Symbol.asyncIterator]();
    await chunks.next();
    await chunks.next();
    controller.abort();
    // The proxy reads on after the client left (UPSTREAM_ABANDONED_METER_MS): the upstream's own usage is the bill.
    await expect.poll(async () => (await abandoned()).length, { timeout: 15_000 }).toBe(before + 1);
    const [row] = await abandoned();
    expect(row).toMatchObject({ status: 499, error_type: 'client_closed', stream: true, usage_estimated: false });
    expect(row.completion_tokens).toBeGreaterThan(0);
  });

  it('still logs a plain call the client gives up on', async () => {
    // workerd notices a client that went away only when it writes to it, so locally a plain
    // call runs to its end and is logged as answered; deployed, request.signal cancels it and
    // the row says 499 (the Workers-runtime suite covers that path).
    const rows = async () => (await admin<{ data: { status: number }[] }>(`/admin/requests?tenant=${tenantId}&limit=100`)).data;
    const before = (await rows()).length;
    const tag = nonce();
    const controller = new AbortController();
    const pending = client.chat.completions.create(
      { model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: `upstream:slow=1500 ${tag}` }] },
      { signal: controller.signal },
    );
    await expect.poll(async () => (await (await fetch(`${upstream.url}/__requests?contains=${tag}`)).json()).length, { timeout: 10_000 }).toBe(1);
    controller.abort();
    await expect(pending).rejects.toThrow();
    await expect.poll(async () => (await rows()).length, { timeout: 10_000 }).toBe(before + 1);
    expect([200, 499]).toContain((await rows())[0].status);
  });
});
