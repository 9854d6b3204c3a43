/**
 * A streamed answer that is already what the client asked for (an OpenAI-compatible upstream's
 * SSE, the usage chunk included because the client asked for it) is sent on as the upstream's
 * own bytes, piped natively: no JavaScript runs per chunk on the client's side. The meter reads a
 * copy (the provider tee()s the body) in batches: after each read it pauses up to PACE_MS, so
 * that one read takes every event that arrived meanwhile.
 *
 * Why: on workerd, every chunk a Worker reads in JavaScript costs it far more than the metering
 * itself (docs/BENCHMARKS.md); a stream is many small chunks. Why not read the copy whole, or
 * with readAtLeast: a tee() pulls its source as far as its hungriest branch asks, so the client's
 * branch would wait for the copy's big read. Hence a read of whatever is there, then a pause.
 *
 * Memory: the meter reads ahead of a slow client, so the tee keeps what the client has not taken
 * yet: at most the answer itself, kilobytes to a few megabytes for a chat completion. (The
 * re-framing path reads the upstream only as fast as the client.)
 *
 * What the client sees differs from meterStream's in two ways: the upstream's own framing (its
 * comments and keep-alives, its line endings) arrives as sent; and on failure the error event
 * follows the upstream's bytes as they stood, not an event boundary (after a blank line, so that
 * an event the upstream cut off cannot take it in). The idle watchdog does not count the pauses.
 */
import { clientClosed, toProxyError, type ProxyError } from '../core/errors';
import { streamMeter, type MeterOptions } from './metered-stream';
import type { PartReader } from './parts';

/** The meter's longest pause between reads: the most a failure or the end is seen late. */
const PACE_MS = 50;
const encoder = new TextEncoder();

/** Ends the client's stream, after `text` if given. A client that has gone cannot be written to: nothing to do then. */
async function end(writable: WritableStream<Uint8Array>, text?: string): Promise<void> {
  const writer = writable.getWriter();
  try {
    if (text) await writer.write(encoder.encode(text));
    await writer.close();
  } catch {
    // The client went away.
  }
}

export function passThroughStream(
  bytes: ReadableStream<Uint8Array>,
  parts: PartReader,
  options: MeterOptions & { /** The client's request signal: aborted when it goes away. */ clientSignal: AbortSignal },
): { body: ReadableStream<Uint8Array>; ended: Promise<void> } {
  const meter = streamMeter(parts, options);
  const { readable, writable } = new IdentityTransformStream();
  const stopPiping = new AbortController();
  let piped = false;
  let wake: (() => void) | null = null;
  // preventClose and preventAbort keep the client's stream open for the end this module writes;
  // preventCancel keeps the upstream going when the piping stops (a client that left is metered
  // on): `bytes` is released with the meter's copy (parts.cancel).
  const piping = bytes.pipeTo(writable, { preventClose: true, preventAbort: true, preventCancel: true, signal: stopPiping.signal }).finally(() => {
    piped = true;
    wake?.();
  });
  /** Waits PACE_MS, or less if the client's copy ends first. */
  const pause = () =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resume, PACE_MS);
      function resume() {
        clearTimeout(timer);
        wake = null;
        resolve();
      }
      wake = resume;
    });

  // Both copies must be cancelled for the upstream to be.
  const stop = (reason: ProxyError) => {
    stopPiping.abort(reason);
    parts.cancel(reason).catch(() => {});
  };
  // The client left: its copy stops, the meter reads on for the usage (the bill) until the
  // upstream ends or abandonedMeterMs passes, when the upstream is cancelled.
  let clientGone = false;
  let bound = 0;
  const onClientGone = () => {
    clientGone = true;
    stopPiping.abort(clientClosed());
    bound = setTimeout(() => parts.cancel(clientClosed()).catch(() => {}), options.abandonedMeterMs);
  };
  // A client already gone before this point would never hear the event.
  if (options.clientSignal.aborted) onClientGone();
  else options.clientSignal.addEventListener('abort', onClientGone, { once: true });

  // Resolves to whether the upstream ended the stream itself (OpenAI's [DONE]). Nothing after it
  // matters: the copy is let go there, saving the read that would find its end.
  const metering = (async () => {
    for (;;) {
      // Once the client has everything, the rest is read at once: its stream closes on the verdict.
      if (!piped && !parts.buffered()) await pause();
      const part = await meter.next();
      if (part === null) return false;
      if (part.done) {
        parts.cancel().catch(() => {});
        return true;
      }
      meter.take(part);
    }
  })().catch((thrown: unknown) => {
    const error = toProxyError(thrown);
    stop(error);
    throw error;
  });

  const ended = Promise.allSettled([piping, metering]).then(async ([toClient, metered]) => {
    options.clientSignal.removeEventListener('abort', onClientGone);
    clearTimeout(bound);
    if (clientGone) {
      parts.cancel(clientClosed()).catch(() => {});
      meter.finish(499, clientClosed());
    } else if (metered.status === 'rejected') {
      const error = metered.reason as ProxyError;
      await end(writable, `\n\n${options.framing.error(error)}`);
      meter.finish(error.status, error);
    } else if (toClient.status === 'rejected') {
      // The upstream's copy was whole, so it was the client's side that failed: it went away.
      meter.finish(499, clientClosed());
    } else {
      // A stream the provider module accepted as complete ends as the API ends it ([DONE] for
      // chat), as on the other path, unless the upstream ended it itself.
      await end(writable, metered.value ? undefined : options.framing.end(meter.usage()));
      meter.complete();
    }
    return meter.ended;
  });
  return { body: readable, ended };
}
