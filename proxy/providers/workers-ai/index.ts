/**
 * Workers AI through the `AI` binding. It has no local emulation, so without the binding
 * every call fails with a message that says how to add it.
 */
import { ProxyError } from '../../core/errors';
import { nextUpstreamEvent, upstreamError, upstreamText } from '../upstream';
import { readSse } from '../../streaming/sse';
import { type PartReader, partReader, type StreamPart } from '../../streaming/parts';
import { estimateTokens, fromOpenAIUsage, toOpenAIUsage, type Usage } from '../../core/usage';
import { estimatePromptTokens, messageText } from '../content';
import type { ChatCall, ChatResult, EmbeddingsCall, EmbeddingsResult, Provider } from '../types';
import { saltedChatRequest } from '../prompt-cache-salt';
import type { Env } from '../../core/env';

const MISSING_BINDING = 'the Workers AI binding `AI` is not configured: add "ai": { "binding": "AI" } to wrangler.jsonc and deploy (it has no local emulation)';

interface AiTextOutput {
  response?: string | null;
  tool_calls?: Array<{ name: string; arguments: unknown }>;
  usage?: { prompt_tokens?: number; completion_tokens?: number };
}

function binding(env: Env): Ai {
  if (!env.AI) throw new ProxyError(503, `Workers AI is unavailable: ${MISSING_BINDING}.`, { type: 'upstream_error', code: 'provider_not_configured' });
  return env.AI;
}

async function run(env: Env, model: string, inputs: Record<string, unknown>): Promise<unknown> {
  try {
    return await (binding(env).run as (m: string, i: unknown) => Promise<unknown>)(model, inputs);
  } catch (error) {
    if (error instanceof ProxyError) throw error;
    const message = upstreamText(error instanceof Error ? error.message : String(error), env);
    throw new ProxyError(502, `The workers-ai upstream failed: ${message}`, { type: 'upstream_error', code: 'upstream_error', cause: error });
  }
}

function chatInputs(call: ChatCall): Record<string, unknown> {
  const { body } = call;
  return {
    messages: body.messages.map((m) => ({ role: m.role, content: messageText(m.content), ...(m.tool_call_id ? { tool_call_id: m.tool_call_id } : {}) })),
    ...(body.tools ? { tools: body.tools } : {}),
    ...((body.max_completion_tokens ?? body.max_tokens) ? { max_tokens: body.max_completion_tokens ?? body.max_tokens } : {}),
    ...(body.temperature != null ? { temperature: body.temperature } : {}),
    ...(body.top_p != null ? { top_p: body.top_p } : {}),
    stream: !!body.stream,
  };
}

/** Workers AI may omit usage; then it is estimated from the text so the call is still priced. */
function usageOf(output: AiTextOutput | undefined, call: ChatCall, completionText: string): Usage {
  if (output?.usage) return fromOpenAIUsage(output.usage);
  return { promptTokens: estimatePromptTokens(call.body.messages), completionTokens: estimateTokens(completionText), cachedTokens: 0, cacheWriteTokens: 0 };
}

/** A stream event's JSON object, or null when the event is not one. */
function parsedEvent(data: string): AiTextOutput | null {
  try {
    const value: unknown = JSON.parse(data);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as AiTextOutput) : null;
  } catch {
    return null;
  }
}

/**
 * Workers AI's events ({ response, usage }) as OpenAI chunks. As with the other providers, every
 * failure is a 502 upstream error: a lost stream, an event that is not JSON, and a stream that
 * ends without [DONE] (a cut-off answer must not be logged as complete).
 */
function streamParts(call: ChatCall, body: ReadableStream<Uint8Array>): PartReader {
  const events = readSse(body);
  const id = `chatcmpl-${crypto.randomUUID()}`;
  const created = Math.floor(Date.now() / 1000);
  const model = call.model;
  const chunk = (choices: unknown[], extra: object = {}) => JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices, ...extra });
  let text = '';
  let usage: Usage | undefined;
  let started = false;
  let finished = false;
  return partReader(
    async (): Promise<StreamPart[] | null> => {
      if (finished) return null;
      const event = await nextUpstreamEvent(events, 'workers-ai');
      if (event === null) throw upstreamError('The workers-ai stream ended before the answer was complete.', 'upstream_stream_incomplete');
      if (event.data === '[DONE]') {
        finished = true;
        const final = usage ?? usageOf(undefined, call, text);
        return [
          { data: chunk([{ index: 0, delta: {}, finish_reason: 'stop' }]) },
          { data: chunk([], { usage: toOpenAIUsage(final) }), usage: final, usageOnly: true },
        ];
      }
      const output = parsedEvent(event.data);
      if (!output) {
        await events.cancel().catch(() => {});
        throw upstreamError('The workers-ai upstream sent a stream event that is not a JSON object.', 'upstream_bad_response');
      }
      if (output.usage) usage = fromOpenAIUsage(output.usage);
      const piece = typeof output.response === 'string' ? output.response : '';
      text += piece;
      const delta = started ? { content: piece } : { role: 'assistant', content: piece };
      started = true;
      return [{ data: chunk([{ index: 0, delta, finish_reason: null }]), ...(usage ? { usage } : {}) }];
    },
    { cancel: (reason) => events.cancel(reason), sourceBuffered: () => events.buffered() },
  );
}

export const workersAi: Provider = {
  name: 'workers-ai',
  speaks: () => false,

  unavailableReason: (env) => (env.AI ? null : MISSING_BINDING),

  async chat(sent: ChatCall): Promise<ChatResult> {
    // Workers AI may reuse prompt prefixes across the account's calls: an isolated tenant's prompt begins with its salt here too.
    const call = { ...sent, body: saltedChatRequest(sent.body, sent.promptCacheSalt) };
    const output = await run(call.env, call.model, chatInputs(call));
    if (call.body.stream) {
      if (!(output instanceof ReadableStream))
        throw new ProxyError(502, 'The workers-ai upstream did not stream.', { type: 'upstream_error', code: 'upstream_bad_response' });
      return { kind: 'stream', parts: streamParts(call, output) };
    }
    const result = output as AiTextOutput;
    const content = result.response ?? '';
    const toolCalls = result.tool_calls?.map((tc, i) => ({
      id: `call_${i}_${crypto.randomUUID().slice(0, 8)}`,
      type: 'function',
      function: { name: tc.name, arguments: typeof tc.arguments === 'string' ? tc.arguments : JSON.stringify(tc.arguments ?? {}) },
    }));
    const usage = usageOf(result, call, content);
    const json = JSON.stringify({
      id: `chatcmpl-${crypto.randomUUID()}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: call.model,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: toolCalls?.length ? null : content, ...(toolCalls?.length ? { tool_calls: toolCalls } : {}) },
          finish_reason: toolCalls?.length ? 'tool_calls' : 'stop',
        },
      ],
      usage: toOpenAIUsage(usage),
    });
    return { kind: 'completion', json, usage };
  },

  async embeddings(call: EmbeddingsCall): Promise<EmbeddingsResult> {
    const input = call.body.input;
    const texts = (Array.isArray(input) ? input : [input]).map((t) => (typeof t === 'string' ? t : JSON.stringify(t)));
    const output = (await run(call.env, call.model, { text: texts })) as { data?: number[][]; usage?: { prompt_tokens?: number } };
    const promptTokens = output.usage?.prompt_tokens ?? texts.reduce((sum, t) => sum + estimateTokens(t), 0);
    return {
      json: JSON.stringify({
        object: 'list',
        data: (output.data ?? []).map((embedding, index) => ({ object: 'embedding', index, embedding })),
        model: call.model,
        usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
      }),
      usage: { promptTokens, completionTokens: 0, cachedTokens: 0, cacheWriteTokens: 0 },
    };
  },
};
