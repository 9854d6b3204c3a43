/**
 * POST /v1/responses and GET/DELETE /v1/responses/{id}: native to OpenAI upstreams (the body
 * forwarded, the answer passed back as sent, metered from a copy), translated for the others
 * (here the mock provider and Anthropic, through the fake upstream), each logged and priced.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { BUILT_IN_MODELS, costNano } from '../../proxy/pricing/catalog';
import { createTestTenant, loggedRow, type TestTenant } from './fixtures';
import { callProxy, env, nonce, postJson, readSse, TEST_OPENAI_KEY, upstreamEnv, upstreamRequests, upstreamUrl } from './harness';

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

describe('native (OpenAI upstream)', () => {
  const openai = upstreamEnv();

  it('forwards the body as sent (model replaced), answers with the upstream JSON and prices its usage, reasoning included', async () => {
    const tag = nonce();
    const call = await respond({ model: 'openai/gpt-5-mini', input: `hello ${tag}`, reasoning: { effort: 'low' }, custom_field: { kept: true } }, openai);
    expect(call.response.status).toBe(200);
    const body = (await call.response.json()) as ResponseBody;
    expect(body.usage.output_tokens_details.reasoning_tokens).toBe(16);
    const [sent] = await upstreamRequests(tag);
    expect(sent.path).toBe('/v1/responses');
    expect(sent.body).toMatchObject({ model: 'gpt-5-mini', reasoning: { effort: 'low' }, custom_field: { kept: true } });
    await call.settled();
    const row = await loggedRow(call.response.headers.get('x-request-id'));
    const price = BUILT_IN_MODELS.find((m) => m.id === 'openai/gpt-5-mini')!;
    const usage = {
      promptTokens: body.usage.input_tokens,
      completionTokens: body.usage.output_tokens,
      cachedTokens: body.usage.input_tokens_details.cached_tokens,
      cacheWriteTokens: 0,
    };
    expect(row).toMatchObject({ endpoint: 'responses', model: 'openai/gpt-5-mini', reasoning_tokens: 16, cost_nano: costNano(usage, price) });
    expect(call.response.headers.get('x-proxy-cost-usd')).toBe((costNano(usage, price) / 1e9).toFixed(9));
  });

  it('passes a stream through as sent, metered from a copy', async () => {
    const tag = nonce();
    const call = await respond({ model: 'openai/gpt-4o-mini', input: `stream ${tag}`, stream: true }, openai);
    const events = await readSse(call.response);
    expect(events[0].event).toBe('response.created');
    const completed = JSON.parse(events.at(-1)!.data) as { type: string; response: ResponseBody };
    expect(completed.type).toBe('response.completed');
    await call.settled();
    const row = await loggedRow(call.response.headers.get('x-request-id'));
    expect(row).toMatchObject({
      endpoint: 'responses',
      status: 200,
      stream: 1,
      usage_estimated: 0,
      prompt_tokens: completed.response.usage.input_tokens,
      completion_tokens: completed.response.usage.output_tokens,
    });
    // The streamed response is kept for this tenant: it can be read back, and continued.
    const read = await callProxy(`/v1/responses/${completed.response.id}`, { headers: { authorization: `Bearer ${tenant.apiKey}` } }, openai);
    expect(read.response.status).toBe(200);
    expect(((await read.response.json()) as ResponseBody).id).toBe(completed.response.id);
  });

  it('logs a stream the upstream failed (response.failed) as failed, billing the usage it reported, and adds nothing of its own', async () => {
    const call = await respond({ model: 'openai/gpt-4o-mini', input: `fail please upstream:midstream-error ${nonce()}`, stream: true }, openai);
    const events = await readSse(call.response);
    expect(events.map((e) => e.event).slice(-2)).toEqual(['error', 'response.failed']);
    const failed = JSON.parse(events.at(-1)!.data) as { response: ResponseBody };
    await call.settled();
    const row = await loggedRow(call.response.headers.get('x-request-id'));
    expect(row).toMatchObject({ endpoint: 'responses', status: 502, usage_estimated: 0, prompt_tokens: failed.response.usage.input_tokens });
  });

  it('ends a stream cut off before its last event with a Responses error event, numbered after the last one', async () => {
    const call = await respond({ model: 'openai/gpt-4o-mini', input: `cut upstream:cut ${nonce()}`, stream: true }, openai);
    const events = await readSse(call.response);
    const last = JSON.parse(events.at(-1)!.data) as { type: string; code: string; sequence_number: number };
    const before = JSON.parse(events.at(-2)!.data) as { sequence_number: number };
    expect(last).toMatchObject({ type: 'error', code: 'upstream_stream_incomplete' });
    expect(last.sequence_number).toBe(before.sequence_number + 1);
    await call.settled();
    const row = await loggedRow(call.response.headers.get('x-request-id'));
    expect(row).toMatchObject({ status: 502, error_type: 'upstream_stream_incomplete' });
  });

  it('keeps a conversation with the model that made it, and reads and deletes it upstream', async () => {
    const routed = await createTestTenant({ routing: 'auto' });
    const tag = nonce();
    const first = await respond({ model: 'openai/gpt-4o', input: `What is the weather in Paris? ${tag}`, tools: [weatherTool] }, openai, routed.apiKey);
    const turn1 = (await first.response.json()) as ResponseBody;
    const fnCall = turn1.output.find((item) => item.type === 'function_call')!;
    await first.settled();
    // x-task would move a new call to the cheap tier; a continued one stays on the model that made the first.
    const second = await postJson(
      '/v1/responses',
      {
        model: 'openai/gpt-4o',
        previous_response_id: turn1.id,
        input: [{ type: 'function_call_output', call_id: fnCall.call_id, output: '{"temp":21}' }],
        tools: [weatherTool],
      },
      { apiKey: routed.apiKey, env: openai, headers: { 'x-task': first.response.headers.get('x-proxy-tier') === 'cheap' ? 'reason' : 'classify' } },
    );
    expect(second.response.status).toBe(200);
    expect(second.response.headers.get('x-proxy-model')).toBe(first.response.headers.get('x-proxy-model'));
    expect(second.response.headers.get('x-proxy-route-reason')).toBe('previous_response');
    expect(outputText((await second.response.json()) as ResponseBody)).toContain('{"temp":21}');
    const [continued] = await upstreamRequests(turn1.id);
    expect(continued.body).toMatchObject({ model: first.response.headers.get('x-proxy-model')!.replace('openai/', ''), previous_response_id: turn1.id });

    const read = await callProxy(`/v1/responses/${turn1.id}`, { headers: { authorization: `Bearer ${routed.apiKey}` } }, openai);
    expect(((await read.response.json()) as ResponseBody).id).toBe(turn1.id);
    const stranger = await callProxy(`/v1/responses/${turn1.id}`, { headers: { authorization: `Bearer ${tenant.apiKey}` } }, openai);
    expect(stranger.response.status).toBe(404);
    const deleted = await callProxy(`/v1/responses/${turn1.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${routed.apiKey}` } }, openai);
    expect(await deleted.response.json()).toMatchObject({ id: turn1.id, deleted: true });
  });

  it("finds a native response by its call's row, with no KV entry of its own: one another isolate served, even while its row is being written", async () => {
    const owner = await createTestTenant();
    const call = await respond({ model: 'openai/gpt-4o-mini', input: `remember me ${nonce()}` }, openai, owner.apiKey);
    const made = (await call.response.json()) as ResponseBody;
    await call.settled();
    expect(await loggedRow(call.response.headers.get('x-request-id'))).toMatchObject({ response_id: made.id });
    expect((await env.KV.list({ prefix: `resp:${owner.id}:` })).keys).toEqual([]);
    const unstored = await respond({ model: 'openai/gpt-4o-mini', input: `forget me ${nonce()}`, store: false }, openai, owner.apiKey);
    await unstored.settled();
    expect(await loggedRow(unstored.response.headers.get('x-request-id'))).toMatchObject({ response_id: null });

    // A response this isolate never saw (made upstream directly), whose call's row lands 150 ms after the lookup starts.
    const upstream = await fetch(`${upstreamUrl()}/v1/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_OPENAI_KEY}` },
      body: JSON.stringify({ model: 'gpt-4o', input: `elsewhere ${nonce()}` }),
    });
    const elsewhere = (await upstream.json()) as ResponseBody;
    const asTenant = (key: string, method = 'GET') =>
      callProxy(`/v1/responses/${elsewhere.id}`, { method, headers: { authorization: `Bearer ${key}` } }, openai);
    const rowId = crypto.randomUUID();
    const writeRow = new Promise((resolve) => setTimeout(resolve, 150)).then(() =>
      env.DB.prepare(
        "INSERT INTO requests (id, ts, tenant_id, key_id, endpoint, model, provider, status, latency_ms, response_id) VALUES (?1, ?2, ?3, ?4, 'responses', 'openai/gpt-4o', 'openai', 200, 5, ?5)",
      )
        .bind(rowId, Date.now(), owner.id, owner.keyId, elsewhere.id)
        .run(),
    );
    const [read] = await Promise.all([asTenant(owner.apiKey), writeRow]);
    expect(read.response.status).toBe(200);
    expect(((await read.response.json()) as ResponseBody).id).toBe(elsewhere.id);
    expect((await asTenant(tenant.apiKey)).response.status).toBe(404);

    expect((await asTenant(owner.apiKey, 'DELETE')).response.status).toBe(200);
    expect(await loggedRow(rowId)).toMatchObject({ response_id: null });
    expect((await asTenant(owner.apiKey)).response.status).toBe(404);
  });

  it('runs built-in tools upstream: only a translated call refuses them', async () => {
    const call = await respond({ model: 'openai/gpt-4o-mini', input: `search ${nonce()}`, tools: [{ type: 'web_search' }] }, openai);
    expect(call.response.status).toBe(200);
  });

  it('is translated through chat when the operator says the server lacks /responses', async () => {
    const tag = nonce();
    const call = await respond({ model: 'openai/gpt-4o-mini', input: `translate me ${tag}` }, { ...openai, OPENAI_RESPONSES_API: 'translate' });
    expect(call.response.status).toBe(200);
    const [sent] = await upstreamRequests(tag);
    expect(sent.path).toBe('/v1/chat/completions');
    expect(outputText((await call.response.json()) as ResponseBody)).toContain(tag);
  });
});

describe('a client that leaves mid-stream', () => {
  it.each([
    ['native', 'openai/gpt-4o-mini'],
    ['translated', 'anthropic/claude-haiku-4-5'],
  ])('(%s) past UPSTREAM_ABANDONED_METER_MS has its upstream cancelled and its row written: 499, the output so far estimated', async (_path, model) => {
    const tag = nonce();
    const leaver = await createTestTenant();
    const controller = new AbortController();
    const call = await callProxy(
      new Request('http://proxy.test/v1/responses', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${leaver.apiKey}` },
        body: JSON.stringify({ model, stream: true, input: `upstream:chunk-delay=100 write a long essay about many things ${tag}` }),
        signal: controller.signal,
      }),
      undefined,
      { ...upstreamEnv(), UPSTREAM_ABANDONED_METER_MS: '0' },
    );
    const reader = call.response.body!.getReader();
    let received = '';
    while (!received.includes('output_text.delta')) received += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    await reader.cancel().catch(() => {});
    await call.settled();
    await expect.poll(async () => (await upstreamRequests(tag))[0].aborted).toBe(true);
    const row = await loggedRow(call.response.headers.get('x-request-id'));
    expect(row).toMatchObject({ endpoint: 'responses', status: 499, error_type: 'client_closed', usage_estimated: 1, stream: 1 });
    expect(row!.prompt_tokens).toBeGreaterThan(0);
  });
});
