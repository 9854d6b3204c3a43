/** Tenant ids to names, loaded once per page view: reports carry ids, people read names. */
import { api } from './api';
import { groupName } from './format';
import { useApi } from './use-api';

/** Names by id; a group with no tenant (null, never one of a breakdown by tenant) is named as every such group is. */
export function useTenantNames(): (id: string | null) => string {
  const tenants = useApi(() => api.tenants(), []);
  const names = new Map((tenants.data?.data ?? []).map((t) => [t.id, t.name]));
  return (id: string | null) => (id === null ? groupName(id) : (names.get(id) ?? id));
}
