import { describe, expect, it } from 'vitest';
import { readSse, type SseEvent } from '../../proxy/streaming/sse';

function bytes(...pieces: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const piece of pieces) controller.enqueue(encoder.encode(piece));
      controller.close();
    },
  });
}

async function collect(body: ReadableStream<Uint8Array>): Promise<SseEvent[]> {
  const reader = readSse(body);
  const events: SseEvent[] = [];
  for (let event = await reader.read(); event !== null; event = await reader.read()) events.push(event);
  return events;
}

describe('readSse', () => {
  it('reassembles events split across chunks, with CRLF, comments and named events', async () => {
    const events = await collect(bytes('data: {"a"', ':1}\r\n\r\n: keep-alive\n\nevent: message_start\ndata: x\n', '\ndata: [DONE]\n\n'));
    expect(events).toEqual([
      { event: undefined, data: '{"a":1}' },
      { event: 'message_start', data: 'x' },
      { event: undefined, data: '[DONE]' },
    ]);
  });

  it('joins multi-line data and flushes a final event without a blank line', async () => {
    const events = await collect(bytes('data: one\ndata: two\n\ndata: last'));
    expect(events.map((e) => e.data)).toEqual(['one\ntwo', 'last']);
  });

  it('decodes multi-byte characters split between chunks', async () => {
    const encoded = new TextEncoder().encode('data: héllo ✓\n\n');
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoded.slice(0, 9));
        controller.enqueue(encoded.slice(9));
        controller.close();
      },
    });
    expect((await collect(stream))[0].data).toBe('héllo ✓');
  });
});
