/**
 * Reads a JSON request body under a size cap. The cap is enforced while reading, before any
 * parsing, so an oversized or endless body costs at most MAX_BODY_BYTES of memory. Nesting is
 * capped too: JSON.parse copes with any depth, but serialising it again (for the upstream, for
 * the cache key) recurses, and a body nested a million deep would overflow the stack.
 */
import { invalidRequest, ProxyError } from './errors';

const tooLarge = (maxBytes: number) =>
  new ProxyError(413, `The request body is larger than the ${maxBytes} bytes this proxy accepts.`, 'invalid_request_error', 'request_too_large');

/** A request body: as parsed, and as sent (kept so it can be forwarded without serialising it again). */
export interface JsonBody {
  value: unknown;
  text: string;
}

export async function readJsonBody(request: Request, maxBytes: number): Promise<JsonBody> {
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > maxBytes) throw tooLarge(maxBytes);
  if (!request.body) throw invalidRequest('The request needs a JSON body.', null, 'invalid_json');
  // With a declared length the runtime delivers no more than that: read it natively. Without
  // one (chunked), count the bytes while reading and stop at the cap.
  const text = declared !== null ? await request.text() : await readCapped(request.body, maxBytes);
  if (text.length > maxBytes) throw tooLarge(maxBytes);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalidRequest('We could not parse the JSON body of your request. The body must be valid JSON.', null, 'invalid_json');
  }
  if (depthExceeds(value, MAX_DEPTH)) throw invalidRequest(`The request body nests deeper than ${MAX_DEPTH} levels.`, null, 'too_deeply_nested');
  return { value, text };
}

async function readCapped(body: ReadableStream<Uint8Array>, maxBytes: number): Promise<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const parts: string[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge(maxBytes);
    }
    parts.push(decoder.decode(value, { stream: true }));
  }
  parts.push(decoder.decode());
  return parts.join('');
}

/** Far deeper than any real request (tool schemas included), far shallower than the stack. */
export const MAX_DEPTH = 64;

/** Whether arrays and objects nest deeper than `max`; iterative, so any depth is safe to check. */
function depthExceeds(root: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[root, 0]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (typeof value !== 'object' || value === null) continue;
    if (depth >= max) return true;
    for (const child of Array.isArray(value) ? value : Object.values(value)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}
