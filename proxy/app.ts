/** The Hono app: the OpenAI-compatible proxy under /v1, the admin API under /admin, /health (the dashboard is static assets). */
import { Hono } from 'hono';
import { admin } from './admin/app';
import { tenantAuth } from './auth/tenant-auth';
import { logCall, routingHeaders, trackCall, type AppEnv } from './context';
import { errorResponse, ProxyError, toProxyError } from './errors';
import { newRequestId } from './ids';
import { chatCompletions } from './routes/chat';
import { embeddings } from './routes/embeddings';
import { health } from './routes/health';
import { listModels } from './routes/models';

export const app = new Hono<AppEnv>();

app.use('*', async (c, next) => {
  c.set('requestId', newRequestId());
  c.set('startedAt', Date.now());
  await next();
  c.res.headers.set('x-request-id', c.get('requestId'));
  for (const [name, value] of Object.entries(c.get('rateLimitHeaders') ?? {})) c.res.headers.set(name, value);
});

app.get('/health', (c) => health(c.env));
// The dashboard is static assets under /dashboard/; the bare origin leads there.
app.get('/', (c) => c.redirect('/dashboard/', 302));

app.use('/v1/*', tenantAuth, trackCall);
app.post('/v1/chat/completions', chatCompletions);
app.post('/v1/embeddings', embeddings);
app.get('/v1/models', listModels);

app.route('/admin', admin);

app.notFound(() => errorResponse(new ProxyError(404, 'Unknown endpoint.', 'invalid_request_error', 'unknown_url')));

app.onError((thrown, c) => {
  const error = toProxyError(thrown);
  if (!(thrown instanceof ProxyError)) console.error('unhandled error', c.get('requestId'), thrown);
  const call = c.get('call');
  // Every call that got past authentication is logged, failures included.
  if (call) logCall(c, { status: error.status, error });
  return errorResponse(error, { 'x-request-id': c.get('requestId'), ...(call?.resolved ? routingHeaders(call) : {}) });
});
