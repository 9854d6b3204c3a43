import { afterAll, beforeAll, expect, it } from 'vitest';
import { startUpstreamServer, type UpstreamServer } from '../support/upstream-server';
import { startServer, type RunningServer } from './server';

let upstream: UpstreamServer;
let server: RunningServer;

beforeAll(async () => {
  upstream = await startUpstreamServer();
  server = await startServer({ upstreamUrl: upstream.url });
});

afterAll(async () => {
  await server?.stop();
  await upstream?.close();
});

it('npm start serves /health with D1, KV and Analytics Engine', async () => {
  const res = await fetch(`${server.url}/health`);
  expect(res.status).toBe(200);
  const body = (await res.json()) as { status: string; checks: Record<string, unknown> };
  expect(body.status).toBe('ok');
});

it('prints the admin token it uses and accepts it', async () => {
  // The local default is printed; a token from the developer's .dev.vars is not echoed. npm start
  // prints it once its own probe of /health answers, which may come after this test's did.
  if (server.adminToken === 'dev-admin-token') await expect.poll(() => server.output(), { timeout: 5000 }).toContain('ADMIN_TOKEN: dev-admin-token');
  const res = await fetch(`${server.url}/admin/tenants`, { headers: { authorization: `Bearer ${server.adminToken}` } });
  expect(res.status).toBe(200);
});
