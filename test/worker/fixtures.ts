/** Test fixtures built on the real admin API and the real D1 request log. */
import type { StoredRequestRow } from '../../analytics/types';
import { callAdmin, env } from './harness';

export interface TestTenant {
  id: string;
  apiKey: string;
  keyId: string;
}

export async function createTestTenant(settings: Record<string, unknown> = {}): Promise<TestTenant> {
  const call = await callAdmin('/admin/tenants', { method: 'POST', json: { name: `tenant-${crypto.randomUUID().slice(0, 8)}`, ...settings } });
  if (call.response.status !== 201) throw new Error(`creating a tenant answered ${call.response.status}: ${await call.response.text()}`);
  const body = (await call.response.json()) as { id: string; api_key: string; key_id: string };
  return { id: body.id, apiKey: body.api_key, keyId: body.key_id };
}

/** The D1 row of one call, by the x-request-id the client saw. */
export function loggedRow(requestId: string | null): Promise<StoredRequestRow | null> {
  return env.DB.prepare('SELECT * FROM requests WHERE id = ?').bind(requestId).first<StoredRequestRow>();
}

export async function rowsForTenant(tenantId: string): Promise<StoredRequestRow[]> {
  const { results } = await env.DB.prepare('SELECT * FROM requests WHERE tenant_id = ? ORDER BY ts, id').bind(tenantId).all<StoredRequestRow>();
  return results;
}
