/**
 * POST /v1/responses and GET/DELETE /v1/responses/{id}: native to OpenAI upstreams (the body
 * forwarded, the answer passed back as sent, metered from a copy), translated for the others
 * (here the mock provider and Anthropic, through the fake upstream), each logged and priced.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createTestTenant, loggedRow, type TestTenant } from './fixtures';
import { callProxy, nonce, postJson, readSse, upstreamEnv, upstreamRequests } from './harness';

let tenant: TestTenant;

beforeAll(async () => {
  tenant = await createTestTenant();
});

const respond = (body: Record<string, unknown>, env = {}, key = tenant.apiKey) => postJson('/v1/responses', body, { apiKey: key, env });

interface ResponseBody {
  id: string;
  object: string;
  status: string;
  model: string;
  output: Array<{ type: string; id: string; content?: Array<{ type: string; text: string }>; call_id?: string; name?: string; arguments?: string }>;
  usage: {
    input_tokens: number;
    output_tokens: number;
    total_tokens: number;
    input_tokens_details: { cached_tokens: number };
    output_tokens_details: { reasoning_tokens: number };
  };
  previous_response_id: string | null;
}

const outputText = (body: ResponseBody) =>
  body.output
    .filter((item) => item.type === 'message')
    .flatMap((item) => item.content ?? [])
    .map((part) => part.text)
    .join('');

describe('translated (mock provider)', () => {
  it('answers a plain call as a Response, logged as a responses call with its cost', async () => {
    const tag = nonce();
    const call = await respond({ model: 'cheap', input: `hello ${tag}`, instructions: 'Be brief.' });
    expect(call.response.status).toBe(200);
    const body = (await call.response.json()) as ResponseBody;
    expect(body).toMatchObject({ object: 'response', status: 'completed' });
    expect(body.id).toMatch(/^resp_/);
    expect(outputText(body)).toContain(tag);
    expect(body.usage.total_tokens).toBe(body.usage.input_tokens + body.usage.output_tokens);
    await call.settled();
    const row = await loggedRow(call.response.headers.get('x-request-id'));
    expect(row).toMatchObject({ endpoint: 'responses', status: 200, prompt_tokens: body.usage.input_tokens, completion_tokens: body.usage.output_tokens });
    expect(call.response.headers.get('x-proxy-cost-usd')).toBe((row!.cost_nano / 1e9).toFixed(9));
  });

  it('streams the full event sequence, numbered, ending with response.completed', async () => {
    const tag = nonce();
    const call = await respond({ model: 'cheap', input: `stream me ${tag}`, stream: true });
    expect(call.response.headers.get('content-type')).toContain('text/event-stream');
    const events = await readSse(call.response);
    const types = events.map((e) => e.event);
    expect(types.slice(0, 4)).toEqual(['response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added']);
    expect(types).toContain('response.output_text.delta');
    expect(types.slice(-4)).toEqual(['response.output_text.done', 'response.content_part.done', 'response.output_item.done', 'response.completed']);
    const sequence = events.map((e) => (JSON.parse(e.data) as { sequence_number: number }).sequence_number);
    expect(sequence).toEqual(sequence.map((_, i) => i));
    const completed = JSON.parse(events.at(-1)!.data) as { response: ResponseBody };
    expect(outputText(completed.response)).toContain(tag);
    const deltas = events.filter((e) => e.event === 'response.output_text.delta').map((e) => (JSON.parse(e.data) as { delta: string }).delta);
    expect(deltas.join('')).toBe(outputText(completed.response));
    await call.settled();
    const row = await loggedRow(call.response.headers.get('x-request-id'));
    expect(row).toMatchObject({ endpoint: 'responses', status: 200, stream: 1, usage_estimated: 0, prompt_tokens: completed.response.usage.input_tokens });
  });
});

const weatherTool = {
  type: 'function',
  name: 'get_weather',
  description: 'Weather for a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

describe('translated (Anthropic upstream)', () => {
  const anthropic = { ...upstreamEnv(), OPENAI_API_KEY: undefined, OPENAI_BASE_URL: undefined };

  it('carries a function tool through two turns, the second continuing the first by previous_response_id', async () => {
    const tag = nonce();
    const first = await respond({ model: 'anthropic/claude-haiku-4-5', input: `What is the weather in Paris? ${tag}`, tools: [weatherTool] }, anthropic);
    expect(first.response.status).toBe(200);
    const turn1 = (await first.response.json()) as ResponseBody;
    const fnCall = turn1.output.find((item) => item.type === 'function_call')!;
    expect(fnCall).toMatchObject({ name: 'get_weather', call_id: expect.any(String) });
    expect(JSON.parse(fnCall.arguments!)).toEqual({ city: 'Paris' });
    const [sent] = await upstreamRequests(tag);
    expect(sent.path).toBe('/v1/messages');
    expect((sent.body as { tools: Array<{ name: string }> }).tools[0].name).toBe('get_weather');
    await first.settled();

    const second = await respond(
      {
        model: 'anthropic/claude-haiku-4-5',
        previous_response_id: turn1.id,
        input: [{ type: 'function_call_output', call_id: fnCall.call_id, output: '{"temp":21}' }],
        tools: [weatherTool],
      },
      anthropic,
    );
    expect(second.response.status).toBe(200);
    const turn2 = (await second.response.json()) as ResponseBody;
    expect(turn2.previous_response_id).toBe(turn1.id);
    expect(outputText(turn2)).toContain('{"temp":21}');
    // The proxy kept the conversation: the upstream got the first turn's question and call back.
    const [, continued] = await upstreamRequests(tag);
    const messages = (continued.body as { messages: Array<{ role: string; content: Array<{ type: string }> }> }).messages;
    expect(messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    expect(messages[1].content.some((block) => block.type === 'tool_use')).toBe(true);
    expect(messages[2].content[0].type).toBe('tool_result');
  });

  it('asks for JSON output as an instruction, the schema included, since Messages has no response format', async () => {
    const tag = nonce();
    const schema = { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'] };
    const call = await respond(
      { model: 'anthropic/claude-haiku-4-5', input: `json please ${tag}`, text: { format: { type: 'json_schema', name: 'answer', schema, strict: true } } },
      anthropic,
    );
    expect(call.response.status).toBe(200);
    const [sent] = await upstreamRequests(tag);
    const system = (sent.body as { system: Array<{ text: string }> }).system.map((block) => block.text).join('\n');
    expect(system).toContain(JSON.stringify(schema));
  });

  it('refuses a built-in tool by name rather than dropping it', async () => {
    const call = await respond({ model: 'anthropic/claude-haiku-4-5', input: 'search the web', tools: [{ type: 'web_search' }] }, anthropic);
    expect(call.response.status).toBe(400);
    const error = ((await call.response.json()) as { error: { message: string; param: string } }).error;
    expect(error.param).toBe('tools[0].type');
    expect(error.message).toContain('web_search');
  });
});

describe('stored responses', () => {
  it('reads and deletes a translated response; another tenant gets a 404', async () => {
    const created = await respond({ model: 'cheap', input: `keep me ${nonce()}` });
    const body = (await created.response.json()) as ResponseBody;
    await created.settled();

    const read = await callProxy(`/v1/responses/${body.id}`, { headers: { authorization: `Bearer ${tenant.apiKey}` } });
    expect(read.response.status).toBe(200);
    expect(((await read.response.json()) as ResponseBody).id).toBe(body.id);

    const other = await createTestTenant();
    const stranger = await callProxy(`/v1/responses/${body.id}`, { headers: { authorization: `Bearer ${other.apiKey}` } });
    expect(stranger.response.status).toBe(404);
    const continued = await respond({ model: 'cheap', input: 'and then?', previous_response_id: body.id }, {}, other.apiKey);
    expect(continued.response.status).toBe(404);
    expect(((await continued.response.json()) as { error: { code: string } }).error.code).toBe('previous_response_not_found');

    const deleted = await callProxy(`/v1/responses/${body.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${tenant.apiKey}` } });
    expect(await deleted.response.json()).toEqual({ id: body.id, object: 'response', deleted: true });
    const gone = await callProxy(`/v1/responses/${body.id}`, { headers: { authorization: `Bearer ${tenant.apiKey}` } });
    expect(gone.response.status).toBe(404);
  });

  it('does not keep a response asked not to be stored', async () => {
    const created = await respond({ model: 'cheap', input: 'forget me', store: false });
    const body = (await created.response.json()) as ResponseBody;
    await created.settled();
    const read = await callProxy(`/v1/responses/${body.id}`, { headers: { authorization: `Bearer ${tenant.apiKey}` } });
    expect(read.response.status).toBe(404);
  });
});

describe('response cache', () => {
  it('answers a repeated deterministic call from the cache, plain and replayed as a stream', async () => {
    const request = { model: 'cheap', input: `cache me ${nonce()}`, temperature: 0 };
    const miss = await respond(request);
    const original = (await miss.response.json()) as ResponseBody;
    expect(miss.response.headers.get('x-proxy-cache')).toBe('MISS');
    await miss.settled();

    const hit = await respond(request);
    expect(hit.response.headers.get('x-proxy-cache')).toBe('HIT');
    expect(await hit.response.json()).toEqual(original);

    const streamed = await respond({ ...request, stream: true });
    expect(streamed.response.headers.get('x-proxy-cache')).toBe('HIT');
    const events = await readSse(streamed.response);
    expect(events[0].event).toBe('response.created');
    const completed = JSON.parse(events.at(-1)!.data) as { type: string; response: ResponseBody };
    expect(completed.type).toBe('response.completed');
    expect(completed.response).toEqual(original);
    await streamed.settled();
    const row = await loggedRow(streamed.response.headers.get('x-request-id'));
    expect(row).toMatchObject({ endpoint: 'responses', cache: 'HIT', cost_nano: 0 });
  });
});
