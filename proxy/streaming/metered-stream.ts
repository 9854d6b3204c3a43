/**
 * Streamed answers as the client receives them, metered on the way. The meter (streamMeter) is
 * shared by both ways a stream reaches the client: it notes the time to the first chunk, the
 * latest usage and the content chunks, times the upstream's silences, and reports exactly once
 * how the stream ended: completed, failed or abandoned.
 *
 * meterStream, here, writes the SSE bytes itself from the provider's parts: it can translate a
 * provider's format, drop the usage-only chunk a client did not ask for (as OpenAI does), and
 * turn a failure into an error event at an event boundary. It is the only JS stream such a call
 * has; one upstream part is read per client pull, nothing is buffered. pass-through-stream.ts is
 * the other way, for answers already in the client's form.
 */
import { clientClosed, ProxyError, toProxyError } from '../core/errors';
import type { PartReader, StreamPart } from './parts';
import type { StreamFraming } from './framing';
import type { Usage } from '../core/usage';

export interface StreamOutcome {
  /** 200 completed, 499 the client went away, otherwise the upstream failure's status. */
  status: number;
  error: ProxyError | null;
  /** The last usage the provider reported, or null when it reported none. */
  usage: Usage | null;
  /** True only when the provider's final usage chunk arrived. */
  usageFinal: boolean;
  /** Chunks with content delivered to the client: the fallback measure of output. */
  chunksSent: number;
  ttftMs: number | null;
}

export interface MeterOptions {
  includeUsage: boolean;
  /** How the client's stream is written: its API's events, closing and error event. */
  framing: StreamFraming;
  startedAt: number;
  /** The longest wait for the upstream's next part: then the stream ends with a 504 and the upstream is cancelled. */
  idleTimeoutMs: number;
  /** After the client left: how long the upstream is still read for its usage, before it is cancelled. */
  abandonedMeterMs: number;
  /** Sees every chunk the provider sent (e.g. to assemble the answer for the response cache). */
  onChunk?: (data: string) => void;
  /** Called once when the stream ends, however it ends. */
  onEnd: (outcome: StreamOutcome) => Promise<void>;
}

export interface StreamMeter {
  /** The next part (null at the end), the wait for it timed by the idle watchdog. */
  next(): Promise<StreamPart | null>;
  /** Notes what a part tells (usage, content, the first chunk's time); true when it goes to the client. */
  take(part: StreamPart): boolean;
  /** Reports how the stream ended and stops the watchdog; only the first call counts. */
  finish(status: number, error: ProxyError | null): void;
  /** Reports a stream that reached its end: completed, or failed in the upstream's own words (StreamPart.failure). */
  complete(): void;
  /** The last usage reported so far. */
  usage(): Usage | null;
  /** Settles when the end has been reported and handled (onEnd). */
  ended: Promise<void>;
}

export function streamMeter(parts: PartReader, options: MeterOptions): StreamMeter {
  let usage: Usage | null = null;
  let usageFinal = false;
  let chunksSent = 0;
  let ttftMs: number | null = null;
  let resolveEnded!: (value: Promise<void>) => void;
  const ended = new Promise<void>((resolve) => (resolveEnded = resolve));
  let finished = false;
  let failure: ProxyError | null = null;

  // The idle watchdog: one timer for the whole stream, not one per part. It counts only the time
  // spent waiting for the upstream (a client slow to read is not the upstream being idle); when
  // that reaches idleTimeoutMs, the upstream is cancelled, which ends the read waiting on it.
  let waitingSince: number | null = null;
  let idleFailure: ProxyError | null = null;
  let watchdog = 0;
  const watch = (afterMs: number) => {
    watchdog = setTimeout(() => {
      const waited = waitingSince === null ? 0 : Date.now() - waitingSince;
      if (waited < options.idleTimeoutMs) return watch(options.idleTimeoutMs - waited);
      idleFailure = new ProxyError(504, `The upstream sent nothing for ${options.idleTimeoutMs} ms.`, { type: 'upstream_error', code: 'upstream_timeout' });
      parts.cancel(idleFailure).catch(() => {});
    }, afterMs);
  };
  watch(options.idleTimeoutMs);

  /** Only the first report counts: the stream's end is told once, however many ways it ends. */
  const finish = (status: number, error: ProxyError | null) => {
    if (finished) return;
    finished = true;
    clearTimeout(watchdog);
    resolveEnded(options.onEnd({ status, error, usage, usageFinal, chunksSent, ttftMs }));
  };

  return {
    async next() {
      if (parts.buffered()) return parts.read();
      waitingSince = Date.now();
      try {
        const part = await parts.read().catch((error: unknown) => {
          throw idleFailure ?? error;
        });
        if (idleFailure) throw idleFailure;
        return part;
      } finally {
        waitingSince = null;
      }
    },
    take(part) {
      if (part.usage) usage = part.usage;
      if (part.usageOnly || part.usageFinal) usageFinal = true;
      if (part.failure) failure = part.failure;
      if (part.data && !part.usageOnly) options.onChunk?.(part.data);
      if (!part.data || (part.usageOnly && !options.includeUsage)) return false;
      if (ttftMs === null) ttftMs = Date.now() - options.startedAt;
      if (!part.usageOnly) chunksSent++;
      return true;
    },
    finish,
    complete: () => finish(failure?.status ?? 200, failure),
    usage: () => usage,
    ended,
  };
}

/** A chunk grows to about this size before it is sent, however much more has arrived. */
const MAX_CHUNK_CHARS = 16 * 1024;
const encoder = new TextEncoder();

/**
 * A stream whose client left: providers bill what they generate, and report it at the end, so
 * the upstream is read on (nothing is sent) for its usage, until it ends or `boundMs` passes;
 * then it is cancelled, and the call logged as the client's 499 with what it cost.
 */
export async function meterAbandoned(meter: StreamMeter, parts: PartReader, boundMs: number): Promise<void> {
  const bound = setTimeout(() => parts.cancel(clientClosed()).catch(() => {}), boundMs);
  try {
    for (let part = boundMs > 0 ? await meter.next() : null; part !== null; part = await meter.next()) meter.take(part);
  } catch {
    // Cancelled at the bound, or the upstream failed: the usage seen so far is what there is.
  } finally {
    clearTimeout(bound);
  }
  meter.finish(499, clientClosed());
  parts.cancel(clientClosed()).catch(() => {});
}

export function meterStream(parts: PartReader, options: MeterOptions): { body: ReadableStream<Uint8Array>; ended: Promise<void> } {
  const meter = streamMeter(parts, options);
  // The client left: the pull under way (if any) stops writing, and meterAbandoned reads on.
  let abandoned = false;
  let pulling: Promise<void> = Promise.resolve();

  // Each pull delivers every part that has already arrived as one chunk, so a burst of
  // upstream events costs one write, not one each; it never waits to fill a chunk.
  async function pullSome(controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    let out = '';
    // Whatever fails here (the upstream, or a hook), the client gets an error event and the
    // end is reported: a pull that rejected would leave the call unlogged.
    try {
      for (;;) {
        if (out !== '' && (!parts.buffered() || out.length > MAX_CHUNK_CHARS)) break;
        const part = await meter.next();
        if (abandoned) {
          if (part) meter.take(part);
          return;
        }
        if (part === null) {
          controller.enqueue(encoder.encode(out + options.framing.end(meter.usage())));
          controller.close();
          meter.complete();
          return;
        }
        if (meter.take(part)) out += options.framing.event(part);
      }
    } catch (thrown) {
      if (abandoned) return;
      const error = toProxyError(thrown);
      controller.enqueue(encoder.encode(out + options.framing.error(error)));
      controller.close();
      meter.finish(error.status, error);
      // A stalled upstream is still open; one that failed is released all the same.
      parts.cancel(error).catch(() => {});
      return;
    }
    controller.enqueue(encoder.encode(out));
  }

  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulling = pullSome(controller);
      return pulling;
    },
    cancel() {
      abandoned = true;
      // Not awaited: the client is gone, and the meter's end is waited for through `ended`.
      void pulling.then(() => meterAbandoned(meter, parts, options.abandonedMeterMs));
    },
  });
  return { body, ended: meter.ended };
}
