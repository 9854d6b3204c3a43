/**
 * Gzipped NDJSON, the format of everything the request log keeps in R2 (the hourly archive of
 * raw rows, and the overflow of rows D1 refused): one JSON value per line, compressed with the
 * platform's CompressionStream, so no dependency does it. R2 needs a body of known length, so a
 * whole object is compressed in memory before it is stored; lines are written one at a time, so
 * only the compressed bytes are held.
 */

/** Compresses values as they are added; `finish` gives the gzip bytes. */
export interface NdjsonGzipWriter {
  add(value: unknown): Promise<void>;
  finish(): Promise<Uint8Array>;
}

export function ndjsonGzipWriter(): NdjsonGzipWriter {
  const gzip = new CompressionStream('gzip');
  // Read while writing: a stream whose output nobody reads stops taking input.
  const compressed = new Response(gzip.readable).arrayBuffer();
  const writer = gzip.writable.getWriter();
  const encoder = new TextEncoder();
  return {
    add: (value) => writer.write(encoder.encode(`${JSON.stringify(value)}\n`)),
    async finish() {
      await writer.close();
      return new Uint8Array(await compressed);
    },
  };
}

/** The values of a gzipped NDJSON body, in order. */
export async function readNdjsonGzip<T>(body: ReadableStream<Uint8Array>): Promise<T[]> {
  const text = await new Response(body.pipeThrough(new DecompressionStream('gzip'))).text();
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as T);
}
