/**
 * Streamed answers inside the proxy: a pull-based reader of parts rather than a chain of
 * ReadableStreams. Each JS stream stage costs promise hops and queueing for every chunk; a
 * streamed call has at most one, the metered stream the client reads (metered-stream.ts), and
 * none when the upstream's bytes are passed through (pass-through-stream.ts).
 */
import type { ProxyError } from '../core/errors';
import type { Usage } from '../core/usage';

/** One item of a streamed answer. */
export interface StreamPart {
  /** An OpenAI `chat.completion.chunk` as JSON text (the internal form's stream event), sent to the client as one SSE event. */
  data?: string;
  /** Usage known so far (cumulative). The last one seen is what gets billed. */
  usage?: Usage;
  /** The chunk only carries usage (`choices: []`): sent only if the client asked for it. */
  usageOnly?: boolean;
  /** The upstream's own end of stream (OpenAI's `[DONE]`), which carries nothing else. */
  done?: boolean;
  /** The SSE event name, for APIs whose events are named (Responses, Messages). */
  event?: string;
  /** This usage is the provider's final count (an event that ends the answer and carries it). */
  usageFinal?: boolean;
  /**
   * The upstream ended the answer with this failure, already told to the client in its own
   * events (Responses' `response.failed`): the call is logged as failed, nothing more is sent.
   */
  failure?: ProxyError;
}

/** The parts of a streamed answer, one per read(); null at the end. read() rejects when the upstream fails mid-way. */
export interface PartReader {
  read(): Promise<StreamPart | null>;
  /** Whether read() can answer from what has already arrived, without waiting for the upstream. */
  buffered(): boolean;
  /**
   * Stops reading and releases the upstream. A read() waiting on the upstream must then settle
   * soon (as a cancelled fetch body's does): the metered stream's idle watchdog relies on it.
   */
  cancel(reason?: unknown): Promise<void>;
}

/**
 * A reader over `produce`, which gives the next parts on each call (none for an upstream event
 * that makes none, several for one that makes several), or null at the end. `sourceBuffered`
 * tells whether the next call to `produce` can be answered without waiting.
 */
export function partReader(
  produce: () => Promise<StreamPart[] | null>,
  { cancel = async () => {}, sourceBuffered = () => false }: { cancel?: (reason?: unknown) => Promise<void>; sourceBuffered?: () => boolean } = {},
): PartReader {
  const queue: StreamPart[] = [];
  let ended = false;
  return {
    async read() {
      while (queue.length === 0) {
        if (ended) return null;
        const next = await produce();
        if (next === null) ended = true;
        else queue.push(...next);
      }
      return queue.shift()!;
    },
    buffered: () => queue.length > 0 || (!ended && sourceBuffered()),
    cancel,
  };
}

/** `parts` with `first` (already read from it) put back in front. */
export function withFirst(first: StreamPart | null, parts: PartReader): PartReader {
  let pending: StreamPart | null | undefined = first;
  return {
    read() {
      if (pending === undefined) return parts.read();
      const part = pending;
      pending = undefined;
      return Promise.resolve(part);
    },
    buffered: () => pending !== undefined || parts.buffered(),
    cancel: (reason) => parts.cancel(reason),
  };
}

/** Parts known in advance (a replayed answer, a simulated one). */
export const partsOf = (parts: StreamPart[]): PartReader =>
  partReader(async () => (parts.length ? parts.splice(0, parts.length) : null), { sourceBuffered: () => parts.length > 0 });
