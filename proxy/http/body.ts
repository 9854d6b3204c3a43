/**
 * Reads a JSON request body under a size cap. The cap is enforced while reading, before any
 * parsing, so an oversized or endless body costs at most MAX_BODY_BYTES of memory. Nesting is
 * capped too: JSON.parse copes with any depth, but serialising it again (for the upstream, for
 * the cache key) recurses, and a body nested a million deep would overflow the stack.
 */
import { invalidRequest, ProxyError } from '../core/errors';

const tooLarge = (maxBytes: number) =>
  new ProxyError(413, `The request body is larger than the ${maxBytes} bytes this proxy accepts.`, {
    type: 'invalid_request_error',
    code: 'request_too_large',
  });

/**
 * A request body: as parsed, and as sent, kept so it can be forwarded without serialising it
 * again. `bytes` are exactly `text` in UTF-8 (a leading BOM dropped), or null when the client's
 * bytes were not valid UTF-8 and `text` holds replacement characters instead.
 */
export interface JsonBody {
  value: unknown;
  text: string;
  bytes: Uint8Array | null;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
const lenientUtf8 = new TextDecoder('utf-8');
const BOM = [0xef, 0xbb, 0xbf];

/** The body's text, and its bytes when they are that text exactly. */
function decode(bytes: Uint8Array): { text: string; bytes: Uint8Array | null } {
  // The decoders drop a leading BOM from the text; the bytes drop it too, so offsets agree.
  const unmarked = BOM.every((b, i) => bytes[i] === b) ? bytes.subarray(BOM.length) : bytes;
  try {
    return { text: strictUtf8.decode(unmarked), bytes: unmarked };
  } catch {
    return { text: lenientUtf8.decode(unmarked), bytes: null };
  }
}

export async function readJsonBody(request: Request, maxBytes: number): Promise<JsonBody> {
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > maxBytes) throw tooLarge(maxBytes);
  if (!request.body) throw invalidRequest('The request needs a JSON body.', null, 'invalid_json');
  // With a declared length the runtime delivers no more than that: read it natively. Without
  // one (chunked), count the bytes while reading and stop at the cap.
  const received = declared !== null ? new Uint8Array(await request.arrayBuffer()) : await readCapped(request.body, maxBytes);
  if (received.byteLength > maxBytes) throw tooLarge(maxBytes);
  const { text, bytes } = decode(received);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalidRequest('We could not parse the JSON body of your request. The body must be valid JSON.', null, 'invalid_json');
  }
  if (depthExceeds(value, MAX_DEPTH)) throw invalidRequest(`The request body nests deeper than ${MAX_DEPTH} levels.`, null, 'too_deeply_nested');
  return { value, text, bytes };
}

async function readCapped(body: ReadableStream<Uint8Array>, maxBytes: number): Promise<Uint8Array> {
  const reader = body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge(maxBytes);
    }
    parts.push(value);
  }
  const whole = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    whole.set(part, at);
    at += part.byteLength;
  }
  return whole;
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
