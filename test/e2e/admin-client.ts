/**
 * The admin API as the end-to-end tests call it against a running server: create tenants,
 * and read a tenant's request-log rows once they are written (rows follow the answers).
 */
import { expect } from 'vitest';
import type { RunningServer } from './server';

/** `server`: the running server, asked for at each call (a test file starts it in beforeAll). */
export function adminClient(server: () => RunningServer) {
  const admin = (path: string, init: RequestInit = {}) =>
    fetch(`${server().url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${server().adminToken}`, 'content-type': 'application/json', ...init.headers },
    });

  async function createTenant(body: Record<string, unknown>): Promise<{ id: string; api_key: string }> {
    const res = await admin('/admin/tenants', { method: 'POST', body: JSON.stringify(body) });
    expect(res.status).toBe(201);
    return (await res.json()) as { id: string; api_key: string };
  }

  /** The tenant's log rows once at least `count` are there. */
  async function rowsOf<Row>(tenant: string, count: number): Promise<Row[]> {
    let rows: Row[] = [];
    for (let i = 0; i < 100; i++) {
      const res = await admin(`/admin/requests?tenant=${tenant}&limit=100`);
      expect(res.status).toBe(200);
      rows = ((await res.json()) as { data: Row[] }).data;
      if (rows.length >= count) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    return rows;
  }

  return { admin, createTenant, rowsOf };
}
