/**
 * Tier routing and the response cache as an app sees them: the openai SDK against npm start,
 * with the cheap tier on (fake) OpenAI and the expensive tier on (fake) Anthropic.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startUpstreamServer, type UpstreamServer } from '../support/upstream-server';
import { startServer, type RunningServer } from './server';

let upstream: UpstreamServer;
let server: RunningServer;
let client: OpenAI;

const received = (text: string) => upstream.requests.filter((r) => r.rawBody.includes(text));

beforeAll(async () => {
  upstream = await startUpstreamServer();
  server = await startServer({ upstreamUrl: upstream.url, vars: { CHEAP_MODEL: 'openai/gpt-4o-mini', EXPENSIVE_MODEL: 'anthropic/claude-sonnet-4-5' } });
  const res = await fetch(`${server.url}/admin/tenants`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'routing-e2e' }),
  });
  const { api_key } = (await res.json()) as { api_key: string };
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: api_key, maxRetries: 0 });
});

afterAll(async () => {
  await server?.stop();
  await upstream?.close();
});

it('routes auto + x-task: classify to the cheap model upstream', async () => {
  const { data, response } = await client.chat.completions
    .create({ model: 'auto', messages: [{ role: 'user', content: 'Is this spam? e2e-classify' }] }, { headers: { 'x-task': 'classify' } })
    .withResponse();
  expect(data.choices[0].message.content).toContain('Echo:');
  expect(response.headers.get('x-proxy-tier')).toBe('cheap');
  const [sent] = received('e2e-classify');
  expect(sent.path).toBe('/v1/chat/completions');
  expect(sent.body.model).toBe('gpt-4o-mini');
});

it('routes auto + x-task: reason to the expensive model on Anthropic, streamed', async () => {
  const { data: stream, response } = await client.chat.completions
    .create({ model: 'auto', stream: true, messages: [{ role: 'user', content: 'Why is the sky blue? e2e-reason' }] }, { headers: { 'x-task': 'reason' } })
    .withResponse();
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
  expect(text).toContain('Echo: Why is the sky blue?');
  expect(response.headers.get('x-proxy-model')).toBe('anthropic/claude-sonnet-4-5');
  const [sent] = received('e2e-reason');
  expect(sent.path).toBe('/v1/messages');
  expect(sent.body.model).toBe('claude-sonnet-4-5');
});

it('answers the second identical temperature-0 call without reaching the upstream', async () => {
  const ask = () =>
    client.chat.completions.create({ model: 'cheap', temperature: 0, messages: [{ role: 'user', content: 'What is 2+2? e2e-cache' }] }).withResponse();
  const first = await ask();
  expect(first.response.headers.get('x-proxy-cache')).toBe('MISS');
  // The entry is written just after the first response is sent (ctx.waitUntil).
  await new Promise((resolve) => setTimeout(resolve, 500));
  const second = await ask();
  expect(second.response.headers.get('x-proxy-cache')).toBe('HIT');
  expect(second.response.headers.get('x-proxy-cost-usd')).toBe('0.000000000');
  expect(second.data.choices[0].message.content).toBe(first.data.choices[0].message.content);
  expect(received('e2e-cache')).toHaveLength(1);
});
