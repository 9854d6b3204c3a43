/**
 * How a stream is written for the client's API. Both ways a stream travels (re-framed part by
 * part, or the upstream's bytes passed through) end the same way: with the API's own closing
 * (Chat Completions' `data: [DONE]`) or its own error event. An endpoint that re-frames the
 * internal form's chunks into another API (Responses, Messages) gives a stateful framing that
 * writes that API's events instead.
 */
import type { ProxyError } from '../core/errors';
import type { Usage } from '../core/usage';
import type { StreamPart } from './parts';
import { sseText } from './sse';

export interface StreamFraming {
  /** The client's SSE text for a part that goes to it. */
  event(part: StreamPart): string;
  /** What ends a stream that completed (given the usage billed); on the pass-through path, only when the upstream did not end it itself. */
  end(usage: Usage | null): string;
  /** The event that ends a failed stream. */
  error(error: ProxyError): string;
}

/** One named SSE event (`event:` line, then `data:`), as Responses and Messages streams send them. */
export const namedEvent = (name: string, data: string) => `event: ${name}\ndata: ${data}\n\n`;

const DONE = sseText('[DONE]');

/** Chat Completions: unnamed `data:` events, `[DONE]` at the end, OpenAI's error body as the failure event. */
export const chatFraming: StreamFraming = {
  event: (part) => sseText(part.data!),
  end: () => DONE,
  error: (error) => sseText(JSON.stringify(error.toBody())),
};

/** Parts that already are the client API's events (a replay, a native stream): written as they are, named when they have a name. */
export const eventsFraming = (error: (error: ProxyError) => string): StreamFraming => ({
  event: (part) => (part.event ? namedEvent(part.event, part.data!) : sseText(part.data!)),
  end: () => '',
  error,
});
