/**
 * Server-sent events: a streaming parser (bytes -> events) and the encoder for what the proxy
 * sends. Hand-written because it is small and on the hot path of every streamed response.
 */
export interface SseEvent {
  event?: string;
  data: string;
}

const encoder = new TextEncoder();

export function encodeSse(data: string, event?: string): Uint8Array {
  return encoder.encode(event ? `event: ${event}\ndata: ${data}\n\n` : `data: ${data}\n\n`);
}

/** Splits a byte stream into SSE events. Tolerates \r\n, multi-line data and split chunks. */
export function parseSse(body: ReadableStream<Uint8Array>): ReadableStream<SseEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  let event: string | undefined;
  let data: string[] = [];

  const takeLine = (line: string, emit: (e: SseEvent) => void) => {
    if (line === '') {
      if (data.length > 0) emit({ event, data: data.join('\n') });
      event = undefined;
      data = [];
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data.push(value);
    else if (field === 'event') event = value;
  };

  const drain = (emit: (e: SseEvent) => void) => {
    let newline: number;
    while ((newline = buffer.indexOf('\n')) !== -1) {
      let line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      if (line.endsWith('\r')) line = line.slice(0, -1);
      takeLine(line, emit);
    }
  };

  return body.pipeThrough(
    new TransformStream<Uint8Array, SseEvent>({
      transform(chunk, controller) {
        buffer += decoder.decode(chunk, { stream: true });
        drain((e) => controller.enqueue(e));
      },
      flush(controller) {
        buffer += decoder.decode();
        if (buffer !== '') buffer += '\n';
        drain((e) => controller.enqueue(e));
        takeLine('', (e) => controller.enqueue(e));
      },
    }),
  );
}
