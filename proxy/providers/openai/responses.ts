/**
 * OpenAI's Responses API as the OpenAI provider speaks it natively: its usage in the proxy's
 * shape, and the reader that meters a copy of its stream while the client gets the upstream's
 * own bytes. A Responses stream has no `[DONE]`: it ends with `response.completed`,
 * `response.incomplete` or `response.failed`, each carrying the response with its usage.
 */
import { ProxyError } from '../../core/errors';
import { openAIInput, serviceTierOf, tokenCount, type Usage } from '../../core/usage';
import { partReader, type PartReader, type StreamPart } from '../../streaming/parts';
import { readSse } from '../../streaming/sse';
import { nextUpstreamEvent, upstreamError, upstreamText, type ProviderSecrets } from '../upstream';

/** Responses usage (`input_tokens`, `output_tokens` and their details) in the proxy's shape. */
export function fromResponsesUsage(usage: unknown): Usage {
  const u = (usage ?? {}) as {
    input_tokens?: unknown;
    output_tokens?: unknown;
    input_tokens_details?: { cached_tokens?: unknown; cache_write_tokens?: unknown };
    output_tokens_details?: { reasoning_tokens?: unknown };
  };
  return {
    ...openAIInput(u.input_tokens, u.input_tokens_details),
    completionTokens: tokenCount(u.output_tokens),
    reasoningTokens: tokenCount(u.output_tokens_details?.reasoning_tokens),
  };
}

/** The proxy's usage in Responses' shape. */
export function toResponsesUsage(usage: Usage) {
  return {
    input_tokens: usage.promptTokens,
    input_tokens_details: { cached_tokens: usage.cachedTokens, ...(usage.cacheWriteTokens ? { cache_write_tokens: usage.cacheWriteTokens } : {}) },
    output_tokens: usage.completionTokens,
    output_tokens_details: { reasoning_tokens: usage.reasoningTokens ?? 0 },
    total_tokens: usage.promptTokens + usage.completionTokens,
  };
}

/** The events that end a response, and whether the answer then counts as served. */
const TERMINAL = new Set(['response.completed', 'response.incomplete', 'response.failed']);

interface StreamEvent {
  type?: string;
  response?: { usage?: unknown; service_tier?: unknown; error?: { code?: string | null; message?: string } | null };
  code?: string | null;
  message?: string;
}

/**
 * Reads a Responses stream for metering. Every event is a part (`event` its type, `data` as
 * sent); the terminal event carries the final usage, then the stream is done. A failure the
 * upstream reports itself (an `error` event, `response.failed`) reaches the client in the
 * upstream's own words, so it is a part's `failure`, not a throw. A stream that ends with no
 * terminal event, or sends an event that is not JSON, is a 502 (retried before the first part).
 */
export function responsesStreamParts(body: ReadableStream<Uint8Array>, secrets: ProviderSecrets): PartReader {
  const events = readSse(body);
  let ended = false;
  let reported: ProxyError | null = null;
  return partReader(
    async () => {
      if (ended) return null;
      const event = await nextUpstreamEvent(events, 'openai');
      if (event === null) {
        if (reported) return [{ failure: reported }, { done: true }];
        throw upstreamError('The openai stream ended before the response was complete.', 'upstream_stream_incomplete');
      }
      // Only the events the meter reads are parsed (known by their SSE name): the terminal ones and
      // errors. The others pass as they are, since the client gets the upstream's bytes anyway.
      const named = event.event;
      if (named !== undefined && named !== 'error' && !TERMINAL.has(named)) return [{ event: named, data: event.data }];
      let parsed: StreamEvent;
      try {
        parsed = JSON.parse(event.data) as StreamEvent;
      } catch (error) {
        await events.cancel().catch(() => {});
        throw upstreamError('The openai upstream sent a stream event that is not JSON.', 'upstream_bad_response', { cause: error });
      }
      const type = parsed.type ?? event.event ?? '';
      const part: StreamPart = { event: type, data: event.data };
      if (type === 'error') {
        reported = upstreamError(
          `openai upstream failed mid-stream: ${upstreamText(String(parsed.message ?? 'unknown error'), secrets)}`,
          'upstream_stream_error',
        );
        return [part];
      }
      if (!TERMINAL.has(type)) return [part];
      ended = true;
      part.usage = { ...fromResponsesUsage(parsed.response?.usage), ...serviceTierOf(parsed.response?.service_tier) };
      part.usageFinal = true;
      if (type === 'response.failed') {
        const message = upstreamText(String(parsed.response?.error?.message ?? 'the response failed'), secrets);
        part.failure = reported ?? upstreamError(`openai upstream failed mid-stream: ${message}`, 'upstream_stream_error');
      }
      // Nothing follows the terminal event: the upstream connection is let go now.
      await events.cancel().catch(() => {});
      return [part, { done: true }];
    },
    { cancel: (reason) => events.cancel(reason), sourceBuffered: () => events.buffered() },
  );
}
