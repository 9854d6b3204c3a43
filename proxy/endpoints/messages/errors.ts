/**
 * The proxy's errors in Anthropic's shape, `{"type":"error","error":{"type","message"}}`, for
 * the Messages endpoints: the Anthropic SDK (and Claude Code) choose their exception class and
 * whether to retry from the status and the error type. One error model inside; this is only how
 * it is written for these clients.
 */
import type { ProxyError } from '../../core/errors';
import { namedEvent } from '../../streaming/framing';

/** Anthropic's status and error type for one of the proxy's errors. */
function anthropicKind(error: ProxyError): { status: number; type: string } {
  // A spent budget: Anthropic's billing error, which its clients do not retry.
  if (error.type === 'insufficient_quota') return { status: 402, type: 'billing_error' };
  switch (error.status) {
    case 400:
    case 415:
    case 422:
      return { status: 400, type: 'invalid_request_error' };
    case 401:
      return { status: 401, type: 'authentication_error' };
    case 402:
      return { status: 402, type: 'billing_error' };
    case 403:
      return { status: 403, type: 'permission_error' };
    case 404:
      return { status: 404, type: 'not_found_error' };
    case 413:
      return { status: 413, type: 'request_too_large' };
    case 429:
      return { status: 429, type: 'rate_limit_error' };
    case 503:
    case 529:
      return { status: 529, type: 'overloaded_error' };
    case 504:
      return { status: 504, type: 'timeout_error' };
    default:
      return { status: error.status >= 500 ? error.status : 400, type: error.status >= 500 ? 'api_error' : 'invalid_request_error' };
  }
}

const body = (error: ProxyError, type: string, requestId: string | undefined) =>
  JSON.stringify({ type: 'error', error: { type, message: error.message }, ...(requestId ? { request_id: requestId } : {}) });

export function anthropicErrorResponse(error: ProxyError, headers: Record<string, string>): Response {
  const { status, type } = anthropicKind(error);
  const requestId = headers['x-request-id'];
  const response = new Response(body(error, type, requestId), { status, headers: { 'content-type': 'application/json', ...headers } });
  for (const [name, value] of Object.entries(error.headers)) response.headers.set(name, value);
  if (type === 'billing_error') response.headers.set('x-should-retry', 'false');
  // Anthropic names its request id `request-id`.
  if (requestId) response.headers.set('request-id', requestId);
  return response;
}

/** The `error` event that ends a failed Messages stream. */
export const anthropicErrorEvent = (error: ProxyError) => namedEvent('error', body(error, anthropicKind(error).type, undefined));
