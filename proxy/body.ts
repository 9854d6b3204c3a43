/**
 * Reads a JSON request body under a size cap. The cap is enforced while reading, before any
 * parsing, so an oversized or endless body costs at most MAX_BODY_BYTES of memory.
 */
import { invalidRequest, ProxyError } from './errors';

const tooLarge = (maxBytes: number) =>
  new ProxyError(413, `The request body is larger than the ${maxBytes} bytes this proxy accepts.`, 'invalid_request_error', 'request_too_large');

export async function readJsonBody(request: Request, maxBytes: number): Promise<unknown> {
  const declared = Number(request.headers.get('content-length'));
  if (declared > maxBytes) throw tooLarge(maxBytes);
  if (!request.body) throw invalidRequest('The request needs a JSON body.', null, 'invalid_json');

  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw invalidRequest('We could not parse the JSON body of your request. The body must be valid JSON.', null, 'invalid_json');
  }
}
