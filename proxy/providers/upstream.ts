/**
 * What every HTTP provider shares: the fetch with the client's abort signal, and the mapping
 * of upstream failures to the status the client should see. A failure of the proxy's own
 * credentials is not the client's fault, so it is a 502, and its text is not passed on.
 */
import type { Env } from '../core/env';
import { clientClosed, ProxyError } from '../core/errors';
import type { PartReader } from '../streaming/parts';
import type { SseEvent, SseReader } from '../streaming/sse';
import type { ProviderName } from './types';

export async function fetchUpstream(provider: ProviderName, url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (error) {
    if (init.signal?.aborted) throw clientClosed();
    throw new ProxyError(502, `Could not reach the ${provider} upstream.`, { type: 'upstream_error', code: 'upstream_unreachable', cause: error });
  }
}

/** A failure of the upstream's answer itself (a broken or malformed stream): 502 unless said otherwise. */
export const upstreamError = (message: string, code: string, { status = 502, cause }: { status?: number; cause?: unknown } = {}) =>
  new ProxyError(status, message, { type: 'upstream_error', code, cause });

/** The next event of an upstream's stream; a stream that breaks (a lost connection) is a 502 upstream error. */
export async function nextUpstreamEvent(events: SseReader, provider: ProviderName): Promise<SseEvent | null> {
  try {
    return await events.read();
  } catch (error) {
    throw upstreamError(`The ${provider} stream was interrupted.`, 'upstream_stream_error', { cause: error });
  }
}

/** The upstream's own advice on when to try again, kept for the retry logic and passed on to the client. */
function retryHeaders(headers: Headers | undefined): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const name of ['retry-after', 'retry-after-ms']) {
    const value = headers?.get(name);
    if (value) kept[name] = value;
  }
  return kept;
}

/** Maps an upstream HTTP failure to the error the client gets. */
export function upstreamFailure(provider: ProviderName, status: number, message: string, headers?: Headers): ProxyError {
  if (status === 401 || status === 403) {
    return new ProxyError(502, `The ${provider} upstream rejected the proxy's credentials.`, { type: 'upstream_error', code: 'upstream_auth_failed' });
  }
  if (status === 429)
    return new ProxyError(429, `The ${provider} upstream is rate limiting: ${message}`, {
      type: 'rate_limit_error',
      code: 'rate_limit_exceeded',
      headers: retryHeaders(headers),
    });
  if (status === 404)
    return new ProxyError(404, `${provider} upstream: ${message}`, { type: 'invalid_request_error', code: 'model_not_found', param: 'model' });
  if (status >= 400 && status < 500)
    return new ProxyError(status === 413 ? 413 : 400, `${provider} upstream: ${message}`, { type: 'invalid_request_error', code: 'upstream_rejected' });
  if (status === 503 || status === 529)
    return new ProxyError(503, `The ${provider} upstream is overloaded: ${message}`, {
      type: 'upstream_error',
      code: 'upstream_overloaded',
      headers: retryHeaders(headers),
    });
  if (status === 504) return new ProxyError(504, `The ${provider} upstream timed out.`, { type: 'upstream_error', code: 'upstream_timeout' });
  return new ProxyError(502, `The ${provider} upstream failed (${status}): ${message}`, { type: 'upstream_error', code: 'upstream_error' });
}

/** Upstream error texts are shown to clients and logged; keep them short. */
const MAX_MESSAGE_CHARS = 500;

/** The proxy's own provider keys, which an upstream may quote back in any form. */
export type ProviderSecrets = Pick<Env, 'OPENAI_API_KEY' | 'ANTHROPIC_API_KEY'>;

/** Keys shorter than this could be ordinary words of a message: only the patterns catch them. */
const MIN_SECRET_CHARS = 8;

/**
 * Removes credentials from text that came from an upstream: the configured provider keys by
 * value, and anything shaped like a credential (`sk-…`, `Bearer …`, `api_key=…`). An upstream
 * echoing (part of) a key in an error must not hand it to the client or the logs.
 */
function redactSecrets(text: string, secrets: ProviderSecrets): string {
  let redacted = text;
  for (const secret of [secrets.OPENAI_API_KEY, secrets.ANTHROPIC_API_KEY]) {
    if (secret && secret.length >= MIN_SECRET_CHARS) redacted = redacted.replaceAll(secret, '[redacted]');
  }
  return redacted
    .replace(/\b(sk|pk|rk)-[A-Za-z0-9_*.-]{6,}/g, '[redacted]')
    .replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, '$1 [redacted]')
    .replace(/\b(api[_-]?key|x-api-key|authorization)(["':=\s]+)[^\s"',}]+/gi, '$1$2[redacted]');
}

/**
 * An upstream's text as the proxy passes it on: redacted, then cut to MAX_MESSAGE_CHARS (in that
 * order, so a key crossing the cut is still whole when looked for).
 */
export const upstreamText = (text: string, secrets: ProviderSecrets) =>
  redactSecrets(text.slice(0, 2 * MAX_MESSAGE_CHARS), secrets).slice(0, MAX_MESSAGE_CHARS);

/** Reads the error message out of an OpenAI- or Anthropic-shaped error body, or its text; short and without credentials. */
export async function upstreamErrorMessage(response: Response, secrets: ProviderSecrets): Promise<string> {
  const text = await response.text().catch(() => '');
  let message = text;
  try {
    const parsed = JSON.parse(text) as { error?: { message?: string } | string; message?: string };
    if (typeof parsed.error === 'object' && parsed.error?.message) message = parsed.error.message;
    else if (typeof parsed.error === 'string') message = parsed.error;
    else if (parsed.message) message = parsed.message;
  } catch {
    // not JSON: the raw text
  }
  return upstreamText(message, secrets) || response.statusText || 'no details';
}

/**
 * A stream the client gets as the upstream sent it (pass-through-stream.ts), and the reader of
 * the copy the proxy meters. Cancelling the reader releases the client's copy too, as long as it
 * is not being sent.
 */
export function passedThrough(
  body: ReadableStream<Uint8Array>,
  read: (copy: ReadableStream<Uint8Array>) => PartReader,
): { parts: PartReader; passThrough: ReadableStream<Uint8Array> } {
  const [toClient, toMeter] = body.tee();
  const parts = read(toMeter);
  const cancel = (reason?: unknown) => Promise.all([parts.cancel(reason), toClient.cancel(reason).catch(() => {})]).then(() => {});
  return { parts: { ...parts, cancel }, passThrough: toClient };
}
