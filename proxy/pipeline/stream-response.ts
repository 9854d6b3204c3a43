/**
 * A streamed answer on its way to the client: metered as it goes (re-framed part by part, or
 * the upstream's bytes passed through and a copy metered), and at its end, however it ends,
 * the reservation settled, the call's one row written and a complete answer handed on (to the
 * response cache, to the stored content).
 */
import { clientClosed } from '../core/errors';
import type { CacheStatus } from '../core/request-record';
import type { Usage } from '../core/usage';
import type { AppContext } from '../http/context';
import { failoverPolicy } from '../routing/failover';
import { meterStream, type MeterOptions, type StreamOutcome } from '../streaming/metered-stream';
import type { StreamFraming } from '../streaming/framing';
import type { PartReader } from '../streaming/parts';
import { passThroughStream } from '../streaming/pass-through-stream';
import { recordCall } from './call';

/** Builds the complete answer a stream amounts to from its events, or null when it cannot. */
export interface AnswerAssembler {
  add(data: string): void;
  result(usage: Usage): string | null;
}

export interface StreamHandling {
  cache: CacheStatus;
  /** The client asked for the usage event: usage-only parts are sent, not dropped. */
  includeUsage: boolean;
  /** How the client's stream is written (streaming/framing.ts). */
  framing: StreamFraming;
  /** Makes the assembler of the endpoint's answers; used when the answer is to be cached, stored or evaluated. */
  assembler: () => AnswerAssembler;
  /** Receives the assembled answer of a stream that completed. */
  onComplete?: (json: string, usage: Usage) => Promise<unknown>;
  /** The id under which the upstream keeps the answer, once the stream has ended (for the row). */
  responseId?: () => string | null;
}

/** A streamed answer: its parts, and the upstream's bytes when they can be passed through (providers/types.ts). */
export interface StreamedAnswer {
  parts: PartReader;
  passThrough?: ReadableStream<Uint8Array>;
}

/**
 * What to bill for a stream that ended without the provider's final usage (abandoned or
 * failed): the last usage reported, or else an estimate from the prompt and the chunks sent.
 */
function streamUsage(outcome: StreamOutcome, promptTokens: number, reasons: boolean): { usage: Usage; estimated: boolean } {
  if (outcome.usageFinal && outcome.usage) return { usage: outcome.usage, estimated: false };
  const reported = outcome.usage;
  return {
    usage: {
      promptTokens: reported?.promptTokens || promptTokens,
      completionTokens: Math.max(reported?.completionTokens ?? 0, outcome.chunksSent, reasons ? REASONING_OUTPUT_FLOOR : 0),
      cachedTokens: reported?.cachedTokens ?? 0,
      cacheWriteTokens: reported?.cacheWriteTokens ?? 0,
    },
    estimated: true,
  };
}

/**
 * The least output an abandoned or failed stream of a reasoning model is billed when no usage
 * came back: such a model thinks (hidden, billed as output) before it writes anything.
 */
export const REASONING_OUTPUT_FLOOR = 1024;

/** OpenAI's reasoning models, by name; other providers' reasoning is asked for in the request. */
const REASONING_MODELS = /^(o\d|gpt-5)/;

export function streamResponse(c: AppContext, answer: StreamedAnswer, headers: Record<string, string>, handling: StreamHandling): Response {
  const call = c.get('call');
  const { parts, passThrough } = answer;
  // The client left while the answer was being prepared (a cache read, say): its row is written.
  if (call.logged) {
    parts.cancel().catch(() => {});
    throw clientClosed();
  }
  const assembler = handling.onComplete || call.requestText !== null || call.evaluation ? handling.assembler() : null;
  const policy = failoverPolicy(c.env);
  const options: MeterOptions = {
    includeUsage: handling.includeUsage,
    framing: handling.framing,
    startedAt: c.get('startedAt'),
    idleTimeoutMs: policy.idleTimeoutMs,
    abandonedMeterMs: policy.abandonedMeterMs,
    onChunk: assembler ? (data) => assembler.add(data) : undefined,
    onEnd: async (outcome) => {
      if (outcome.status === 499) call.controller.abort();
      const { usage, estimated } = streamUsage(outcome, call.promptTokens, call.reasoning || REASONING_MODELS.test(call.resolved?.model ?? ''));
      const completed = assembler && outcome.status === 200 && !estimated ? assembler.result(usage) : null;
      await Promise.all([
        completed && handling.onComplete ? handling.onComplete(completed, usage) : null,
        recordCall(c, {
          status: outcome.status,
          error: outcome.error,
          usage,
          usageEstimated: estimated,
          ttftMs: outcome.ttftMs,
          cache: handling.cache,
          responseText: completed,
          responseId: handling.responseId?.(),
        }).written,
      ]);
    },
  };
  const { body: stream, ended } = passThrough
    ? passThroughStream(passThrough, parts, { ...options, clientSignal: c.req.raw.signal })
    : meterStream(parts, options);
  // From here the metered stream writes the call's row, however the stream ends.
  call.logged = true;
  c.executionCtx.waitUntil(ended);
  return new Response(stream, {
    headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', ...headers },
  });
}
