/**
 * Server-sent events: a streaming parser (bytes -> events) and the encoder for what the proxy
 * sends. Hand-written because it is small and on the hot path of every streamed response.
 */
export interface SseEvent {
  event?: string;
  data: string;
}

/** One event as SSE text (the proxy sends only unnamed, single-line events: JSON chunks). */
export const sseText = (data: string) => `data: ${data}\n\n`;

/** The events of an SSE byte stream, one per read(); null at the end. */
export interface SseReader {
  read(): Promise<SseEvent | null>;
  /** Whether read() can answer from bytes already received. */
  buffered(): boolean;
  cancel(reason?: unknown): Promise<void>;
}

/**
 * Reads SSE events off a byte stream as they are asked for (no intermediate stream). Tolerates
 * \r\n, comments, multi-line data, events split across chunks and a last event without its
 * blank line.
 */
export function readSse(body: ReadableStream<Uint8Array>): SseReader {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const ready: SseEvent[] = [];
  let buffer = '';
  let event: string | undefined;
  let data: string[] = [];
  let ended = false;

  const takeLine = (line: string) => {
    if (line === '') {
      if (data.length > 0) ready.push(event === undefined ? { data: data.join('\n') } : { event, data: data.join('\n') });
      event = undefined;
      data = [];
      return;
    }
    if (line.charCodeAt(0) === 0x3a) return; // a ':' comment
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 0x20) value = value.slice(1);
    if (field === 'data') data.push(value);
    else if (field === 'event') event = value;
  };

  const drain = () => {
    let start = 0;
    for (let newline = buffer.indexOf('\n'); newline !== -1; newline = buffer.indexOf('\n', start)) {
      const end = newline > start && buffer.charCodeAt(newline - 1) === 0x0d ? newline - 1 : newline;
      takeLine(buffer.slice(start, end));
      start = newline + 1;
    }
    buffer = buffer.slice(start);
  };

  return {
    async read() {
      while (ready.length === 0) {
        if (ended) return null;
        const { done, value } = await reader.read();
        if (done) {
          ended = true;
          buffer += decoder.decode();
          if (buffer !== '') buffer += '\n';
          drain();
          takeLine('');
        } else {
          buffer += decoder.decode(value, { stream: true });
          drain();
        }
      }
      return ready.shift()!;
    },
    buffered: () => ready.length > 0,
    cancel: (reason) => reader.cancel(reason),
  };
}
