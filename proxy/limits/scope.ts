/**
 * Whose limits a call must pass: its tenant's and, on top, its key's own (issue #17). The
 * buckets, the budget ledgers and the refusals all take a list of scopes and keep each one's
 * state the same way, so a key's limits behave exactly like its tenant's and a call is admitted
 * only when every scope admits it. A key with no limits of its own adds no scope: it costs
 * nothing beyond its tenant's.
 */
import type { TenantContext } from '../tenants/schemas';

export interface LimitScope {
  kind: 'tenant' | 'key';
  /** The tenant's or the key's id. */
  id: string;
  /**
   * Its name in the stores (KV keys, isolate memory, its tenant's Durable Object): the tenant's
   * id, as before keys had limits, or `key:<key id>`.
   */
  name: string;
  rpm: number | null;
  tpm: number | null;
  budgetUsd: number | null;
}

export const keyScopeName = (keyId: string) => `key:${keyId}`;

/** The scopes of a call: its tenant's, then its key's when the key has limits of its own. */
export function scopesOf({ tenantId, keyId, tenant, key }: TenantContext): LimitScope[] {
  const scopes: LimitScope[] = [{ kind: 'tenant', id: tenantId, name: tenantId, rpm: tenant.rpm, tpm: tenant.tpm, budgetUsd: tenant.monthly_budget_usd }];
  if (key.rpm !== null || key.tpm !== null || key.monthly_budget_usd !== null) {
    scopes.push({ kind: 'key', id: keyId, name: keyScopeName(keyId), rpm: key.rpm, tpm: key.tpm, budgetUsd: key.monthly_budget_usd });
  }
  return scopes;
}

/** How a refusal names the scope whose limit it hit. */
export const scopeLabel = (scope: Pick<LimitScope, 'kind'>) => (scope.kind === 'tenant' ? 'this tenant' : 'this API key');
