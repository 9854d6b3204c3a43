/**
 * The Workers AI provider through the real proxy. The `AI` binding has no local emulation, so a
 * stand-in binding plays Cloudflare's service here, as the fake HTTP upstream plays OpenAI's: it
 * records what it was asked and answers in Workers AI's shapes ({ response, usage } objects, or an
 * SSE stream of them ending with [DONE]).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { BUILT_IN_MODELS, costNano } from '../../proxy/pricing/catalog';
import { createTestTenant, loggedRow, type TestTenant } from './fixtures';
import { nonce, postJson, readSse } from './harness';

const MODEL = 'workers-ai/@cf/meta/llama-3.1-8b-instruct';
const PRICE = BUILT_IN_MODELS.find((m) => m.id === MODEL)!;
let tenant: TestTenant;

beforeAll(async () => {
  tenant = await createTestTenant();
});

/** An SSE body of `events` (each a data line), cut where the list ends. */
function sse(events: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const data of events) controller.enqueue(encoder.encode(`data: ${data}\n\n`));
      controller.close();
    },
  });
}

/** A stand-in `AI` binding answering every run with `answer`, keeping what it was asked. */
function standInAi(answer: unknown) {
  const runs: { model: string; inputs: Record<string, unknown> }[] = [];
  const ai = { run: async (model: string, inputs: Record<string, unknown>) => (runs.push({ model, inputs }), answer) } as unknown as Ai;
  return { ai, runs };
}

const chat = (body: Record<string, unknown>, ai: Ai) => postJson('/v1/chat/completions', { model: MODEL, ...body }, { apiKey: tenant.apiKey, env: { AI: ai } });

describe('Workers AI, plain', () => {
  it('sends the messages and limits it understands, answers in OpenAI shape and logs the priced usage', async () => {
    const { ai, runs } = standInAi({ response: 'Hello there.', usage: { prompt_tokens: 12, completion_tokens: 3 } });
    const call = await chat({ messages: [{ role: 'user', content: `hi ${nonce()}` }], max_tokens: 50, temperature: 0.2 }, ai);
    expect(call.response.status).toBe(200);
    const body = (await call.response.json()) as {
      model: string;
      choices: { message: { content: string }; finish_reason: string }[];
      usage: { prompt_tokens: number; completion_tokens: number };
    };
    expect(body.choices[0]).toMatchObject({ message: { content: 'Hello there.' }, finish_reason: 'stop' });
    expect(body.usage).toMatchObject({ prompt_tokens: 12, completion_tokens: 3 });
    expect(runs[0].model).toBe('@cf/meta/llama-3.1-8b-instruct');
    expect(runs[0].inputs).toMatchObject({ max_tokens: 50, temperature: 0.2, stream: false });

    await call.settled();
    const row = await loggedRow(call.response.headers.get('x-request-id'));
    expect(row).toMatchObject({ status: 200, model: MODEL, prompt_tokens: 12, completion_tokens: 3 });
    expect(row!.cost_nano).toBe(costNano({ promptTokens: 12, completionTokens: 3, cachedTokens: 0, cacheWriteTokens: 0 }, PRICE));
  });
});

describe('Workers AI, streamed', () => {
  it('turns its events into OpenAI chunks with the usage at the end', async () => {
    const usage = { prompt_tokens: 9, completion_tokens: 2 };
    const { ai } = standInAi(sse([JSON.stringify({ response: 'Hel' }), JSON.stringify({ response: 'lo' }), JSON.stringify({ response: '', usage }), '[DONE]']));
    const call = await chat({ stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: `hi ${nonce()}` }] }, ai);
    const events = await readSse(call.response);
    expect(events.at(-1)!.data).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.data));
    expect(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('')).toBe('Hello');
    expect(chunks.at(-1).usage).toMatchObject(usage);
    await call.settled();
    expect(await loggedRow(call.response.headers.get('x-request-id'))).toMatchObject({
      status: 200,
      prompt_tokens: 9,
      completion_tokens: 2,
      usage_estimated: 0,
    });
  });

  it('ends with an error event, and logs a 502, when its stream is cut off before [DONE]', async () => {
    const { ai } = standInAi(sse([JSON.stringify({ response: 'Once' }), JSON.stringify({ response: ' upon' })]));
    const call = await chat({ stream: true, messages: [{ role: 'user', content: `a story ${nonce()}` }] }, ai);
    const events = await readSse(call.response);
    expect(events.some((e) => e.data === '[DONE]')).toBe(false);
    expect(JSON.parse(events.at(-1)!.data).error).toMatchObject({ type: 'upstream_error', code: 'upstream_stream_incomplete' });
    await call.settled();
    expect(await loggedRow(call.response.headers.get('x-request-id'))).toMatchObject({
      status: 502,
      error_type: 'upstream_stream_incomplete',
      usage_estimated: 1,
    });
  });

  it('ends with an error event when an event is not a JSON object', async () => {
    const { ai } = standInAi(sse([JSON.stringify({ response: 'Fine' }), 'not json', '[DONE]']));
    const call = await chat({ stream: true, messages: [{ role: 'user', content: `hi ${nonce()}` }] }, ai);
    const events = await readSse(call.response);
    expect(JSON.parse(events.at(-1)!.data).error).toMatchObject({ type: 'upstream_error', code: 'upstream_bad_response' });
    await call.settled();
    expect(await loggedRow(call.response.headers.get('x-request-id'))).toMatchObject({ status: 502, error_type: 'upstream_bad_response' });
  });
});
