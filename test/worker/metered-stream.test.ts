/**
 * The metered stream and the answer it assembles on the side (for the response cache and stored
 * content): whatever an upstream chunk holds, the client's stream goes on and the call is logged.
 */
import { describe, expect, it } from 'vitest';
import { CompletionAssembler } from '../../proxy/endpoints/chat-completions/chunks';
import { meterStream, type StreamOutcome } from '../../proxy/streaming/metered-stream';
import { chatFraming } from '../../proxy/streaming/framing';
import { partsOf } from '../../proxy/streaming/parts';
import { ZERO_USAGE } from '../../proxy/core/usage';
import { createTestTenant, loggedRow } from './fixtures';
import { callAdmin, nonce, postJson, upstreamEnv } from './harness';

const chunk = (delta: object, finish: string | null = null) =>
  JSON.stringify({ id: 'c1', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] });
const toolCall = (index: unknown) => chunk({ tool_calls: [{ index, id: 'call_1', function: { name: 'f', arguments: '{}' } }] });

describe('the assembled answer', () => {
  it('is dropped, not thrown, when a chunk is not JSON or names a tool call out of order', () => {
    for (const bad of ['{not json', toolCall('__proto__'), toolCall(1e9), toolCall(-1), toolCall(1.5), toolCall(1)]) {
      const assembler = new CompletionAssembler();
      assembler.add(chunk({ role: 'assistant', content: 'hi' }));
      expect(() => assembler.add(bad)).not.toThrow();
      assembler.add(chunk({}, 'stop'));
      expect(assembler.result(ZERO_USAGE), bad).toBeNull();
    }
    expect(({} as Record<string, unknown>).function).toBeUndefined();
    expect(([] as unknown as Record<string, unknown>).function).toBeUndefined();
  });

  it('keeps tool calls given in order', () => {
    const assembler = new CompletionAssembler();
    assembler.add(toolCall(0));
    assembler.add(toolCall(1));
    assembler.add(chunk({}, 'tool_calls'));
    expect(JSON.parse(assembler.result(ZERO_USAGE)!).choices[0].message.tool_calls).toHaveLength(2);
  });
});

describe('the metered stream', () => {
  it('ends with an error event and reports its end when a chunk hook throws', async () => {
    let outcome: StreamOutcome | null = null;
    const { body, ended } = meterStream(partsOf([{ data: chunk({ content: 'a' }) }, { data: chunk({ content: 'b' }) }]), {
      includeUsage: false,
      framing: chatFraming,
      startedAt: Date.now(),
      onChunk: () => {
        throw new Error('hook failed');
      },
      idleTimeoutMs: 60_000,
      abandonedMeterMs: 0,
      onEnd: async (o) => void (outcome = o),
    });
    const text = await new Response(body).text();
    await ended;
    expect(text).toContain('"internal_error"');
    expect(outcome).toMatchObject({ status: 500 });
  });

  it('streams on and logs the call when the upstream sends chunks the assembler cannot use', async () => {
    const tenant = await createTestTenant({ store_content: true });
    const ask = () =>
      postJson(
        '/v1/chat/completions',
        { model: 'openai/gpt-4o-mini', stream: true, temperature: 0, messages: [{ role: 'user', content: `upstream:bad-chunk ${tag}` }] },
        { apiKey: tenant.apiKey, env: upstreamEnv() },
      );
    const tag = nonce();
    const call = await ask();
    const text = await call.response.text();
    await call.settled();
    expect(text).toContain(`Echo:`);
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    const id = call.response.headers.get('x-request-id');
    expect(await loggedRow(id)).toMatchObject({ status: 200, usage_estimated: 0 });
    // The assembled copy was dropped: no stored answer, nothing cached.
    const detail = (await (await callAdmin(`/admin/requests/${id}`)).response.json()) as { content: { response: string | null } };
    expect(detail.content.response).toBeNull();
    const again = await ask();
    await again.response.text();
    expect(again.response.headers.get('x-proxy-cache')).toBe('MISS');
  });
});
