/**
 * GET /health: each binding checked, within a time limit; a failure is named with a short reason,
 * never the binding's own error text. The request log's storage is reported beside the checks:
 * D1's size against its limit, with warnings that never make it a 503.
 */
import { describe, expect, it } from 'vitest';
import type { Storage } from '../../analytics/types';
import { callProxy, unavailableKV } from './harness';

type Health = { status: string; failed: string[]; checks: Record<string, string>; storage: Storage | null };

describe('GET /health', () => {
  it('answers 200 when D1, KV and Analytics Engine are there', async () => {
    const call = await callProxy('/health');
    expect(call.response.status).toBe(200);
    expect(await call.response.json()).toEqual({
      status: 'ok',
      checks: { d1: 'ok', kv: 'ok', analytics_engine: 'ok', log_queue: 'ok', admin_token: 'ok' },
      storage: expect.objectContaining({ warnings: [] }),
    });
  });

  it("reports D1's size against D1_MAX_BYTES, and warns from 80% without failing", async () => {
    const healthy = (await (await callProxy('/health')).response.json()) as Health;
    const size = healthy.storage!.d1.size_bytes!;
    expect(size).toBeGreaterThan(0);
    expect(healthy.storage!.d1).toEqual({ size_bytes: size, max_bytes: 10_000_000_000, used: size / 10_000_000_000, warn_at: 0.8 });
    expect(healthy.storage!.archive).toMatchObject({ enabled: true, backlog_hours: 0, stale_hours: 0 });
    expect(healthy.storage!.overflow).toEqual({ objects: 0, rows: 0, more: false });

    const nearlyFull = await callProxy('/health', {}, { D1_MAX_BYTES: String(Math.ceil(size / 0.85)) });
    expect(nearlyFull.response.status).toBe(200);
    const body = (await nearlyFull.response.json()) as Health;
    expect(body.status).toBe('ok');
    expect(body.storage!.d1.used).toBeCloseTo(0.85, 2);
    expect(body.storage!.warnings).toEqual([expect.stringMatching(/^D1 is 85% full .*RETENTION_DAYS/)]);

    // Without the ARCHIVE bucket: raw rows are purged with no archive, and it says so.
    const unarchived = (await (await callProxy('/health', {}, { ARCHIVE: undefined })).response.json()) as Health;
    expect(unarchived.storage).toMatchObject({ archive: { enabled: false }, overflow: null });
  });

  it('answers 503 naming the failed binding, without its error text', async () => {
    const brokenDb = {
      prepare: () => {
        throw new Error('D1 is unreachable at 10.0.0.7');
      },
    } as unknown as D1Database;
    const call = await callProxy('/health', {}, { DB: brokenDb, AE: undefined });
    expect(call.response.status).toBe(503);
    const text = await call.response.text();
    expect(text).not.toContain('10.0.0.7');
    const body = JSON.parse(text) as Health;
    expect(body.failed).toEqual(['d1', 'analytics_engine']);
    expect(body.checks).toMatchObject({ d1: 'failed: error (see the logs)', kv: 'ok', analytics_engine: 'failed: the AE binding is missing' });

    const kvDown = await callProxy('/health', {}, { KV: unavailableKV() });
    expect(kvDown.response.status).toBe(503);
    expect(((await kvDown.response.json()) as Health).failed).toEqual(['kv']);

    const noQueue = await callProxy('/health', {}, { REQUEST_LOG_SINK: 'queue', LOG_QUEUE: undefined });
    expect(((await noQueue.response.json()) as Health).checks.log_queue).toContain('LOG_QUEUE binding is missing');
  });

  it('answers 503 naming admin_token when deployed with an ADMIN_TOKEN shorter than 32 characters', async () => {
    // Deployed: no ENVIRONMENT=development (npm start and the tests set it).
    const deployed = (adminToken: string) => callProxy('/health', {}, { ENVIRONMENT: undefined, ADMIN_TOKEN: adminToken });
    const weak = await deployed('dev-admin-token');
    expect(weak.response.status).toBe(503);
    const body = (await weak.response.json()) as Health;
    expect(body.failed).toEqual(['admin_token']);
    expect(body.checks.admin_token).toContain('shorter than 32 characters');
    expect(JSON.stringify(body)).not.toContain('dev-admin-token');

    const strong = await deployed('x'.repeat(32));
    expect(strong.response.status).toBe(200);
    expect(((await strong.response.json()) as Health).checks.admin_token).toBe('ok');
    // Unset, the admin API is closed (503 there), which is not a failure of the deployment.
    expect((await callProxy('/health', {}, { ENVIRONMENT: undefined, ADMIN_TOKEN: undefined })).response.status).toBe(200);
  });

  it('answers 503 in bounded time when a binding hangs', async () => {
    const hangingDb = { prepare: () => ({ first: () => new Promise(() => {}) }) } as unknown as D1Database;
    // A probe that never answers would hang this test past its timeout; the answer names the limit that cut it off.
    const call = await callProxy('/health', {}, { DB: hangingDb });
    expect(call.response.status).toBe(503);
    const body = (await call.response.json()) as Health;
    expect(body.failed).toEqual(['d1']);
    expect(body.checks.d1).toBe('failed: no answer within 2500 ms');
  });
});
