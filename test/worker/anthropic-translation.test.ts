import { describe, it, expect } from 'vitest';
import { ProxyError } from '../../proxy/core/errors';
import type { ChatRequest } from '../../proxy/providers/types';
import { readSse } from '../../proxy/streaming/sse';
import type { PartReader } from '../../proxy/streaming/parts';
import type { StreamPart } from '../../proxy/streaming/parts';
import { fromAnthropicMessage, fromAnthropicUsage, toAnthropicRequest } from '../../proxy/providers/anthropic/translate';
import { anthropicStreamParts } from '../../proxy/providers/anthropic/stream';
import type { AnthropicResponse } from '../../proxy/providers/anthropic/types';

const request = (fields: Partial<ChatRequest>): ChatRequest => ({ model: 'anthropic/claude-x', messages: [{ role: 'user', content: 'Hi' }], ...fields });

/** Expects fn to throw a 400 ProxyError naming `param`. */
function expectInvalid(fn: () => unknown, param: string, message?: string) {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ProxyError);
    expect((error as ProxyError).status).toBe(400);
    expect((error as ProxyError).param).toBe(param);
    if (message) expect((error as ProxyError).message).toBe(message);
    return;
  }
  throw new Error('expected an invalid request error');
}

describe('toAnthropicRequest', () => {
  it('hoists system and developer messages into separate system blocks', () => {
    const out = toAnthropicRequest(
      request({
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'developer', content: [{ type: 'text', text: 'Rules.', cache_control: { type: 'ephemeral' } }] },
          { role: 'user', content: 'Hello' },
        ],
      }),
      'claude-x',
    );
    expect(out.system).toEqual([
      { type: 'text', text: 'Be brief.' },
      { type: 'text', text: 'Rules.', cache_control: { type: 'ephemeral' } },
    ]);
    expect(out.messages).toEqual([{ role: 'user', content: [{ type: 'text', text: 'Hello' }] }]);
    expect(out.model).toBe('claude-x');
  });

  it('sets defaults and maps the sampling fields, leaving OpenAI-only fields out', () => {
    const out = toAnthropicRequest(
      request({
        temperature: 1.7,
        top_p: 0.9,
        stop: 'END',
        user: 'user-42',
        stream: true,
        stream_options: { include_usage: true },
        frequency_penalty: 0.5,
        logprobs: true,
      }),
      'claude-x',
    );
    expect(out).toEqual({
      model: 'claude-x',
      max_tokens: 4096,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }],
      temperature: 1,
      top_p: 0.9,
      stop_sequences: ['END'],
      metadata: { user_id: 'user-42' },
      stream: true,
    });
    expect(toAnthropicRequest(request({ temperature: -1, stop: ['a', 'b'] }), 'm')).toMatchObject({ temperature: 0, stop_sequences: ['a', 'b'] });
    expect(toAnthropicRequest(request({ temperature: 0.3 }), 'm').temperature).toBe(0.3);
  });

  it('prefers max_completion_tokens over max_tokens', () => {
    expect(toAnthropicRequest(request({ max_tokens: 100 }), 'm').max_tokens).toBe(100);
    expect(toAnthropicRequest(request({ max_tokens: 100, max_completion_tokens: 50 }), 'm').max_tokens).toBe(50);
  });

  it('translates tools and keeps their cache_control', () => {
    const out = toAnthropicRequest(
      request({
        tools: [
          {
            type: 'function',
            function: { name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
          },
          { type: 'function', function: { name: 'now' }, cache_control: { type: 'ephemeral' } } as never,
        ],
      }),
      'm',
    );
    expect(out.tools).toEqual([
      { name: 'get_weather', description: 'Weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } },
      { name: 'now', input_schema: { type: 'object', properties: {} }, cache_control: { type: 'ephemeral' } },
    ]);
    expect(out.tool_choice).toEqual({ type: 'auto' });
  });

  it('maps tool_choice and parallel_tool_calls', () => {
    const tools: ChatRequest['tools'] = [{ type: 'function', function: { name: 'f' } }];
    const choice = (fields: Partial<ChatRequest>) => toAnthropicRequest(request({ tools, ...fields }), 'm').tool_choice;
    expect(choice({ tool_choice: 'auto' })).toEqual({ type: 'auto' });
    expect(choice({ tool_choice: 'required' })).toEqual({ type: 'any' });
    expect(choice({ tool_choice: 'none' })).toEqual({ type: 'none' });
    expect(choice({ tool_choice: { type: 'function', function: { name: 'f' } } })).toEqual({ type: 'tool', name: 'f' });
    expect(choice({ parallel_tool_calls: false })).toEqual({ type: 'auto', disable_parallel_tool_use: true });
    expect(choice({ tool_choice: 'required', parallel_tool_calls: false })).toEqual({ type: 'any', disable_parallel_tool_use: true });
    expect(choice({ parallel_tool_calls: true })).toEqual({ type: 'auto' });
    expectInvalid(() => choice({ tool_choice: 'sometimes' }), 'tool_choice');
    // Anthropic rejects tool_choice without tools.
    expect(toAnthropicRequest(request({ tool_choice: 'none' }), 'm').tool_choice).toBeUndefined();
  });

  it('turns tool calls into tool_use blocks and merges tool results with the next user message', () => {
    const out = toAnthropicRequest(
      request({
        messages: [
          { role: 'user', content: 'Weather in Paris and Rome?' },
          {
            role: 'assistant',
            content: '',
            tool_calls: [
              { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
              { id: 'call_2', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } },
            ],
          },
          { role: 'tool', tool_call_id: 'call_1', content: 'Sunny' },
          { role: 'tool', tool_call_id: 'call_2', content: [{ type: 'text', text: 'Rainy' }] },
          { role: 'user', content: 'Thanks. And tomorrow?' },
          { role: 'user', content: 'Be short.' },
        ],
      }),
      'm',
    );
    expect(out.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'Weather in Paris and Rome?' }] },
      {
        role: 'assistant',
        content: [
          { type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Paris' } },
          { type: 'tool_use', id: 'call_2', name: 'get_weather', input: { city: 'Rome' } },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'call_1', content: 'Sunny' },
          { type: 'tool_result', tool_use_id: 'call_2', content: [{ type: 'text', text: 'Rainy' }] },
          { type: 'text', text: 'Thanks. And tomorrow?' },
          { type: 'text', text: 'Be short.' },
        ],
      },
    ]);
  });

  it('keeps assistant text before its tool_use blocks', () => {
    const out = toAnthropicRequest(
      request({
        messages: [
          { role: 'user', content: 'Go' },
          { role: 'assistant', content: 'Let me check.', tool_calls: [{ id: 't', type: 'function', function: { name: 'f', arguments: '' } }] },
        ],
      }),
      'm',
    );
    expect(out.messages[1].content).toEqual([
      { type: 'text', text: 'Let me check.' },
      { type: 'tool_use', id: 't', name: 'f', input: {} },
    ]);
  });

  it('rejects tool call arguments that are not a JSON object', () => {
    const withArguments = (args: string) =>
      request({
        messages: [
          { role: 'user', content: 'Go' },
          {
            role: 'assistant',
            content: null,
            tool_calls: [
              { id: 'a', type: 'function', function: { name: 'f', arguments: '{}' } },
              { id: 'b', type: 'function', function: { name: 'f', arguments: args } },
            ],
          },
        ],
      });
    expectInvalid(() => toAnthropicRequest(withArguments('{"city":'), 'm'), 'messages[1].tool_calls[1].function.arguments');
    expectInvalid(() => toAnthropicRequest(withArguments('[1,2]'), 'm'), 'messages[1].tool_calls[1].function.arguments');
  });

  it('translates image parts from data: and http(s) URLs', () => {
    const out = toAnthropicRequest(
      request({
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'What is this?' },
              { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
              { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg', detail: 'high' }, cache_control: { type: 'ephemeral' } },
            ],
          },
        ],
      }),
      'm',
    );
    expect(out.messages[0].content).toEqual([
      { type: 'text', text: 'What is this?' },
      { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
      { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' }, cache_control: { type: 'ephemeral' } },
    ]);
    expectInvalid(
      () => toAnthropicRequest(request({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'ftp://x/y.png' } }] }] }), 'm'),
      'messages[0].content[0].image_url.url',
    );
  });

  it('rejects n > 1 and unsupported content', () => {
    expectInvalid(() => toAnthropicRequest(request({ n: 2 }), 'm'), 'n', 'anthropic models support n = 1 only');
    expect(() => toAnthropicRequest(request({ n: 1 }), 'm')).not.toThrow();
    expectInvalid(
      () => toAnthropicRequest(request({ messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: {} }] }] }), 'm'),
      'messages[0].content[0].type',
    );
    expectInvalid(() => toAnthropicRequest(request({ messages: [{ role: 'tool', content: 'x' }] }), 'm'), 'messages[0].tool_call_id');
  });
});

describe('fromAnthropicMessage', () => {
  const message: AnthropicResponse = {
    id: 'msg_01',
    model: 'claude-sonnet-4-5-20250929',
    content: [
      { type: 'text', text: 'Checking ' },
      { type: 'text', text: 'the weather.' },
      { type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: { city: 'Paris' } },
    ],
    stop_reason: 'tool_use',
    usage: { input_tokens: 100, output_tokens: 20, cache_read_input_tokens: 1000, cache_creation_input_tokens: 50 },
  };

  it('builds a chat.completion with tool calls and normalized usage', () => {
    const { json, usage } = fromAnthropicMessage(message, 1_700_000_000);
    expect(usage).toEqual({ promptTokens: 1150, completionTokens: 20, cachedTokens: 1000, cacheWriteTokens: 50 });
    expect(JSON.parse(json)).toEqual({
      id: 'msg_01',
      object: 'chat.completion',
      created: 1_700_000_000,
      model: 'claude-sonnet-4-5-20250929',
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: 'Checking the weather.',
            tool_calls: [{ id: 'toolu_01', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
          },
          finish_reason: 'tool_calls',
        },
      ],
      usage: { prompt_tokens: 1150, completion_tokens: 20, total_tokens: 1170, prompt_tokens_details: { cached_tokens: 1000, cache_write_tokens: 50 } },
    });
  });

  it('maps stop reasons and gives null content when there is no text', () => {
    const finish = (stop_reason: string) => JSON.parse(fromAnthropicMessage({ ...message, stop_reason }).json).choices[0].finish_reason;
    expect(finish('end_turn')).toBe('stop');
    expect(finish('stop_sequence')).toBe('stop');
    expect(finish('pause_turn')).toBe('stop');
    expect(finish('max_tokens')).toBe('length');
    expect(finish('refusal')).toBe('content_filter');
    const toolOnly = JSON.parse(fromAnthropicMessage({ ...message, content: [message.content[2]] }).json);
    expect(toolOnly.choices[0].message.content).toBeNull();
  });

  it('treats missing cache fields as zero', () => {
    expect(fromAnthropicUsage({ input_tokens: 7, output_tokens: 3 })).toEqual({ promptTokens: 7, completionTokens: 3, cachedTokens: 0, cacheWriteTokens: 0 });
    expect(fromAnthropicUsage({ input_tokens: 7, output_tokens: 3, cache_read_input_tokens: null })).toMatchObject({ promptTokens: 7, cachedTokens: 0 });
  });
});

// ---------------------------------------------------------------------------------------------

const sse = (event: string, data: object) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

/** A stream of the given text, split into awkward pieces to exercise the SSE parser too. */
function bodyOf(text: string, pieceSize = 37): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  let offset = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(offset, offset + pieceSize));
      offset += pieceSize;
    },
  });
}

const START = sse('message_start', {
  type: 'message_start',
  message: {
    id: 'msg_stream',
    type: 'message',
    role: 'assistant',
    model: 'claude-haiku-4-5',
    content: [],
    stop_reason: null,
    stop_sequence: null,
    usage: { input_tokens: 25, cache_creation_input_tokens: 10, cache_read_input_tokens: 2000, output_tokens: 1 },
  },
});

const TRANSCRIPT = [
  START,
  sse('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
  sse('ping', { type: 'ping' }),
  sse('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Let me ' } }),
  sse('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'check.' } }),
  sse('content_block_stop', { type: 'content_block_stop', index: 0 }),
  sse('content_block_start', { type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'toolu_A', name: 'get_weather', input: {} } }),
  sse('content_block_delta', { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '' } }),
  sse('content_block_delta', { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"city": "Par' } }),
  sse('content_block_delta', { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: 'is"}' } }),
  sse('content_block_stop', { type: 'content_block_stop', index: 1 }),
  sse('content_block_start', { type: 'content_block_start', index: 2, content_block: { type: 'tool_use', id: 'toolu_B', name: 'now', input: {} } }),
  sse('content_block_stop', { type: 'content_block_stop', index: 2 }),
  sse('message_delta', {
    type: 'message_delta',
    delta: { stop_reason: 'tool_use', stop_sequence: null },
    usage: { input_tokens: null, cache_read_input_tokens: 2000, output_tokens: 42 },
  }),
  sse('message_stop', { type: 'message_stop' }),
].join('');

async function collect(reader: PartReader): Promise<{ parts: StreamPart[]; error?: unknown }> {
  const parts: StreamPart[] = [];
  try {
    for (let part = await reader.read(); part !== null; part = await reader.read()) parts.push(part);
    return { parts };
  } catch (error) {
    return { parts, error };
  }
}

describe('anthropicStreamParts', () => {
  it('translates a text + tool_use stream into OpenAI chunks', async () => {
    const { parts, error } = await collect(anthropicStreamParts(readSse(bodyOf(TRANSCRIPT))));
    expect(error).toBeUndefined();
    const chunks = parts.map((p) => JSON.parse(p.data!));
    for (const chunk of chunks) {
      expect(chunk).toMatchObject({ id: 'msg_stream', object: 'chat.completion.chunk', model: 'claude-haiku-4-5' });
      expect(typeof chunk.created).toBe('number');
    }
    const deltas = chunks.slice(0, -1).map((c) => c.choices[0].delta);
    expect(deltas).toEqual([
      { role: 'assistant', content: '' },
      { content: 'Let me ' },
      { content: 'check.' },
      { tool_calls: [{ index: 0, id: 'toolu_A', type: 'function', function: { name: 'get_weather', arguments: '' } }] },
      { tool_calls: [{ index: 0, function: { arguments: '{"city": "Par' } }] },
      { tool_calls: [{ index: 0, function: { arguments: 'is"}' } }] },
      { tool_calls: [{ index: 1, id: 'toolu_B', type: 'function', function: { name: 'now', arguments: '' } }] },
      // A tool with no input streams no JSON; clients get "{}".
      { tool_calls: [{ index: 1, function: { arguments: '{}' } }] },
      {},
    ]);
    expect(chunks.slice(0, -2).every((c) => c.choices[0].finish_reason === null)).toBe(true);
    expect(chunks.at(-2).choices[0].finish_reason).toBe('tool_calls');

    // message_start reports the input side at once.
    expect(parts[0].usage).toEqual({ promptTokens: 2035, completionTokens: 1, cachedTokens: 2000, cacheWriteTokens: 10 });
    // message_delta's cumulative output wins; its null input_tokens does not erase the known count.
    const finalUsage = { promptTokens: 2035, completionTokens: 42, cachedTokens: 2000, cacheWriteTokens: 10 };
    expect(parts.at(-2)!.usage).toEqual(finalUsage);

    const last = parts.at(-1)!;
    expect(last.usageOnly).toBe(true);
    expect(last.usage).toEqual(finalUsage);
    expect(chunks.at(-1)).toMatchObject({
      choices: [],
      usage: { prompt_tokens: 2035, completion_tokens: 42, total_tokens: 2077, prompt_tokens_details: { cached_tokens: 2000 } },
    });
    expect(parts.filter((p) => p.usageOnly)).toHaveLength(1);
  });

  it('errors the stream with a ProxyError on an error event', async () => {
    const body =
      START +
      sse('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }) +
      sse('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hel' } }) +
      sse('error', { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }) +
      sse('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'lo' } });
    const { parts, error } = await collect(anthropicStreamParts(readSse(bodyOf(body))));
    expect(parts.map((p) => JSON.parse(p.data!).choices[0].delta)).toEqual([{ role: 'assistant', content: '' }, { content: 'Hel' }]);
    expect(error).toBeInstanceOf(ProxyError);
    expect((error as ProxyError).status).toBe(503);
    expect((error as ProxyError).message).toContain('Overloaded');

    const other = await collect(
      anthropicStreamParts(readSse(bodyOf(START + sse('error', { type: 'error', error: { type: 'api_error', message: 'Internal' } })))),
    );
    expect((other.error as ProxyError).status).toBe(502);
    expect((other.error as ProxyError).message).toContain('Internal');
  });

  it('errors the stream when the upstream ends before message_stop', async () => {
    const cut = TRANSCRIPT.slice(0, TRANSCRIPT.indexOf('event: message_delta'));
    const { parts, error } = await collect(anthropicStreamParts(readSse(bodyOf(cut))));
    expect(parts.length).toBeGreaterThan(0);
    expect(error).toBeInstanceOf(ProxyError);
    expect(error).toMatchObject({ status: 502, message: 'The anthropic stream ended early.', code: 'upstream_stream_incomplete' });
  });

  it('cancels the upstream when the client cancels', async () => {
    let cancelled: unknown = 'not cancelled';
    const bytes = new TextEncoder().encode(START);
    let sent = false;
    const upstream = new ReadableStream<Uint8Array>({
      pull(controller) {
        // After the first event the upstream stalls, like a slow model.
        if (!sent) controller.enqueue(bytes);
        sent = true;
        return new Promise(() => {});
      },
      cancel(reason) {
        cancelled = reason;
      },
    });
    const reader = anthropicStreamParts(readSse(upstream));
    expect((await reader.read())?.usage?.promptTokens).toBe(2035);
    await reader.cancel('client left');
    expect(cancelled).toBe('client left');
  });
});
