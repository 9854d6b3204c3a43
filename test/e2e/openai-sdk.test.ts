/**
 * The proxy as a user meets it: `npm start`, then the official openai package pointed at it.
 * OpenAI and Anthropic are played by the fake upstream; the logged rows are read back through
 * the admin API and checked against the price table.
 */
import OpenAI, { APIError, AuthenticationError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILT_IN_MODELS, costNano } from '../../proxy/pricing/catalog';
import { startUpstreamServer, type UpstreamServer } from '../support/upstream-server';
import { startServer, type RunningServer } from './server';

let upstream: UpstreamServer;
let server: RunningServer;
let tenantId: string;
let client: OpenAI;

interface Row {
  id: string;
  model: string;
  status: number;
  stream: boolean;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  cache_write_tokens: number;
  cost_nano: number;
  usage_estimated: boolean;
  ttft_ms: number | null;
}

/** What each call reported to the client, by request id, to compare with the log. */
const reported = new Map<string, { model: string; prompt: number; completion: number; cached: number }>();

const admin = (path: string, init: RequestInit = {}) =>
  fetch(`${server.url}${path}`, { ...init, headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json', ...init.headers } });

beforeAll(async () => {
  upstream = await startUpstreamServer();
  server = await startServer({ upstreamUrl: upstream.url });
  const created = (await (await admin('/admin/tenants', { method: 'POST', body: JSON.stringify({ name: 'e2e' }) })).json()) as { id: string; api_key: string };
  tenantId = created.id;
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: created.api_key, maxRetries: 0 });
});

afterAll(async () => {
  await server?.stop();
  await upstream?.close();
});

describe('the openai SDK against npm start', () => {
  it('completes a plain call', async () => {
    const { data, response } = await client.chat.completions
      .create({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello' }] })
      .withResponse();
    expect(data.choices[0].message.content).toContain('Echo: Say hello');
    expect(response.headers.get('x-proxy-model')).toBe('openai/gpt-4o-mini');
    expect(Number(response.headers.get('x-proxy-cost-usd'))).toBeGreaterThan(0);
    reported.set(response.headers.get('x-request-id')!, {
      model: 'openai/gpt-4o-mini',
      prompt: data.usage!.prompt_tokens,
      completion: data.usage!.completion_tokens,
      cached: 0,
    });
  });

  it('streams without a usage chunk when none was asked for', async () => {
    const { data: stream, response } = await client.chat.completions
      .create({ model: 'openai/gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'Stream without usage' }] })
      .withResponse();
    let text = '';
    for await (const chunk of stream) {
      expect(chunk.usage ?? null).toBeNull();
      text += chunk.choices[0]?.delta?.content ?? '';
    }
    expect(text).toContain('Echo: Stream without usage');
    reported.set(response.headers.get('x-request-id')!, { model: 'openai/gpt-4o-mini', prompt: -1, completion: -1, cached: 0 });
  });

  it('streams with the usage chunk when asked, from OpenAI and from Anthropic', async () => {
    for (const model of ['openai/gpt-4o-mini', 'anthropic/claude-haiku-4-5']) {
      const { data: stream, response } = await client.chat.completions
        .create({ model, stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: `Stream with usage from ${model}` }] })
        .withResponse();
      let text = '';
      let usage: OpenAI.CompletionUsage | undefined;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta?.content ?? '';
        if (chunk.usage) usage = chunk.usage;
      }
      expect(text).toContain('Echo: Stream with usage');
      expect(usage!.prompt_tokens).toBeGreaterThan(0);
      expect(usage!.completion_tokens).toBeGreaterThan(0);
      reported.set(response.headers.get('x-request-id')!, {
        model,
        prompt: usage!.prompt_tokens,
        completion: usage!.completion_tokens,
        cached: usage!.prompt_tokens_details?.cached_tokens ?? 0,
      });
    }
  });

  it('serves the tier aliases and lists models', async () => {
    const reply = await client.chat.completions.create({ model: 'cheap', messages: [{ role: 'user', content: 'hi' }] });
    expect(reply.choices[0].message.content).toBeTruthy();
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(expect.arrayContaining(['cheap', 'expensive', 'openai/gpt-4o-mini']));
  });

  it('raises the SDK’s own errors: a bad key, an unknown model, a failure mid-stream', async () => {
    const stranger = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'sk-proxy-wrong', maxRetries: 0 });
    await expect(stranger.chat.completions.create({ model: 'cheap', messages: [{ role: 'user', content: 'hi' }] })).rejects.toBeInstanceOf(AuthenticationError);

    await expect(client.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }] })).rejects.toMatchObject({
      status: 404,
      code: 'model_not_found',
    });

    const stream = await client.chat.completions.create({
      model: 'openai/gpt-4o-mini',
      stream: true,
      messages: [{ role: 'user', content: 'upstream:midstream-error' }],
    });
    await expect(async () => {
      for await (const _ of stream) {
        // drain until the error event
      }
    }).rejects.toBeInstanceOf(APIError);
  });

  it('answers malformed JSON with a 400 in OpenAI shape', async () => {
    const res = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${client.apiKey}`, 'content-type': 'application/json' },
      body: '{"model": "cheap", "messages": [',
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { type: 'invalid_request_error', code: 'invalid_json' } });
  });

  it('logged every call, with the tokens the client saw and the cost from the price table', async () => {
    // Rows are written after the responses, in waitUntil: give the last ones a moment.
    let rows: Row[] = [];
    for (let i = 0; i < 50; i++) {
      const page = (await (await admin(`/admin/requests?tenant=${tenantId}&limit=100`)).json()) as { data: Row[] };
      rows = page.data;
      if (rows.length >= 8) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    // plain, stream, 2 streams with usage, mock, unknown model, mid-stream failure, bad JSON
    expect(rows).toHaveLength(8);
    expect(rows.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 200, 400, 404, 502]);

    for (const [id, seen] of reported) {
      const row = rows.find((r) => r.id === id)!;
      expect(row, id).toBeDefined();
      expect(row.model).toBe(seen.model);
      expect(row.usage_estimated).toBe(false);
      if (seen.prompt >= 0) {
        expect(row.prompt_tokens).toBe(seen.prompt);
        expect(row.completion_tokens).toBe(seen.completion);
        expect(row.cached_tokens).toBe(seen.cached);
      }
      const price = BUILT_IN_MODELS.find((m) => m.id === seen.model)!;
      const usage = {
        promptTokens: row.prompt_tokens,
        completionTokens: row.completion_tokens,
        cachedTokens: row.cached_tokens,
        cacheWriteTokens: row.cache_write_tokens,
      };
      expect(row.cost_nano).toBe(costNano(usage, price));
      expect(row.cost_nano).toBeGreaterThan(0);
      if (row.stream) expect(row.ttft_ms).not.toBeNull();
    }
  });
});
