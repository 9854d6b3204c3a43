/** Anthropic's stream events read as Chat Completions chunks (the internal form's stream parts), usage kept as it grows. */
import { ProxyError } from '../../core/errors';
import { toOpenAIUsage } from '../../core/usage';
import { type PartReader, partReader, type StreamPart } from '../../streaming/parts';
import type { SseEvent, SseReader } from '../../streaming/sse';
import { nextUpstreamEvent, upstreamError, upstreamText, type ProviderSecrets } from '../upstream';
import type { AnthropicUsage } from './types';
import { fromAnthropicUsage, finishReason } from './translate';

interface StreamEvent {
  type: string;
  index?: number;
  message?: { id: string; model: string; usage?: AnthropicUsage };
  content_block?: { type: string; id?: string; name?: string; text?: string };
  delta?: { type?: string; text?: string; partial_json?: string; stop_reason?: string | null };
  usage?: AnthropicUsage;
  error?: { type?: string; message?: string };
}

function parseEvent(event: SseEvent): StreamEvent {
  try {
    const parsed = JSON.parse(event.data) as StreamEvent;
    // The `type` field and the SSE event name agree on Anthropic; compatible servers may send only one.
    return { ...parsed, type: parsed.type ?? event.event };
  } catch (error) {
    throw upstreamError('The anthropic upstream sent a stream event that is not JSON.', 'upstream_bad_response', { cause: error });
  }
}

/** Later usage numbers win; message_delta repeats some fields as null, which must not erase them. */
function mergeUsage(into: AnthropicUsage, from: AnthropicUsage | undefined): AnthropicUsage {
  const merged = { ...into };
  for (const [key, value] of Object.entries(from ?? {})) {
    if (typeof value === 'number') (merged as Record<string, unknown>)[key] = value;
  }
  if (from?.cache_creation) merged.cache_creation = { ...into.cache_creation, ...from.cache_creation };
  if (from?.service_tier) merged.service_tier = from.service_tier;
  if (from?.inference_geo) merged.inference_geo = from.inference_geo;
  return merged;
}

/**
 * Translates Anthropic stream events into OpenAI chunks, one upstream event per pull so the
 * answer is never buffered. Usage is reported on message_start (input side), on message_delta
 * (cumulative output) and in the final usage-only chunk on message_stop.
 */
export function anthropicStreamParts(events: SseReader, secrets: ProviderSecrets = {}): PartReader {
  const created = Math.floor(Date.now() / 1000);
  let id = '';
  let model = '';
  let rawUsage: AnthropicUsage = {};
  /** Content block index -> OpenAI tool call index (tool_use blocks only, counted from 0). */
  const toolIndexes = new Map<number, number>();
  /** Tool call indexes that have received argument text so far. */
  const toolsWithArguments = new Set<number>();
  let finished = false;

  const chunk = (delta: object, finish: string | null = null) =>
    JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, finish_reason: finish }] });
  const toolDelta = (index: number, fields: object) => chunk({ tool_calls: [{ index, ...fields }] });

  /** The parts one event produces: none for pings and bookkeeping events. */
  function translate(event: StreamEvent): StreamPart[] {
    switch (event.type) {
      case 'message_start': {
        id = event.message?.id ?? id;
        model = event.message?.model ?? model;
        rawUsage = mergeUsage(rawUsage, event.message?.usage);
        return [{ data: chunk({ role: 'assistant', content: '' }), usage: fromAnthropicUsage(rawUsage) }];
      }
      case 'content_block_start': {
        const block = event.content_block;
        if (block?.type === 'tool_use') {
          const index = toolIndexes.size;
          toolIndexes.set(event.index ?? -1, index);
          return [{ data: toolDelta(index, { id: block.id, type: 'function', function: { name: block.name, arguments: '' } }) }];
        }
        return block?.type === 'text' && block.text ? [{ data: chunk({ content: block.text }) }] : [];
      }
      case 'content_block_delta': {
        const delta = event.delta;
        if (delta?.type === 'text_delta' && delta.text) return [{ data: chunk({ content: delta.text }) }];
        const index = toolIndexes.get(event.index ?? -1);
        if (delta?.type === 'input_json_delta' && index !== undefined && delta.partial_json) {
          toolsWithArguments.add(index);
          return [{ data: toolDelta(index, { function: { arguments: delta.partial_json } }) }];
        }
        return []; // thinking and signature deltas have no OpenAI counterpart
      }
      case 'content_block_stop': {
        // A tool called without arguments streams no JSON at all; OpenAI clients expect "{}".
        const index = toolIndexes.get(event.index ?? -1);
        return index !== undefined && !toolsWithArguments.has(index) ? [{ data: toolDelta(index, { function: { arguments: '{}' } }) }] : [];
      }
      case 'message_delta': {
        rawUsage = mergeUsage(rawUsage, event.usage);
        return [{ data: chunk({}, finishReason(event.delta?.stop_reason)), usage: fromAnthropicUsage(rawUsage) }];
      }
      case 'message_stop': {
        finished = true;
        const usage = fromAnthropicUsage(rawUsage);
        const data = JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [], usage: toOpenAIUsage(usage) });
        return [{ data, usage, usageOnly: true }];
      }
      case 'error': {
        const overloaded = event.error?.type === 'overloaded_error';
        const message = `The anthropic upstream failed mid-stream: ${upstreamText(String(event.error?.message ?? 'unknown error'), secrets)}`;
        throw overloaded ? upstreamError(message, 'upstream_overloaded', { status: 503 }) : upstreamError(message, 'upstream_stream_error');
      }
      default:
        return []; // ping, and event types added to the API later
    }
  }

  return partReader(
    async () => {
      if (finished) return null;
      const event = await nextUpstreamEvent(events, 'anthropic');
      if (event === null) throw upstreamError('The anthropic stream ended early.', 'upstream_stream_incomplete');
      let parts: StreamPart[];
      try {
        parts = translate(parseEvent(event));
      } catch (error) {
        await events.cancel().catch(() => {});
        throw error instanceof ProxyError ? error : upstreamError('The anthropic stream was interrupted.', 'upstream_stream_error', { cause: error });
      }
      // Nothing follows message_stop; release the upstream connection now.
      if (finished) await events.cancel().catch(() => {});
      return parts;
    },
    { cancel: (reason) => events.cancel(reason), sourceBuffered: () => events.buffered() },
  );
}

interface NativeEvent {
  type?: string;
  message?: { usage?: AnthropicUsage };
  usage?: AnthropicUsage;
  error?: { type?: string; message?: string };
}

/**
 * Reads a Messages stream passed through to a Messages client, for metering: every event is a
 * part (`event` its type, `data` as sent). Usage grows from message_start (the input side) through
 * message_delta (the output so far) and is final at message_stop, after which nothing matters.
 * An `error` event reaches the client in Anthropic's own words, so it is the part's `failure`.
 * A stream that ends with neither is a 502 (retried before the first part).
 */
export function messagesStreamParts(events: SseReader, secrets: ProviderSecrets): PartReader {
  let rawUsage: AnthropicUsage = {};
  let failure: ProxyError | null = null;
  let ended = false;
  return partReader(
    async () => {
      if (ended) return null;
      const event = await nextUpstreamEvent(events, 'anthropic');
      if (event === null) {
        if (failure) return [{ failure }, { done: true }];
        throw upstreamError('The anthropic stream ended before the message was complete.', 'upstream_stream_incomplete');
      }
      // Only the events the meter reads are parsed (known by their SSE name): content blocks and
      // pings pass as they are, since the client gets the upstream's bytes anyway.
      const named = event.event;
      if (named === 'content_block_delta' || named === 'content_block_start' || named === 'content_block_stop' || named === 'ping')
        return [{ event: named, data: event.data }];
      let parsed: NativeEvent;
      try {
        parsed = JSON.parse(event.data) as NativeEvent;
      } catch (error) {
        await events.cancel().catch(() => {});
        throw upstreamError('The anthropic upstream sent a stream event that is not JSON.', 'upstream_bad_response', { cause: error });
      }
      const type = parsed.type ?? event.event ?? '';
      const part: StreamPart = { event: type, data: event.data };
      if (type === 'message_start' || type === 'message_delta') {
        rawUsage = mergeUsage(rawUsage, type === 'message_start' ? parsed.message?.usage : parsed.usage);
        part.usage = fromAnthropicUsage(rawUsage);
      } else if (type === 'error') {
        const overloaded = parsed.error?.type === 'overloaded_error';
        const message = `anthropic upstream failed mid-stream: ${upstreamText(String(parsed.error?.message ?? 'unknown error'), secrets)}`;
        failure = overloaded ? upstreamError(message, 'upstream_overloaded', { status: 503 }) : upstreamError(message, 'upstream_stream_error');
      } else if (type === 'message_stop') {
        ended = true;
        await events.cancel().catch(() => {});
        return [{ ...part, usage: fromAnthropicUsage(rawUsage), usageFinal: true }, { done: true }];
      }
      return [part];
    },
    { cancel: (reason) => events.cancel(reason), sourceBuffered: () => events.buffered() },
  );
}
