/** Tenant ids to names, loaded once per page view: reports carry ids, people read names. */
import { api } from './api';
import { useApi } from './use-api';

export function useTenantNames(): (id: string) => string {
  const tenants = useApi(() => api.tenants(), []);
  const names = new Map((tenants.data?.data ?? []).map((t) => [t.id, t.name]));
  return (id: string) => names.get(id) ?? id;
}
