/**
 * The built-in mock provider: a deterministic, OpenAI-shaped simulated model, so that the
 * proxy, its logs and the dashboard work on a fresh machine with no provider account.
 *
 * - The reply is a function of the messages (same prompt, same answer); usage is counted the
 *   way OpenAI counts it (about four characters a token, plus per-message overhead).
 * - A prompt of 1,024 tokens or more that this isolate has seen before reports cached input
 *   tokens, like OpenAI's automatic prompt caching: shared by every tenant, as a provider's is,
 *   except that an isolated tenant's prompt begins with its salt (../prompt-cache-salt.ts), which
 *   is read and counted like the rest of the prompt.
 * - Latency: MOCK_LATENCY_MS before the first token, MOCK_CHUNK_DELAY_MS between chunks.
 * - mock-large elaborates: its replies run longer than mock-mini's, as a larger model's tend to.
 * - Asked (forced) to call shadow evaluation's verdict tool, it answers as a simulated judge
 *   (judge.ts); any other forced tool call gets `{}` as its arguments.
 * - Failures: MOCK_FAILURE_RATE (0..1) of calls fail with a 503; a message containing
 *   `mock:fail=<status>` always fails with that status, `mock:stream-error` fails mid-stream,
 *   and `mock:latency=<ms>` sets the latency of that call.
 */
import { clientClosed, invalidRequest } from '../../core/errors';
import { estimateTokens, toOpenAIUsage, type Usage } from '../../core/usage';
import { estimatePromptTokens, messageText } from '../content';
import { upstreamFailure } from '../upstream';
import { type PartReader, partReader, type StreamPart } from '../../streaming/parts';
import type { ChatCall, ChatResult, EmbeddingsCall, EmbeddingsResult, Provider } from '../types';
import { saltedChatRequest } from '../prompt-cache-salt';
import { numberVar } from '../../core/config';
import { fnv1a } from '../../core/hash';
import { VERDICT_TOOL } from '../../evaluation/verdict';
import { mockVerdictArguments } from './judge';

const VOCABULARY = (
  'the proxy routes each request to a model tier and records tokens latency cost and tenant so ' +
  'finance sees spend while on-call watches errors cheap models handle most tasks well caching ' +
  'avoids paying twice for the same answer budgets keep every tenant inside its limits'
).split(' ');

const WORDS_PER_CHUNK = 3;
/** Words a model adds to every reply: mock-large elaborates, so a judge has a difference to find. */
const ELABORATION: Record<string, number> = { 'mock-large': 60 };
const PROMPT_CACHE_MIN_TOKENS = 1024;
const PROMPT_CACHE_BLOCK = 128;

/** Prompt prefixes seen by this isolate, to simulate a provider-side prompt cache. */
const seenPrompts = new Set<number>();

/** mulberry32: a tiny seeded PRNG, so the reply is reproducible. */
function seededRandom(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function directive(text: string, name: string): string | undefined {
  return new RegExp(`mock:${name}(?:=(\\d+))?`).exec(text)?.[1] ?? (text.includes(`mock:${name}`) ? '' : undefined);
}

/** Simulated latency; a cancelled call fails at once, as a real upstream fetch would. */
const sleep = (ms: number, signal: AbortSignal) =>
  ms <= 0
    ? Promise.resolve()
    : new Promise<void>((resolve, reject) => {
        if (signal.aborted) return reject(clientClosed());
        const onAbort = () => {
          clearTimeout(timer);
          reject(clientClosed());
        };
        const timer = setTimeout(() => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        }, ms);
        signal.addEventListener('abort', onAbort, { once: true });
      });

interface Plan {
  id: string;
  created: number;
  words: string[];
  finishReason: 'stop' | 'length' | 'tool_calls';
  toolCall?: { id: string; name: string; arguments: string };
  usage: Usage;
  latencyMs: number;
  chunkDelayMs: number;
  streamError: boolean;
}

function plan(call: ChatCall): Plan {
  const { body, env } = call;
  const transcript = body.messages.map((m) => `${m.role}:${messageText(m.content)}`).join('\n');
  const seed = fnv1a(`${call.model}\n${transcript}`);
  const random = seededRandom(seed);

  const failWith = directive(transcript, 'fail');
  if (failWith !== undefined) throw upstreamFailure('mock', Number(failWith) || 500, 'simulated failure (mock:fail)');
  if (Math.random() < numberVar(env.MOCK_FAILURE_RATE, 0)) throw upstreamFailure('mock', 503, 'simulated failure (MOCK_FAILURE_RATE)');

  const promptTokens = estimatePromptTokens(body.messages);
  const cacheable = promptTokens >= PROMPT_CACHE_MIN_TOKENS;
  const cachedTokens = cacheable && seenPrompts.has(seed) ? Math.floor(promptTokens / PROMPT_CACHE_BLOCK) * PROMPT_CACHE_BLOCK : 0;
  if (cacheable) seenPrompts.add(seed);

  const limit = body.max_completion_tokens ?? body.max_tokens ?? Infinity;
  const lastUser = [...body.messages].reverse().find((m) => m.role === 'user');
  const opening = ['Mock', 'reply', 'to:', ...messageText(lastUser?.content).split(/\s+/).filter(Boolean).slice(0, 6)];
  const length = 12 + Math.floor(random() * 60) + (ELABORATION[call.model] ?? 0);
  const words = [...opening, ...Array.from({ length }, () => VOCABULARY[Math.floor(random() * VOCABULARY.length)])];

  const wantsTool = body.tools?.length && body.tool_choice !== 'none' && (body.tool_choice === 'required' || typeof body.tool_choice === 'object');
  const toolName =
    typeof body.tool_choice === 'object' && body.tool_choice
      ? ((body.tool_choice as { function?: { name?: string } }).function?.name ?? body.tools![0].function.name)
      : body.tools?.[0]?.function.name;
  const toolArguments = toolName === VERDICT_TOOL ? mockVerdictArguments(messageText(lastUser?.content)) : '{}';
  const toolCall = wantsTool && toolName ? { id: `call_${seed.toString(36)}`, name: toolName, arguments: toolArguments } : undefined;

  const truncated = !toolCall && words.length > limit;
  const kept = toolCall ? [] : truncated ? words.slice(0, Math.max(0, limit)) : words;
  const latency = directive(transcript, 'latency');
  return {
    id: `chatcmpl-mock${seed.toString(36)}`,
    created: Math.floor(Date.now() / 1000),
    words: kept,
    finishReason: toolCall ? 'tool_calls' : truncated ? 'length' : 'stop',
    toolCall,
    usage: { promptTokens, completionTokens: toolCall ? 8 : kept.length, cachedTokens, cacheWriteTokens: 0 },
    latencyMs: latency ? Number(latency) : numberVar(env.MOCK_LATENCY_MS, 0),
    chunkDelayMs: numberVar(env.MOCK_CHUNK_DELAY_MS, 0),
    streamError: directive(transcript, 'stream-error') !== undefined,
  };
}

function completionJson(model: string, p: Plan): string {
  return JSON.stringify({
    id: p.id,
    object: 'chat.completion',
    created: p.created,
    model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: p.toolCall ? null : p.words.join(' '),
          ...(p.toolCall
            ? { tool_calls: [{ id: p.toolCall.id, type: 'function', function: { name: p.toolCall.name, arguments: p.toolCall.arguments } }] }
            : {}),
          refusal: null,
        },
        logprobs: null,
        finish_reason: p.finishReason,
      },
    ],
    usage: toOpenAIUsage(p.usage),
  });
}

function streamParts(model: string, p: Plan, signal: AbortSignal): PartReader {
  const chunk = (delta: object, finishReason: string | null = null) =>
    JSON.stringify({
      id: p.id,
      object: 'chat.completion.chunk',
      created: p.created,
      model,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    });
  const deltas: object[] = [{ role: 'assistant', content: '' }];
  if (p.toolCall)
    deltas.push({ tool_calls: [{ index: 0, id: p.toolCall.id, type: 'function', function: { name: p.toolCall.name, arguments: p.toolCall.arguments } }] });
  for (let i = 0; i < p.words.length; i += WORDS_PER_CHUNK) {
    deltas.push({ content: (i === 0 ? '' : ' ') + p.words.slice(i, i + WORDS_PER_CHUNK).join(' ') });
  }
  let next = 0;
  // Cancelling the parts (the idle watchdog, a client gone) ends the wait for the next chunk at once, as it would a fetch.
  const cancelled = new AbortController();
  const stopped = AbortSignal.any([signal, cancelled.signal]);
  return partReader(
    async (): Promise<StreamPart[] | null> => {
      if (next > deltas.length + 1) return null;
      if (next > 0) await sleep(p.chunkDelayMs, stopped);
      if (p.streamError && next === Math.min(2, deltas.length)) throw upstreamFailure('mock', 500, 'simulated failure mid-stream (mock:stream-error)');
      const at = next++;
      if (at < deltas.length) {
        const completionSoFar = Math.min(p.usage.completionTokens, at * WORDS_PER_CHUNK);
        return [{ data: chunk(deltas[at]), usage: { ...p.usage, completionTokens: completionSoFar } }];
      }
      if (at === deltas.length) return [{ data: chunk({}, p.finishReason) }];
      return [
        {
          data: JSON.stringify({ id: p.id, object: 'chat.completion.chunk', created: p.created, model, choices: [], usage: toOpenAIUsage(p.usage) }),
          usage: p.usage,
          usageOnly: true,
        },
      ];
    },
    { cancel: async () => cancelled.abort() },
  );
}

function embeddingVector(text: string, dimensions: number): number[] {
  const random = seededRandom(fnv1a(text));
  const raw = Array.from({ length: dimensions }, () => random() * 2 - 1);
  const norm = Math.hypot(...raw) || 1;
  return raw.map((v) => v / norm);
}

export const mock: Provider = {
  name: 'mock',
  speaks: () => false,
  unavailableReason: () => null,

  async chat(sent: ChatCall): Promise<ChatResult> {
    if ((sent.body.n ?? 1) > 1) throw invalidRequest('mock models support n = 1 only.', 'n');
    const call = { ...sent, body: saltedChatRequest(sent.body, sent.promptCacheSalt) };
    const p = plan(call);
    await sleep(p.latencyMs, call.signal);
    const model = call.model;
    return call.body.stream
      ? { kind: 'stream', parts: streamParts(model, p, call.signal) }
      : { kind: 'completion', json: completionJson(model, p), usage: p.usage };
  },

  async embeddings(call: EmbeddingsCall): Promise<EmbeddingsResult> {
    const inputs = Array.isArray(call.body.input) ? call.body.input : [call.body.input];
    const texts = inputs.map((input) => (typeof input === 'string' ? input : JSON.stringify(input)));
    const dimensions = call.body.dimensions ?? 256;
    const promptTokens = texts.reduce((sum, t) => sum + estimateTokens(t), 0);
    const usage: Usage = { promptTokens, completionTokens: 0, cachedTokens: 0, cacheWriteTokens: 0 };
    return {
      json: JSON.stringify({
        object: 'list',
        data: texts.map((t, index) => ({ object: 'embedding', index, embedding: embeddingVector(t, dimensions) })),
        model: call.model,
        usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
      }),
      usage,
    };
  },
};
