/** The Hono app: the OpenAI-compatible proxy under /v1, the admin API under /admin, /health (the dashboard is static assets). */
import { Hono, type Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { admin } from './admin/api';
import { tenantAuth } from './auth/tenant-auth';
import { corsFor } from './http/cors';
import { logCall, routingHeaders, trackCall } from './pipeline/call';
import { errorResponse, ProxyError, toProxyError } from './core/errors';
import { newRequestId } from './core/ids';
import { chatCompletions } from './endpoints/chat-completions';
import { embeddings } from './endpoints/embeddings';
import { countTokens, createMessage } from './endpoints/messages';
import { anthropicErrorResponse } from './endpoints/messages/errors';
import { createResponse, deleteResponse, getResponse } from './endpoints/responses';
import { health } from './endpoints/health';
import { listModels } from './endpoints/models';
import type { AppEnv } from './http/context';

export const app = new Hono<AppEnv>();

/**
 * Errors are answered in the shape of the API the client speaks: Anthropic's for the Messages
 * endpoints and for any request that names an `anthropic-version` (the Anthropic SDK, Claude
 * Code), OpenAI's otherwise.
 */
const speaksAnthropic = (c: Context<AppEnv>) => c.req.path.startsWith('/v1/messages') || c.req.header('anthropic-version') !== undefined;
const errorResponseFor = (c: Context<AppEnv>) => (speaksAnthropic(c) ? anthropicErrorResponse : errorResponse);

app.use('*', async (c, next) => {
  // The id carries the call's start, the row's ts (core/ids.ts).
  const startedAt = Date.now();
  c.set('requestId', newRequestId(startedAt));
  c.set('startedAt', startedAt);
  await next();
  c.res.headers.set('x-request-id', c.get('requestId'));
  // Anthropic's clients read the request id from `request-id`.
  if (speaksAnthropic(c)) c.res.headers.set('request-id', c.get('requestId'));
  for (const [name, value] of Object.entries(c.get('rateLimitHeaders') ?? {})) c.res.headers.set(name, value);
});

app.get('/health', (c) => health(c.env));
// The dashboard is static assets under /dashboard/; the bare origin leads there.
app.get('/', (c) => c.redirect('/dashboard/', 302));

app.use(
  '/v1/*',
  corsFor((env) => env.CORS_ALLOWED_ORIGINS, {
    // No allowHeaders: the headers a preflight asks for are allowed (SDKs send their own x-stainless-* set).
    exposeHeaders: [
      'x-request-id',
      'request-id',
      'x-proxy-model',
      'x-proxy-tier',
      'x-proxy-route-reason',
      'x-proxy-cache',
      'x-proxy-cost-usd',
      'x-proxy-attempts',
      'x-proxy-fallback-from',
      'retry-after',
      'x-ratelimit-limit-requests',
      'x-ratelimit-remaining-requests',
      'x-ratelimit-reset-requests',
      'x-ratelimit-limit-tokens',
      'x-ratelimit-remaining-tokens',
      'x-ratelimit-reset-tokens',
    ],
  }),
  tenantAuth,
  trackCall,
);
app.post('/v1/chat/completions', chatCompletions);
app.post('/v1/embeddings', embeddings);
app.post('/v1/messages', createMessage);
app.post('/v1/messages/count_tokens', countTokens);
app.post('/v1/responses', createResponse);
app.get('/v1/responses/:id', getResponse);
app.delete('/v1/responses/:id', deleteResponse);
app.get('/v1/models', listModels);

app.use(
  '/admin/*',
  corsFor((env) => env.ADMIN_CORS_ALLOWED_ORIGINS, { allowHeaders: ['authorization', 'content-type'], exposeHeaders: ['x-request-id', 'x-analytics-source'] }),
);
app.route('/admin', admin);

app.notFound((c) =>
  errorResponseFor(c)(new ProxyError(404, 'Unknown endpoint.', { type: 'invalid_request_error', code: 'unknown_url' }), { 'x-request-id': c.get('requestId') }),
);

/** Hono's own 4xx (a body its JSON validator could not parse, or did not take for JSON) in the OpenAI shape. */
function honoClientError(thrown: HTTPException): ProxyError {
  if (thrown.status === 415) {
    return new ProxyError(415, 'The request body must be JSON: send it with `Content-Type: application/json`.', {
      type: 'invalid_request_error',
      code: 'unsupported_media_type',
    });
  }
  return new ProxyError(thrown.status, `Invalid request: ${thrown.message || 'bad request'}.`, { type: 'invalid_request_error', code: 'invalid_json' });
}

app.onError((thrown, c) => {
  const error = thrown instanceof HTTPException && thrown.status < 500 ? honoClientError(thrown) : toProxyError(thrown);
  if (error.status >= 500 && !(thrown instanceof ProxyError)) console.error('unhandled error', c.get('requestId'), thrown);
  // What failed underneath (an upstream's connection error, say) is for the operator, never the client.
  else if (error.status >= 500 && error.cause !== undefined)
    console.warn(`${error.code ?? error.type}`, c.get('requestId'), error.cause instanceof Error ? error.cause.message : error.cause);
  const call = c.get('call');
  const respond = errorResponseFor(c);
  let response: Response;
  try {
    response = respond(error, { 'x-request-id': c.get('requestId'), ...(call?.resolved ? routingHeaders(call) : {}) });
  } catch {
    // A header that cannot be sent (the failure itself may have been one) must not turn the
    // answer into an uncaught exception: the error goes out without the routing headers.
    response = respond(error, { 'x-request-id': c.get('requestId') });
  }
  // Every call that got past authentication is logged, failures included, with the status its
  // client got (an API's own shape may tell a spent budget as 402, an overload as 529).
  if (call) logCall(c, { status: response.status, error });
  return response;
});
