/**
 * The fake upstream's Responses API, checked with the official openai package pointed straight at
 * it (no proxy, no `npm start`: this file never calls startServer), plus the raw SSE for what the
 * SDK hides (sequence numbers, markers that end a stream early).
 */
import OpenAI, { APIError, NotFoundError } from 'openai';
import type { ResponseFunctionToolCall, ResponseStreamEvent, Tool } from 'openai/resources/responses/responses';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstreamServer, type UpstreamServer } from '../support/upstream-server';

let upstream: UpstreamServer;
let client: OpenAI;

const weatherTool: Tool = {
  type: 'function',
  name: 'get_weather',
  description: 'Current weather',
  strict: true,
  parameters: {
    type: 'object',
    properties: { city: { type: 'string' }, celsius: { type: 'boolean' } },
    required: ['city', 'celsius'],
    additionalProperties: false,
  },
};

beforeAll(async () => {
  upstream = await startUpstreamServer();
  client = new OpenAI({ baseURL: `${upstream.url}/v1`, apiKey: 'x', maxRetries: 0 });
});

afterAll(async () => {
  await upstream?.close();
});

/** POSTs a streamed request and returns the SSE events (event name + parsed data) and the raw text. */
async function rawStream(body: Record<string, unknown>) {
  const res = await fetch(`${upstream.url}/v1/responses`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...body, stream: true }),
  });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const text = await res.text();
  const events = text
    .split('\n\n')
    .filter((block) => block.trim() && !block.startsWith(':'))
    .map((block) => {
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = JSON.parse(/^data: (.*)$/m.exec(block)![1]);
      return { event, data };
    });
  return { text, events };
}

describe('the fake upstream plays the Responses API for the openai SDK', () => {
  it('answers a plain call with the echo, usage and echoed settings', async () => {
    const response = await client.responses.create({
      model: 'gpt-4o-mini',
      instructions: 'Be brief.',
      input: 'Say hello to the responses fake',
      temperature: 0.5,
      metadata: { run: 'a' },
    });
    expect(response.id).toMatch(/^resp_/);
    expect(response.object).toBe('response');
    expect(response.status).toBe('completed');
    expect(response.model).toBe('gpt-4o-mini');
    expect(response.output_text).toBe('Echo: Say hello to the responses fake');
    expect(response.output).toHaveLength(1);
    expect(response.output[0]).toMatchObject({ type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', annotations: [] }] });
    expect(response.output[0].id).toMatch(/^msg_/);
    // ceil((9 + 31) / 4) + 3 * 2 messages = 16; 7 words.
    expect(response.usage).toEqual({
      input_tokens: 16,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: 7,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 23,
    });
    expect(response).toMatchObject({
      instructions: 'Be brief.',
      temperature: 0.5,
      metadata: { run: 'a' },
      error: null,
      incomplete_details: null,
      store: true,
      tools: [],
    });
  });

  it('streams the same answer, events numbered from 0, no [DONE]', async () => {
    const stream = client.responses.stream({
      model: 'gpt-4o-mini',
      input: [{ role: 'user', content: [{ type: 'input_text', text: 'Stream this back please' }] }],
    });
    const types: string[] = [];
    stream.on('event', (e: ResponseStreamEvent) => types.push(e.type));
    const response = await stream.finalResponse();
    expect(response.output_text).toBe('Echo: Stream this back please');
    expect(response.status).toBe('completed');
    expect(response.usage?.output_tokens).toBe(5);
    expect(types).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      ...Array(5).fill('response.output_text.delta'),
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);

    const { text, events } = await rawStream({ model: 'gpt-4o-mini', input: 'Stream this back please' });
    expect(text).not.toContain('[DONE]');
    expect(events.map((e) => e.data.sequence_number)).toEqual(events.map((_, i) => i));
    for (const e of events) expect(e.event).toBe(e.data.type);
    expect(events[0].data.response).toMatchObject({ status: 'in_progress', output: [], usage: null });
  });

  it('runs a two-turn function call with previous_response_id, plain and streamed', async () => {
    for (const streamed of [false, true]) {
      const params = { model: 'gpt-4.1-mini', tools: [weatherTool], input: 'What is the weather in Paris?' };
      const first = streamed ? await client.responses.stream(params).finalResponse() : await client.responses.create(params);
      expect(first.output).toHaveLength(1);
      const call = first.output[0] as ResponseFunctionToolCall;
      expect(call).toMatchObject({ type: 'function_call', name: 'get_weather', status: 'completed' });
      expect(call.id).toMatch(/^fc_/);
      expect(call.call_id).toMatch(/^call_/);
      expect(JSON.parse(call.arguments)).toEqual({ city: 'Paris', celsius: true });
      expect(first.output_text).toBe('');

      const secondParams = {
        model: 'gpt-4.1-mini',
        tools: [weatherTool],
        previous_response_id: first.id,
        input: [{ type: 'function_call_output' as const, call_id: call.call_id, output: '{"temp":21}' }],
      };
      const second = streamed ? await client.responses.stream(secondParams).finalResponse() : await client.responses.create(secondParams);
      expect(second.output_text).toBe('Echo: {"temp":21}');
      expect(second.previous_response_id).toBe(first.id);
      expect(second.usage!.input_tokens).toBeGreaterThan(first.usage!.input_tokens);
    }
  });

  it('reports reasoning for reasoning models and requests', async () => {
    const byModel = await client.responses.create({ model: 'o4-mini', input: 'Think about it' });
    expect(byModel.output.map((o) => o.type)).toEqual(['reasoning', 'message']);
    expect(byModel.output[0].id).toMatch(/^rs_/);
    expect(byModel.usage).toMatchObject({ output_tokens: 4 + 16, output_tokens_details: { reasoning_tokens: 16 } });

    const byRequest = await client.responses.stream({ model: 'gpt-4.1', reasoning: { effort: 'low' }, input: 'Think about it' }).finalResponse();
    expect(byRequest.output.map((o) => o.type)).toEqual(['reasoning', 'message']);
    expect(byRequest.output_text).toBe('Echo: Think about it');
    expect(byRequest.reasoning).toEqual({ effort: 'low' });
    expect(byRequest.usage?.output_tokens_details.reasoning_tokens).toBe(16);
  });

  it('caches a long instructions prefix', async () => {
    const response = await client.responses.create({ model: 'gpt-4o-mini', instructions: 'x'.repeat(5000), input: 'hi' });
    expect(response.usage?.input_tokens_details.cached_tokens).toBe(1152);
  });

  it('truncates at max_output_tokens: incomplete, plain and streamed', async () => {
    const plain = await client.responses.create({ model: 'gpt-4o-mini', input: 'one two three four five', max_output_tokens: 3 });
    expect(plain.status).toBe('incomplete');
    expect(plain.incomplete_details).toEqual({ reason: 'max_output_tokens' });
    expect(plain.output_text).toBe('Echo: one two');
    expect(plain.usage?.output_tokens).toBe(3);

    const streamed = await client.responses.stream({ model: 'gpt-4o-mini', input: 'one two three four five', max_output_tokens: 3 }).finalResponse();
    expect(streamed.status).toBe('incomplete');
    expect(streamed.output_text).toBe('Echo: one two');
    const { events } = await rawStream({ model: 'gpt-4o-mini', input: 'one two three four five', max_output_tokens: 3 });
    expect(events.at(-1)!.data).toMatchObject({ type: 'response.incomplete', response: { usage: { output_tokens: 3 } } });
  });

  it('keeps responses: retrieve, delete, unknown previous_response_id', async () => {
    const created = await client.responses.create({ model: 'gpt-4o-mini', input: 'keep me' });
    const retrieved = await client.responses.retrieve(created.id);
    expect(retrieved.output_text).toBe('Echo: keep me');
    const raw = await (await fetch(`${upstream.url}/v1/responses/${created.id}`, { method: 'DELETE' })).json();
    expect(raw).toEqual({ id: created.id, object: 'response', deleted: true });
    await expect(client.responses.retrieve(created.id)).rejects.toBeInstanceOf(NotFoundError);

    const err = await client.responses.create({ model: 'gpt-4o-mini', input: 'hi', previous_response_id: 'resp_nope' }).catch((e) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.error).toMatchObject({ type: 'invalid_request_error', param: 'previous_response_id', code: 'previous_response_not_found' });

    const unstored = await client.responses.create({ model: 'gpt-4o-mini', input: 'forget me', store: false });
    await expect(client.responses.retrieve(unstored.id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('honours the markers', async () => {
    const limited = await client.responses.create({ model: 'gpt-4o-mini', input: 'upstream:status=429' }).catch((e) => e);
    expect(limited).toBeInstanceOf(APIError);
    expect(limited.status).toBe(429);

    // midstream-error: the SDK throws on the error event; the raw stream ends with response.failed.
    const failing = client.responses.stream({ model: 'gpt-4o-mini', input: 'break upstream:midstream-error now' });
    await expect(failing.finalResponse()).rejects.toBeInstanceOf(APIError);
    const failed = await rawStream({ model: 'gpt-4o-mini', input: 'break upstream:midstream-error now' });
    const tail = failed.events.slice(-2).map((e) => e.data);
    expect(tail[0]).toMatchObject({ type: 'error', code: 'server_error' });
    expect(tail[1]).toMatchObject({ type: 'response.failed', response: { status: 'failed', error: { code: 'server_error' }, usage: { output_tokens: 2 } } });
    expect(tail[1].response.usage.input_tokens).toBeGreaterThan(0);
    expect(failed.events.map((e) => e.data.sequence_number)).toEqual(failed.events.map((_, i) => i));

    // cut: no terminal event at all.
    const cut = await rawStream({ model: 'gpt-4o-mini', input: 'lose me upstream:cut' });
    expect(cut.events.at(-1)!.event).toBe('response.output_item.done');
    expect(cut.events.some((e) => /^response\.(completed|incomplete|failed)$/.test(e.event!))).toBe(false);

    // sse-comment: a keep-alive comment the SDK skips.
    const commented = await rawStream({ model: 'gpt-4o-mini', input: 'upstream:sse-comment' });
    expect(commented.text).toContain(': keep-alive\n\n');
    const viaSdk = await client.responses.stream({ model: 'gpt-4o-mini', input: 'upstream:sse-comment' }).finalResponse();
    expect(viaSdk.status).toBe('completed');

    // first=: fail once, then succeed (answers without /v1 too).
    const once = { model: 'gpt-4o-mini', input: 'upstream:first=resp-once:1:status=503' };
    const post = () => fetch(`${upstream.url}/responses`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(once) });
    expect((await post()).status).toBe(503);
    expect((await post()).status).toBe(200);
    expect(upstream.requests.filter((r) => r.path === '/responses' && r.rawBody.includes('resp-once'))).toHaveLength(2);
  });
});
