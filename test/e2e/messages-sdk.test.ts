/**
 * Anthropic's Messages API as a user meets it: `npm start`, then the official @anthropic-ai/sdk
 * (baseURL = the server, as Claude Code's ANTHROPIC_BASE_URL) pointed at the proxy. Anthropic is
 * played by the fake upstream's /v1/messages (native: the body and the anthropic-* headers are
 * forwarded), OpenAI by its /v1/chat/completions (translated both ways). What reached the
 * upstream is read back from the fake's recording, what was billed from the request log.
 */
import { randomUUID } from 'node:crypto';
import Anthropic, { AuthenticationError, BadRequestError, PaymentRequiredError } from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILT_IN_MODELS, costNano } from '../../proxy/pricing/catalog';
import { startUpstreamServer, type RecordedRequest, type UpstreamServer } from '../support/upstream-server';
import { adminClient } from './admin-client';
import { E2E_ANTHROPIC_KEY, E2E_OPENAI_KEY, startServer, type RunningServer } from './server';

const OPENAI_MODEL = 'openai/gpt-4o-mini';
const ANTHROPIC_MODEL = 'anthropic/claude-haiku-4-5';
const CLAUDE_CODE_MODEL = 'claude-sonnet-4-5-20250929';
const CLAUDE_CODE_BETAS = 'claude-code-20250219,interleaved-thinking-2025-05-14';

let upstream: UpstreamServer;
let server: RunningServer;
const { admin, createTenant, rowsOf } = adminClient(() => server);
let tenantId: string;
let tenantKey: string;
let client: Anthropic;

interface Row {
  id: string;
  endpoint: string;
  model: string;
  tier: string | null;
  status: number;
  stream: boolean;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  cache_write_tokens: number;
  cost_nano: number;
  user: string | null;
}

/** What each plain call told the client, by request id, to compare with its log row. */
const reported = new Map<string, { endpoint: string; model: string; costUsd: string; input: number; output: number }>();

/** The fake upstream's recording of the requests whose raw body contains `text`. */
const recorded = (text: string, path?: string): RecordedRequest[] =>
  upstream.requests.filter((r) => r.rawBody.includes(text) && (path === undefined || r.path === path));

const nonce = () => randomUUID().slice(0, 8);

/** The fakes' answer to a last user turn of this text: "Echo: " and its first 40 characters, whitespace collapsed. */
const echo = (said: string) => `Echo: ${said.slice(0, 40)}`.split(/\s+/).filter(Boolean).join(' ');

/** The tenant's rows that match, once `count` of them are there. */
async function rowsWhere(tenant: string, match: (row: Row) => boolean, count: number): Promise<Row[]> {
  let rows: Row[] = [];
  for (let i = 0; i < 100; i++) {
    rows = (await rowsOf<Row>(tenant, 0)).filter(match);
    if (rows.length >= count) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return rows;
}

/** A client as the SDK is usually built; `auth` picks the credential option (the SDK sends apiKey and authToken alike as a bearer token). */
const sdk = (auth: { apiKey?: string | null; authToken?: string | null; defaultHeaders?: Record<string, string> }, maxRetries = 0) =>
  new Anthropic({ baseURL: server.url, apiKey: null, authToken: null, maxRetries, ...auth });

const weatherTool: Anthropic.Tool = {
  name: 'get_weather',
  description: 'The current weather in a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

beforeAll(async () => {
  upstream = await startUpstreamServer();
  server = await startServer({
    upstreamUrl: upstream.url,
    vars: { CHEAP_MODEL: OPENAI_MODEL, EXPENSIVE_MODEL: 'anthropic/claude-sonnet-4-5' },
  });
  const tenant = await createTenant({ name: 'messages-sdk' });
  tenantId = tenant.id;
  tenantKey = tenant.api_key;
  client = sdk({ apiKey: tenantKey });
});

afterAll(async () => {
  await server?.stop();
  await upstream?.close();
});

const text = (message: Anthropic.Message) =>
  message.content
    .filter((b): b is Anthropic.TextBlock => b.type === 'text')
    .map((b) => b.text)
    .join('');

describe.each([
  { model: ANTHROPIC_MODEL, upstreamModel: 'claude-haiku-4-5', upstreamPath: '/v1/messages', native: true },
  { model: OPENAI_MODEL, upstreamModel: 'gpt-4o-mini', upstreamPath: '/v1/chat/completions', native: false },
])('the Anthropic SDK through npm start, $model', ({ model, upstreamModel, upstreamPath, native }) => {
  it('creates a message: content, usage, the proxy’s headers; the tenant key stays with the proxy', async () => {
    const id = nonce();
    const { data, response } = await client.messages
      .create({ model, max_tokens: 256, system: 'Be brief.', messages: [{ role: 'user', content: `Say hello ${id}` }] })
      .withResponse();
    expect(data.type).toBe('message');
    expect(data.role).toBe('assistant');
    expect(data.id).toMatch(/^msg_/);
    expect(text(data)).toBe(`Echo: Say hello ${id}`);
    expect(data.stop_reason).toBe('end_turn');
    // "Echo: Say hello <id>" is 4 words; the fake counts one output token a word.
    expect(data.usage.output_tokens).toBe(4);
    // Both fakes count ceil(characters / 4) + 3 per message, the system prompt included.
    expect(data.usage.input_tokens).toBe(Math.ceil((`Say hello ${id}`.length + 'Be brief.'.length) / 4) + 3 + (native ? 0 : 3));

    expect(response.headers.get('x-proxy-model')).toBe(model);
    expect(response.headers.get('request-id')).toBe(response.headers.get('x-request-id'));
    const cost = response.headers.get('x-proxy-cost-usd')!;
    expect(Number(cost)).toBeGreaterThan(0);
    reported.set(response.headers.get('x-request-id')!, { endpoint: 'messages', model, costUsd: cost, input: data.usage.input_tokens, output: 4 });

    const [sent] = recorded(`Say hello ${id}`);
    expect(sent.path).toBe(upstreamPath);
    expect(sent.body.model).toBe(upstreamModel);
    // The upstream gets the proxy's own credential, never the tenant's.
    expect(JSON.stringify(sent.headers)).not.toContain(tenantKey);
    if (native) {
      expect(sent.headers['x-api-key']).toBe(E2E_ANTHROPIC_KEY);
      expect(sent.body).toEqual({ model: upstreamModel, max_tokens: 256, system: 'Be brief.', messages: [{ role: 'user', content: `Say hello ${id}` }] });
    } else {
      expect(sent.headers.authorization).toBe(`Bearer ${E2E_OPENAI_KEY}`);
      expect(sent.body.messages).toEqual([
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: `Say hello ${id}` },
      ]);
    }
  });

  it('streams a message: the SDK’s events in order, and finalMessage()', async () => {
    const id = nonce();
    const stream = client.messages.stream({ model, max_tokens: 256, messages: [{ role: 'user', content: `Stream a few words please ${id}` }] });
    const events: Anthropic.MessageStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    const final = await stream.finalMessage();

    const expected = `Echo: Stream a few words please ${id}`;
    expect(text(final)).toBe(expected);
    expect(final.stop_reason).toBe('end_turn');
    expect(final.usage.output_tokens).toBe(expected.split(' ').length);
    expect(final.usage.input_tokens).toBeGreaterThan(0);

    const kinds = events
      .map((e) => e.type as string)
      .filter((type) => type !== 'ping')
      .filter((type, i, all) => type !== 'content_block_delta' || all[i - 1] !== type);
    expect(kinds).toEqual(['message_start', 'content_block_start', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
    const deltas = events.flatMap((e) => (e.type === 'content_block_delta' && e.delta.type === 'text_delta' ? [e.delta.text] : []));
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join('')).toBe(expected);
    expect(recorded(`Stream a few words please ${id}`)[0].path).toBe(upstreamPath);
  });

  it('uses a tool over two turns: tool_use, then tool_result', async () => {
    const id = nonce();
    const question = `What is the weather in Paris? ${id}`;
    const first = await client.messages.create({ model, max_tokens: 256, tools: [weatherTool], messages: [{ role: 'user', content: question }] });
    expect(first.stop_reason).toBe('tool_use');
    const use = first.content.find((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use')!;
    expect(use).toMatchObject({ type: 'tool_use', name: 'get_weather', input: { city: 'Paris' } });
    expect(use.id).toBeTruthy();

    const second = await client.messages.create({
      model,
      max_tokens: 256,
      tools: [weatherTool],
      messages: [
        { role: 'user', content: question },
        { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: '{"temp":21}' }] },
      ],
    });
    expect(second.stop_reason).toBe('end_turn');
    expect(second.content.every((b) => b.type === 'text')).toBe(true);
    // Anthropic echoes the tool result; the OpenAI fake echoes the last user message.
    expect(text(second)).toBe(native ? 'Echo: {"temp":21}' : `Echo: ${question}`);
    expect(second.usage.input_tokens).toBeGreaterThan(first.usage.input_tokens);

    const sent = recorded(question, upstreamPath);
    expect(sent).toHaveLength(2);
    if (native) {
      expect(sent[1].body.messages[2]).toEqual({ role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: '{"temp":21}' }] });
    } else {
      // The tool call and its result, paired as Chat Completions pairs them.
      expect(sent[1].body.tools).toEqual([
        { type: 'function', function: { name: 'get_weather', description: weatherTool.description, parameters: weatherTool.input_schema } },
      ]);
      const [, assistant, tool] = sent[1].body.messages;
      expect(assistant).toMatchObject({ role: 'assistant', tool_calls: [{ id: use.id, type: 'function', function: { name: 'get_weather' } }] });
      expect(JSON.parse(assistant.tool_calls[0].function.arguments)).toEqual({ city: 'Paris' });
      expect(tool).toEqual({ role: 'tool', tool_call_id: use.id, content: '{"temp":21}' });
    }
  });
});

describe('count_tokens', () => {
  it('estimates the count for a translated model, at no cost and without an upstream call', async () => {
    const id = nonce();
    const short = await client.messages.countTokens({ model: OPENAI_MODEL, messages: [{ role: 'user', content: `Count me ${id}` }] });
    expect(Number.isInteger(short.input_tokens)).toBe(true);
    expect(short.input_tokens).toBeGreaterThan(0);
    const long = await client.messages
      .countTokens({
        model: OPENAI_MODEL,
        system: 'You are a careful assistant. '.repeat(50),
        tools: [weatherTool],
        messages: [{ role: 'user', content: `Count me ${id}` }],
      })
      .withResponse();
    // 1,450 characters of system prompt and a tool are a few hundred tokens more.
    expect(long.data.input_tokens).toBeGreaterThan(short.input_tokens + 300);
    expect(long.response.headers.get('x-proxy-cost-usd')).toBe('0.000000000');
    reported.set(long.response.headers.get('x-request-id')!, { endpoint: 'count_tokens', model: OPENAI_MODEL, costUsd: '0', input: -1, output: 0 });
    expect(recorded(id)).toHaveLength(0);
  });

  it('forwards count_tokens for an Anthropic model to its /v1/messages/count_tokens, at no cost', async () => {
    const id = nonce();
    const said = `Count me natively ${id}`;
    const { data, response } = await client.messages
      .countTokens({ model: ANTHROPIC_MODEL, messages: [{ role: 'user', content: said }] }, { headers: { 'anthropic-beta': 'token-counting-2024-11-01' } })
      .withResponse();
    // The upstream's own count: ceil(characters / 4) + 3 per message.
    expect(data.input_tokens).toBe(Math.ceil(said.length / 4) + 3);
    expect(response.headers.get('x-proxy-cost-usd')).toBe('0.000000000');
    reported.set(response.headers.get('x-request-id')!, { endpoint: 'count_tokens', model: ANTHROPIC_MODEL, costUsd: '0', input: -1, output: 0 });
    const [sent] = recorded(id);
    expect(sent.path).toBe('/v1/messages/count_tokens');
    expect(sent.body).toEqual({ model: 'claude-haiku-4-5', messages: [{ role: 'user', content: said }] });
    expect(sent.headers['anthropic-beta']).toBe('token-counting-2024-11-01');
    expect(sent.headers['x-api-key']).toBe(E2E_ANTHROPIC_KEY);
  });
});

describe('keys and errors', () => {
  it('takes the tenant key as x-api-key, as Authorization: Bearer (apiKey) and as Claude Code’s ANTHROPIC_AUTH_TOKEN (authToken)', async () => {
    const clients = {
      'x-api-key': sdk({ defaultHeaders: { 'x-api-key': tenantKey } }),
      apiKey: sdk({ apiKey: tenantKey }),
      authToken: sdk({ authToken: tenantKey }),
    };
    for (const [how, each] of Object.entries(clients)) {
      const id = nonce();
      const reply = await each.messages.create({ model: 'cheap', max_tokens: 64, messages: [{ role: 'user', content: `Key as ${how} ${id}` }] }).withResponse();
      expect(text(reply.data), how).toBe(`Echo: Key as ${how} ${id}`);
      expect(reply.response.headers.get('x-proxy-tier')).toBe('cheap');
    }
    // The Anthropic shape of the model list, for a client that names an anthropic-version.
    const models = await clients.authToken.models.list();
    expect(models.data.map((m) => m.id)).toEqual(expect.arrayContaining(['cheap', 'expensive']));
    expect(models.data[0]).toMatchObject({ type: 'model' });
  });

  it('raises AuthenticationError for an invalid key, in Anthropic’s error shape', async () => {
    for (const stranger of [sdk({ apiKey: 'sk-proxy-wrong' }), sdk({ defaultHeaders: { 'x-api-key': 'sk-proxy-wrong' } })]) {
      const error = await stranger.messages.create({ model: 'cheap', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(AuthenticationError);
      expect((error as AuthenticationError).status).toBe(401);
      expect((error as AuthenticationError).type).toBe('authentication_error');
      expect((error as AuthenticationError).error).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
    }
  });

  it('answers a spent budget with 402 billing_error, which the SDK does not retry', async () => {
    const broke = await createTenant({ name: 'messages-sdk-broke', monthly_budget_usd: 0 });
    const retrying = sdk({ apiKey: broke.api_key }, 3);
    const error = await retrying.messages.create({ model: ANTHROPIC_MODEL, max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PaymentRequiredError);
    const paid = error as PaymentRequiredError;
    expect(paid.status).toBe(402);
    expect(paid.type).toBe('billing_error');
    expect(paid.error).toMatchObject({ type: 'error', error: { type: 'billing_error' } });
    expect(paid.headers.get('x-should-retry')).toBe('false');
    // One call in the log: the SDK (with retries on) sent it once. Its retries would all have
    // been sent before it raised the error; give their rows the time the first one took.
    expect(await rowsOf<Row>(broke.id, 1)).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 1000));
    const rows = await rowsOf<Row>(broke.id, 0);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ endpoint: 'messages', status: 402, cost_nano: 0 });
  });

  it('refuses a server tool asked of a translated model with a 400 naming it', async () => {
    const id = nonce();
    const error = await client.messages
      .create({
        model: OPENAI_MODEL,
        max_tokens: 64,
        tools: [{ type: 'web_search_20250305', name: 'web_search', max_uses: 1 }],
        messages: [{ role: 'user', content: `Search ${id}` }],
      })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as BadRequestError).type).toBe('invalid_request_error');
    expect((error as BadRequestError).message).toContain('web_search_20250305');
    expect(recorded(id)).toHaveLength(0);
  });
});

/** A request as Claude Code sends it: cached system blocks, its tools, thinking, its metadata. */
function claudeCodeRequest(id: string) {
  const schema = (properties: Record<string, unknown>, required: string[]) => ({
    type: 'object' as const,
    properties,
    required,
    additionalProperties: false,
    $schema: 'http://json-schema.org/draft-07/schema#',
  });
  const names = [
    'Task',
    'Bash',
    'Glob',
    'Grep',
    'ExitPlanMode',
    'Read',
    'Edit',
    'Write',
    'NotebookEdit',
    'WebFetch',
    'TodoWrite',
    'WebSearch',
    'BashOutput',
    'KillShell',
    'SlashCommand',
    'Skill',
    'AskUserQuestion',
    'ListMcpResourcesTool',
    'ReadMcpResourceTool',
    'mcp__ide__getDiagnostics',
  ];
  const tools = names.map((name) => ({
    name,
    description: `${name}: ${'Use this tool when the task calls for it, following the instructions above. '.repeat(4)}`,
    input_schema: schema({ input: { type: 'string', description: `What ${name} works on` }, timeout: { type: 'number' } }, ['input']),
  }));
  return {
    model: CLAUDE_CODE_MODEL,
    max_tokens: 32000,
    temperature: 1,
    system: [
      { type: 'text' as const, text: "You are Claude Code, Anthropic's official CLI for Claude.", cache_control: { type: 'ephemeral' as const } },
      {
        type: 'text' as const,
        text: `Session ${id}. You are an interactive CLI tool that helps users with software engineering tasks. ${'Follow the repository conventions; keep answers short. '.repeat(60)}`,
        cache_control: { type: 'ephemeral' as const, ttl: '1h' as const },
      },
    ],
    tools,
    messages: [
      {
        role: 'user' as const,
        content: [
          { type: 'text' as const, text: '<system-reminder>\nAs you answer the user, use the context below.\n</system-reminder>' },
          { type: 'text' as const, text: `Fix the failing test in test/app.test.ts ${id}`, cache_control: { type: 'ephemeral' as const } },
        ],
      },
    ],
    thinking: { type: 'enabled' as const, budget_tokens: 2048 },
    metadata: {
      user_id: JSON.stringify({
        device_id: 'f3c1d0a4b5e6978812ab34cd56ef7890f3c1d0a4b5e6978812ab34cd56ef7890',
        account_uuid: '5b0e6c1e-8a1f-4c1d-9f2e-3a4b5c6d7e8f',
        session_id: '0d9f8e7c-6b5a-4f3e-8d2c-1b0a9f8e7d6c',
      }),
    },
  };
}

/** Claude Code's headers besides its key (the SDK adds its own stainless ones). */
/** What the fakes answer to claudeCodeRequest(): its last user turn is two text blocks, the reminder first. */
const claudeCodeAnswer = (id: string) =>
  echo(
    claudeCodeRequest(id)
      .messages[0].content.map((b) => b.text)
      .join('\n'),
  );

const claudeCodeHeaders = {
  'anthropic-beta': CLAUDE_CODE_BETAS,
  'anthropic-version': '2023-06-01',
  'x-app': 'cli',
  'user-agent': 'claude-cli/2.0.14 (external, cli)',
};

describe('a recorded Claude Code request', () => {
  it('is forwarded to the Anthropic tier as sent: betas, thinking and cache_control unchanged, prompt cache written then read', async () => {
    const id = nonce();
    const request = claudeCodeRequest(id);
    const finals: Anthropic.Message[] = [];
    for (let i = 0; i < 2; i++) {
      const stream = client.messages.stream(request, { headers: claudeCodeHeaders });
      finals.push(await stream.finalMessage());
    }
    for (const final of finals) {
      expect(text(final)).toBe(claudeCodeAnswer(id));
      expect(final.model).toBe(CLAUDE_CODE_MODEL);
      expect(final.stop_reason).toBe('end_turn');
    }
    // The fake caches the prefix up to the last cache_control, like Anthropic: written, then read.
    expect(finals[0].usage.cache_creation_input_tokens).toBeGreaterThan(1024);
    expect(finals[0].usage.cache_read_input_tokens).toBe(0);
    // One system block asks for an hour: the write is a 1-hour one.
    expect(finals[0].usage.cache_creation?.ephemeral_1h_input_tokens).toBe(finals[0].usage.cache_creation_input_tokens);
    expect(finals[1].usage.cache_read_input_tokens).toBe(finals[0].usage.cache_creation_input_tokens);

    const sent = recorded(`Session ${id}`);
    expect(sent.map((r) => r.path)).toEqual(['/v1/messages', '/v1/messages']);
    for (const upstreamRequest of sent) {
      expect(upstreamRequest.body).toEqual({ ...request, stream: true });
      expect(upstreamRequest.headers['anthropic-beta']).toBe(CLAUDE_CODE_BETAS);
      expect(upstreamRequest.headers['anthropic-version']).toBe('2023-06-01');
      expect(upstreamRequest.headers['x-api-key']).toBe(E2E_ANTHROPIC_KEY);
      expect(JSON.stringify(upstreamRequest.headers)).not.toContain(tenantKey);
    }

    // Both logged as messages, with the cache write and read priced.
    const rows = await rowsWhere(tenantId, (r) => r.model === `anthropic/${CLAUDE_CODE_MODEL}`, 2);
    expect(rows).toHaveLength(2);
    const [read, write] = rows; // newest first
    expect(write).toMatchObject({
      endpoint: 'messages',
      status: 200,
      stream: true,
      tier: 'expensive',
      cache_write_tokens: finals[0].usage.cache_creation_input_tokens,
    });
    expect(read).toMatchObject({ endpoint: 'messages', status: 200, stream: true, cached_tokens: finals[1].usage.cache_read_input_tokens });
    // Its end user: Claude Code's account id, not the session.
    expect([write.user, read.user]).toEqual(['5b0e6c1e-8a1f-4c1d-9f2e-3a4b5c6d7e8f', '5b0e6c1e-8a1f-4c1d-9f2e-3a4b5c6d7e8f']);
    // Priced as the model the snapshot pins, the write at the 1-hour rate.
    const price = BUILT_IN_MODELS.find((m) => m.id === 'anthropic/claude-sonnet-4-5')!;
    const priced = (row: Row, cacheWrite1hTokens: number) =>
      costNano(
        {
          promptTokens: row.prompt_tokens,
          completionTokens: row.completion_tokens,
          cachedTokens: row.cached_tokens,
          cacheWriteTokens: row.cache_write_tokens,
          cacheWrite1hTokens,
        },
        price,
      );
    expect(write.prompt_tokens).toBe(finals[0].usage.input_tokens + finals[0].usage.cache_creation_input_tokens!);
    expect(write.cost_nano).toBe(priced(write, write.cache_write_tokens));
    expect(write.cost_nano).toBeGreaterThan(priced(write, 0));
    expect(read.cost_nano).toBe(priced(read, 0));
    expect(read.cost_nano).toBeLessThan(write.cost_nano);
  });

  it('is forwarded natively to the expensive tier when asked for by its alias', async () => {
    const id = nonce();
    const final = await client.messages.stream({ ...claudeCodeRequest(id), model: 'expensive' }, { headers: claudeCodeHeaders }).finalMessage();
    expect(text(final)).toBe(claudeCodeAnswer(id));
    const [sent] = recorded(`Session ${id}`);
    expect(sent.path).toBe('/v1/messages');
    expect(sent.body).toEqual({ ...claudeCodeRequest(id), model: 'claude-sonnet-4-5', stream: true });
    expect(sent.headers['anthropic-beta']).toBe(CLAUDE_CODE_BETAS);
  });

  it('is answered translated by the OpenAI-compatible tier: thinking and cache_control dropped, a valid Messages stream', async () => {
    const id = nonce();
    const request = { ...claudeCodeRequest(id), model: 'cheap' };
    const { data: stream, response } = await client.messages.create({ ...request, stream: true }, { headers: claudeCodeHeaders }).withResponse();
    expect(response.headers.get('x-proxy-model')).toBe(OPENAI_MODEL);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events: Anthropic.RawMessageStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    const kinds = events
      .map((e) => e.type as string)
      .filter((type) => type !== 'ping')
      .filter((type, i, all) => type !== 'content_block_delta' || all[i - 1] !== type);
    expect(kinds).toEqual(['message_start', 'content_block_start', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
    const answer = events.flatMap((e) => (e.type === 'content_block_delta' && e.delta.type === 'text_delta' ? [e.delta.text] : [])).join('');
    expect(answer).toBe(claudeCodeAnswer(id));
    const delta = events.find((e) => e.type === 'message_delta')!;
    expect(delta).toMatchObject({ delta: { stop_reason: 'end_turn' } });
    expect((delta as Anthropic.RawMessageDeltaEvent).usage.output_tokens).toBeGreaterThan(0);

    // The SDK's own accumulator takes it too.
    const final = await client.messages.stream(request, { headers: claudeCodeHeaders }).finalMessage();
    expect(text(final)).toBe(answer);
    expect(final.stop_reason).toBe('end_turn');
    expect(final.usage.input_tokens).toBeGreaterThan(1000);

    const sent = recorded(`Session ${id}`);
    expect(sent.map((r) => r.path)).toEqual(['/v1/chat/completions', '/v1/chat/completions']);
    const body = sent[0].body;
    expect(sent[0].rawBody).not.toContain('cache_control');
    expect(sent[0].rawBody).not.toContain('budget_tokens');
    expect(body.thinking).toBeUndefined();
    expect(sent[0].headers['anthropic-beta']).toBeUndefined();
    expect(body.model).toBe('gpt-4o-mini');
    expect(body.stream).toBe(true);
    expect(body.tools).toHaveLength(20);
    expect(body.tools[1]).toMatchObject({ type: 'function', function: { name: 'Bash', parameters: request.tools[1].input_schema } });
    expect(body.messages[0].role).toBe('system');
    expect(body.messages[0].content).toContain("You are Claude Code, Anthropic's official CLI for Claude.");
    expect(body.messages[0].content).toContain(`Session ${id}`);
    expect(body.messages[1].role).toBe('user');
    expect(JSON.stringify(body.messages[1].content)).toContain(`Fix the failing test in test/app.test.ts ${id}`);
  });
});

describe('the request log', () => {
  it('has a messages row for every call, costing what x-proxy-cost-usd said', async () => {
    const rows = await rowsOf<Row>(tenantId, reported.size);
    for (const [requestId, seen] of reported) {
      const row = rows.find((r) => r.id === requestId);
      expect(row, requestId).toBeDefined();
      expect(row!).toMatchObject({ endpoint: seen.endpoint, model: seen.model, status: 200 });
      expect(row!.cost_nano).toBe(Math.round(Number(seen.costUsd) * 1e9));
      if (seen.endpoint === 'count_tokens') continue;
      expect(row!.cost_nano).toBeGreaterThan(0);
      expect(row!.completion_tokens).toBe(seen.output);
    }
    expect(new Set(rows.map((r) => r.endpoint))).toEqual(new Set(['messages', 'count_tokens']));
  });
});
