/**
 * OpenAI-shaped errors. Everything a client can cause ends up as one of these, so the
 * official SDKs raise their usual exception classes (BadRequestError, AuthenticationError...).
 */
export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'insufficient_quota'
  | 'upstream_error'
  | 'server_error';

export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export interface ProxyErrorOptions {
  type: ErrorType | string;
  /** OpenAI's machine-readable code (`rate_limit_exceeded`, `model_not_found`...). */
  code?: string | null;
  /** The request field at fault (`messages[0].content`). */
  param?: string | null;
  /** Extra response headers, e.g. retry-after on a 429 passed through from upstream. */
  headers?: Record<string, string>;
  /** What went wrong underneath (a failed fetch, a parse error): kept for the logs, never sent. */
  cause?: unknown;
}

export class ProxyError extends Error {
  readonly type: ErrorType | string;
  readonly code: string | null;
  readonly param: string | null;
  readonly headers: Record<string, string>;

  constructor(
    readonly status: number,
    message: string,
    { type, code = null, param = null, headers = {}, cause }: ProxyErrorOptions,
  ) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'ProxyError';
    this.type = type;
    this.code = code;
    this.param = param;
    this.headers = headers;
  }

  toBody(): OpenAIErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export const invalidRequest = (message: string, param: string | null = null, code: string | null = null) =>
  new ProxyError(400, message, { type: 'invalid_request_error', code, param });

export const invalidApiKey = (message = 'Incorrect API key provided.') =>
  new ProxyError(401, message, { type: 'invalid_request_error', code: 'invalid_api_key' });

export const modelNotFound = (model: string, why = 'does not exist or you do not have access to it') =>
  new ProxyError(404, `The model \`${model}\` ${why}.`, { type: 'invalid_request_error', code: 'model_not_found', param: 'model' });

/** The client went away before the call ended (nginx's 499); logged, never sent. */
export const clientClosed = () => new ProxyError(499, 'The client closed the request.', { type: 'invalid_request_error', code: 'client_closed' });

export function errorResponse(error: ProxyError, headers?: HeadersInit): Response {
  const response = Response.json(error.toBody(), { status: error.status, headers });
  for (const [name, value] of Object.entries(error.headers)) response.headers.set(name, value);
  return response;
}

/** Any thrown value as a ProxyError; unknown failures become a 500 that names no internals (the original is its cause). */
export function toProxyError(error: unknown): ProxyError {
  if (error instanceof ProxyError) return error;
  return new ProxyError(500, 'The proxy failed to handle the request.', { type: 'server_error', code: 'internal_error', cause: error });
}
