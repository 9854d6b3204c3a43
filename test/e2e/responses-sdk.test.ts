/**
 * The Responses API as a user meets it: `npm start`, then the official openai package (and the
 * OpenAI Agents SDK on top of it) pointed at the proxy. OpenAI is played by the fake upstream's
 * /v1/responses (native: the body is forwarded), Anthropic by its /v1/messages (translated both
 * ways). What reached the upstream is read back from the fake's recording, what was billed from
 * the request log through the admin API.
 */
import { randomUUID } from 'node:crypto';
import { Agent, run, setDefaultOpenAIClient, setOpenAIAPI, setTracingDisabled, tool } from '@openai/agents';
import OpenAI, { BadRequestError, NotFoundError } from 'openai';
import type { FunctionTool, Response, ResponseFunctionToolCall, ResponseStreamEvent } from 'openai/resources/responses/responses';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startUpstreamServer, type RecordedRequest, type UpstreamServer } from '../support/upstream-server';
import { adminClient } from './admin-client';
import { startServer, type RunningServer } from './server';

const OPENAI_MODEL = 'openai/gpt-4o-mini';
const ANTHROPIC_MODEL = 'anthropic/claude-haiku-4-5';

let upstream: UpstreamServer;
let server: RunningServer;
const { admin, createTenant, rowsOf } = adminClient(() => server);
let tenantId: string;
let client: OpenAI;

interface Row {
  id: string;
  tenant_id: string;
  endpoint: string;
  model: string;
  provider: string;
  tier: string | null;
  status: number;
  stream: boolean;
  prompt_tokens: number;
  completion_tokens: number;
  cost_nano: number;
}

/** What each plain call told the client, by request id, to compare with its log row. */
const reported = new Map<string, { model: string; costUsd: string; input: number; output: number }>();
/** What each streamed call's final response said, to compare with its log row. */
const streamed = new Map<string, { input: number; output: number }>();

/** The fake upstream's recording of the requests whose raw body contains `text`. */
const recorded = (text: string, path?: string): RecordedRequest[] =>
  upstream.requests.filter((r) => r.rawBody.includes(text) && (path === undefined || r.path === path));

const nonce = () => randomUUID().slice(0, 8);

const weatherTool: FunctionTool = {
  type: 'function',
  name: 'get_weather',
  description: 'The current weather in a city',
  strict: true,
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false },
};

beforeAll(async () => {
  upstream = await startUpstreamServer();
  server = await startServer({
    upstreamUrl: upstream.url,
    vars: { CHEAP_MODEL: OPENAI_MODEL, EXPENSIVE_MODEL: ANTHROPIC_MODEL },
  });
  const tenant = await createTenant({ name: 'responses-sdk' });
  tenantId = tenant.id;
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: tenant.api_key, maxRetries: 0 });
});

afterAll(async () => {
  await server?.stop();
  await upstream?.close();
});

describe.each([
  { provider: 'openai', model: OPENAI_MODEL, upstreamPath: '/v1/responses', native: true },
  { provider: 'anthropic', model: ANTHROPIC_MODEL, upstreamPath: '/v1/messages', native: false },
])('the openai SDK’s Responses API through npm start, $model', ({ model, upstreamPath, native }) => {
  it('creates a response: output_text, usage, the proxy’s headers', async () => {
    const id = nonce();
    const { data, response } = await client.responses.create({ model, instructions: 'Be brief.', input: `Say hello ${id}` }).withResponse();
    expect(data.object).toBe('response');
    expect(data.id).toMatch(/^resp_/);
    expect(data.status).toBe('completed');
    expect(data.output_text).toBe(`Echo: Say hello ${id}`);
    expect(data.output).toHaveLength(1);
    expect(data.output[0]).toMatchObject({ type: 'message', role: 'assistant', status: 'completed' });
    // "Echo: Say hello <id>" is 4 words; the fake counts one output token a word.
    expect(data.usage!.output_tokens).toBe(4);
    expect(data.usage!.input_tokens).toBeGreaterThan(0);
    expect(data.usage!.total_tokens).toBe(data.usage!.input_tokens + data.usage!.output_tokens);

    expect(response.headers.get('x-proxy-model')).toBe(model);
    expect(response.headers.get('x-proxy-route-reason')).toBe('model');
    const cost = response.headers.get('x-proxy-cost-usd')!;
    expect(Number(cost)).toBeGreaterThan(0);
    reported.set(response.headers.get('x-request-id')!, { model, costUsd: cost, input: data.usage!.input_tokens, output: data.usage!.output_tokens });

    // Native: the body the client sent, at /v1/responses; translated: a Messages request.
    const [sent] = recorded(`Say hello ${id}`);
    expect(sent.path).toBe(upstreamPath);
    if (native) {
      expect(sent.body).toMatchObject({ model: 'gpt-4o-mini', instructions: 'Be brief.', input: `Say hello ${id}` });
    } else {
      expect(sent.body).toMatchObject({ model: 'claude-haiku-4-5', messages: [{ role: 'user' }] });
      expect(JSON.stringify(sent.body.system)).toContain('Be brief.');
      expect(JSON.stringify(sent.body.messages[0].content)).toContain(`Say hello ${id}`);
      // Anthropic counts input without the instructions' share the same way: the usage is what it reported.
      expect(data.usage!.input_tokens).toBe(Math.ceil((`Say hello ${id}`.length + 'Be brief.'.length) / 4) + 3);
    }
  });

  it('streams a response: every event in order, and finalResponse()', async () => {
    const id = nonce();
    const stream = client.responses.stream({ model, input: `Stream a few words please ${id}` });
    const events: ResponseStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    const final: Response = await stream.finalResponse();

    const expected = `Echo: Stream a few words please ${id}`;
    expect(final.status).toBe('completed');
    expect(final.output_text).toBe(expected);
    expect(final.id).toMatch(/^resp_/);
    expect(final.usage!.output_tokens).toBe(expected.split(' ').length);
    expect(final.usage!.input_tokens).toBeGreaterThan(0);

    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    // Consecutive deltas as one, the rest exactly in OpenAI's order.
    const kinds = events.map((e) => e.type).filter((type, i, all) => type !== 'response.output_text.delta' || all[i - 1] !== type);
    expect(kinds).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    const deltas = events.filter((e) => e.type === 'response.output_text.delta');
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.map((e) => e.delta).join('')).toBe(expected);
    const done = events.find((e) => e.type === 'response.output_text.done')!;
    expect(done).toMatchObject({ text: expected });
    const created = events[0] as Extract<ResponseStreamEvent, { type: 'response.created' }>;
    expect(created.response).toMatchObject({ id: final.id, status: 'in_progress' });
    const completed = events.at(-1) as Extract<ResponseStreamEvent, { type: 'response.completed' }>;
    expect(completed.response.usage).toEqual(final.usage);

    expect(recorded(`Stream a few words please ${id}`)[0].path).toBe(upstreamPath);
    streamed.set(model, { input: final.usage!.input_tokens, output: final.usage!.output_tokens });
  });

  it('calls a function tool over two turns: previous_response_id and a function_call_output', async () => {
    const id = nonce();
    const first = await client.responses.create({ model, input: `What is the weather in Paris? ${id}`, tools: [weatherTool] });
    const call = first.output.find((item): item is ResponseFunctionToolCall => item.type === 'function_call')!;
    expect(call).toBeDefined();
    expect(call.name).toBe('get_weather');
    expect(JSON.parse(call.arguments)).toEqual({ city: 'Paris' });
    expect(call.call_id).toBeTruthy();
    expect(first.output_text).not.toContain('Echo');

    const { data: second, response } = await client.responses
      .create({
        model,
        previous_response_id: first.id,
        input: [{ type: 'function_call_output', call_id: call.call_id, output: '{"temp":21}' }],
        tools: [weatherTool],
      })
      .withResponse();
    expect(second.output_text).toBe('Echo: {"temp":21}');
    expect(second.previous_response_id).toBe(first.id);
    // The first turn's conversation came along: the second turn reads more input.
    expect(second.usage!.input_tokens).toBeGreaterThan(first.usage!.input_tokens);
    reported.set(response.headers.get('x-request-id')!, {
      model,
      costUsd: response.headers.get('x-proxy-cost-usd')!,
      input: second.usage!.input_tokens,
      output: second.usage!.output_tokens,
    });

    if (native) {
      // The upstream keeps the conversation: the proxy forwards the id, to the model that made it.
      const [sent] = recorded(first.id, '/v1/responses');
      expect(sent.body).toMatchObject({
        model: 'gpt-4o-mini',
        previous_response_id: first.id,
        input: [{ type: 'function_call_output', call_id: call.call_id }],
      });
    } else {
      // The proxy keeps it: the upstream gets the whole conversation, tool_use and tool_result paired.
      const sent = recorded(`What is the weather in Paris? ${id}`, '/v1/messages');
      expect(sent).toHaveLength(2);
      const messages = sent[1].body.messages as Array<{ role: string; content: unknown }>;
      expect(messages[0]).toMatchObject({ role: 'user' });
      expect(JSON.stringify(messages[0].content)).toContain(`What is the weather in Paris? ${id}`);
      expect(messages[1]).toMatchObject({
        role: 'assistant',
        content: expect.arrayContaining([expect.objectContaining({ type: 'tool_use', id: call.call_id, name: 'get_weather', input: { city: 'Paris' } })]),
      });
      expect(messages[2]).toMatchObject({ role: 'user', content: [expect.objectContaining({ type: 'tool_result', tool_use_id: call.call_id })] });
      expect(JSON.stringify(messages[2].content)).toContain('{\\"temp\\":21}');
    }
  });

  it('retrieves and deletes a response', async () => {
    const id = nonce();
    const created = await client.responses.create({ model, input: `Keep this one ${id}` });
    const retrieved = await client.responses.retrieve(created.id);
    expect(retrieved.id).toBe(created.id);
    expect(retrieved.status).toBe('completed');
    expect(retrieved.output).toEqual(created.output);
    expect(retrieved.output_text).toBe(`Echo: Keep this one ${id}`);
    expect(retrieved.usage).toEqual(created.usage);

    await client.responses.delete(created.id);
    await expect(client.responses.retrieve(created.id)).rejects.toBeInstanceOf(NotFoundError);
    // A deleted response cannot be continued either.
    await expect(client.responses.create({ model, previous_response_id: created.id, input: 'and then?' })).rejects.toMatchObject({
      status: 404,
      code: 'previous_response_not_found',
      param: 'previous_response_id',
    });
    // Another tenant never sees a response it did not make.
    const other = await client.responses.create({ model, input: `Not yours ${id}` });
    const stranger = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: (await createTenant({ name: 'stranger' })).api_key, maxRetries: 0 });
    await expect(stranger.responses.retrieve(other.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(stranger.responses.delete(other.id)).rejects.toBeInstanceOf(NotFoundError);
    expect((await client.responses.retrieve(other.id)).id).toBe(other.id);
  });
});

describe('errors and built-in tools', () => {
  it('refuses a built-in tool asked of the Anthropic model with a 400 naming it, before any upstream call', async () => {
    const id = nonce();
    const error = await client.responses.create({ model: ANTHROPIC_MODEL, input: `Search the web ${id}`, tools: [{ type: 'web_search' }] }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(BadRequestError);
    const bad = error as BadRequestError;
    expect(bad.status).toBe(400);
    expect(bad.message).toContain('web_search');
    expect(bad.param).toBe('tools[0].type');
    expect(bad.type).toBe('invalid_request_error');
    expect(recorded(id)).toHaveLength(0);
    reported.set(bad.requestID!, { model: ANTHROPIC_MODEL, costUsd: 'error', input: 0, output: 0 });
  });

  it('forwards the same built-in tool to the OpenAI upstream, which serves it', async () => {
    const id = nonce();
    const data = await client.responses.create({ model: OPENAI_MODEL, input: `Search the web ${id}`, tools: [{ type: 'web_search' }] });
    expect(data.output_text).toBe(`Echo: Search the web ${id}`);
    expect(recorded(id)[0].body.tools).toEqual([{ type: 'web_search' }]);
  });
});

describe('the request log', () => {
  it('has a responses row for every call, costing what x-proxy-cost-usd said', async () => {
    const rows = await rowsOf<Row>(tenantId, reported.size);
    for (const [requestId, seen] of reported) {
      const row = rows.find((r) => r.id === requestId);
      expect(row, requestId).toBeDefined();
      expect(row!.endpoint).toBe('responses');
      expect(row!.model).toBe(seen.model);
      if (seen.costUsd === 'error') {
        expect(row!.status).toBe(400);
        expect(row!.cost_nano).toBe(0);
        continue;
      }
      expect(row!.status).toBe(200);
      expect(row!.prompt_tokens).toBe(seen.input);
      expect(row!.completion_tokens).toBe(seen.output);
      expect(row!.cost_nano).toBeGreaterThan(0);
      expect(row!.cost_nano).toBe(Math.round(Number(seen.costUsd) * 1e9));
    }
    // The streamed calls were metered from the stream's own usage.
    for (const [model, seen] of streamed) {
      const row = rows.find((r) => r.stream && r.model === model);
      expect(row, model).toBeDefined();
      expect(row!.endpoint).toBe('responses');
      expect(row!.prompt_tokens).toBe(seen.input);
      expect(row!.completion_tokens).toBe(seen.output);
      expect(row!.cost_nano).toBeGreaterThan(0);
    }
    expect(rows.every((r) => r.endpoint === 'responses')).toBe(true);
  });
});

describe('the OpenAI Agents SDK through the proxy', () => {
  let agentsTenant: { id: string; api_key: string };
  beforeAll(async () => {
    // One client for the process: the SDK's default provider keeps the first one it is given.
    agentsTenant = await createTenant({ name: 'agents' });
    setDefaultOpenAIClient(new OpenAI({ baseURL: `${server.url}/v1`, apiKey: agentsTenant.api_key, maxRetries: 0 }));
    setOpenAIAPI('responses');
    setTracingDisabled(true);
  });

  it.each([
    { tier: 'cheap', model: OPENAI_MODEL, upstreamPath: '/v1/responses', rowsSoFar: 2 },
    { tier: 'expensive', model: ANTHROPIC_MODEL, upstreamPath: '/v1/messages', rowsSoFar: 4 },
  ])('runs an agent with a function tool on the $tier tier ($model)', async ({ tier, model, upstreamPath, rowsSoFar }) => {
    const id = nonce();
    const asked: string[] = [];
    const getWeather = tool({
      name: 'get_weather',
      description: 'The current weather in a city',
      parameters: z.object({ city: z.string() }),
      execute: async ({ city }) => {
        asked.push(city);
        return `Sunny, 21 C in ${city}`;
      },
    });
    const agent = new Agent({ name: 'Weather', instructions: `Answer with the tool. ${id}`, model: tier, tools: [getWeather] });

    const result = await run(agent, 'What is the weather in Paris?');

    expect(asked).toEqual(['Paris']);
    expect(result.finalOutput).toBe('Echo: Sunny, 21 C in Paris');
    // Two model calls (the tool call, then the answer), both to the tier's model, both logged.
    const sent = recorded(id);
    expect(sent.map((r) => r.path)).toEqual([upstreamPath, upstreamPath]);
    expect(JSON.stringify(sent[1].body)).toContain('Sunny, 21 C in Paris');
    const rows = (await rowsOf<Row>(agentsTenant.id, rowsSoFar)).filter((r) => r.model === model);
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expect(row).toMatchObject({ endpoint: 'responses', status: 200, model, tier });
      expect(row.cost_nano).toBeGreaterThan(0);
    }
  });
});
