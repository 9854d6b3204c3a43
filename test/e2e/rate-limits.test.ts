/**
 * Rate limits as the openai SDK meets them: a tenant with rpm 3 gets RateLimitError on its
 * fourth call (with retries off), while another tenant is untouched; with retries on, the SDK
 * reads retry-after and succeeds once the bucket refills.
 */
import OpenAI, { RateLimitError } from 'openai';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startServer, type RunningServer } from './server';

let server: RunningServer;

async function tenantClient(settings: Record<string, unknown>, maxRetries = 0): Promise<OpenAI> {
  const res = await fetch(`${server.url}/admin/tenants`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: `e2e-${Math.random().toString(36).slice(2, 8)}`, ...settings }),
  });
  const { api_key } = (await res.json()) as { api_key: string };
  return new OpenAI({ baseURL: `${server.url}/v1`, apiKey: api_key, maxRetries });
}

const hello = { model: 'cheap', messages: [{ role: 'user' as const, content: 'hello' }] };

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  await server?.stop();
});

it('gives RateLimitError on the fourth call of an rpm-3 tenant, and leaves other tenants alone', async () => {
  const limited = await tenantClient({ rpm: 3 });
  const other = await tenantClient({ rpm: 3 });
  for (let i = 0; i < 3; i++) {
    const { response } = await limited.chat.completions.create(hello).withResponse();
    expect(response.headers.get('x-ratelimit-remaining-requests')).toBe(String(2 - i));
  }
  const error = await limited.chat.completions.create(hello).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(RateLimitError);
  expect((error as RateLimitError).code).toBe('rate_limit_exceeded');
  expect(Number((error as RateLimitError).headers?.get('retry-after'))).toBeGreaterThan(0);

  for (let i = 0; i < 3; i++) await expect(other.chat.completions.create(hello)).resolves.toBeTruthy();
});

it('holds exact limits for a tenant on the Durable Object store', async () => {
  const exact = await tenantClient({ rpm: 2, rate_limit_store: 'durable-object' });
  await exact.chat.completions.create(hello);
  await exact.chat.completions.create(hello);
  await expect(exact.chat.completions.create(hello)).rejects.toBeInstanceOf(RateLimitError);
});

it('lets the SDK retry after retry-after and succeed', async () => {
  // rpm 60: one request refills every second, so the SDK's own retry succeeds quickly.
  const retrying = await tenantClient({ rpm: 60 }, 3);
  const burst = await Promise.all(
    Array.from({ length: 61 }, () =>
      retrying.chat.completions.create(hello).then(
        () => 'ok',
        (e: unknown) => e,
      ),
    ),
  );
  expect(burst.filter((r) => r === 'ok')).toHaveLength(61);
});
