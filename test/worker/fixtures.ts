/** Test fixtures built on the real admin API and the real D1 request log. */
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

export interface LoggedRow {
  id: string;
  tenant_id: string;
  key_id: string;
  endpoint: string;
  model_requested: string | null;
  model: string | null;
  provider: string | null;
  tier: string | null;
  route_reason: string | null;
  status: number;
  error_type: string | null;
  error_message: string | null;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  cache_write_tokens: number;
  usage_estimated: number;
  cost_nano: number;
  latency_ms: number;
  ttft_ms: number | null;
  stream: number;
  cache: string;
}

/** The D1 row of one call, by the x-request-id the client saw. */
export function loggedRow(requestId: string | null): Promise<LoggedRow | null> {
  return env.DB.prepare('SELECT * FROM requests WHERE id = ?').bind(requestId).first<LoggedRow>();
}

export async function rowsForTenant(tenantId: string): Promise<LoggedRow[]> {
  const { results } = await env.DB.prepare('SELECT * FROM requests WHERE tenant_id = ? ORDER BY ts, id').bind(tenantId).all<LoggedRow>();
  return results;
}
