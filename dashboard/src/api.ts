/**
 * The admin API as the dashboard calls it. The admin token lives in sessionStorage: it is
 * sent as a bearer header (never a cookie, so no CSRF surface) and forgotten when the tab closes.
 */
import type {
  Breakdown,
  GroupBy,
  Interval,
  RequestDetail,
  RequestLogPage,
  RoutingQuality,
  Spend,
  Storage,
  Summary,
  Timeseries,
  Unpriced,
} from '../../analytics/types';
import type { AlertDeliveryPage, AlertKind } from '../../proxy/alerts/schemas';
import type { CreatedTenant, IssuedKey, KeySettingsInput, KeySummary, Tenant, TenantSettingsInput } from '../../proxy/tenants/schemas';

const TOKEN_KEY = 'ai-proxy-admin-token';

export const session = {
  token: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  signIn: (token: string) => sessionStorage.setItem(TOKEN_KEY, token),
  signOut: () => sessionStorage.removeItem(TOKEN_KEY),
};

/** An error answer of the admin API, with its OpenAI-shaped message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Listeners told when the token stops working, so the app can return to sign-in. */
const unauthorizedListeners = new Set<() => void>();
export const onUnauthorized = (listener: () => void) => {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
};

type Query = Record<string, string | number | undefined | null>;

function url(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
  const qs = params.toString();
  return `/admin${path}${qs ? `?${qs}` : ''}`;
}

async function call(path: string, init: RequestInit & { query?: Query; token?: string } = {}): Promise<Response> {
  const token = init.token ?? session.token();
  const headers = new Headers(init.headers);
  if (token) headers.set('authorization', `Bearer ${token}`);
  if (init.body) headers.set('content-type', 'application/json');
  let response: Response;
  try {
    response = await fetch(url(path, init.query), { ...init, headers });
  } catch {
    throw new ApiError(0, 'The proxy did not answer. Is it running?');
  }
  if (response.ok) return response;
  const body = (await response.json().catch(() => null)) as { error?: { message?: string } } | null;
  const message = body?.error?.message ?? `${response.status} ${response.statusText}`;
  if (response.status === 401 && !init.token) unauthorizedListeners.forEach((listener) => listener());
  throw new ApiError(response.status, message);
}

const getJson = async <T>(path: string, query?: Query): Promise<T> => (await call(path, { query })).json() as Promise<T>;
const sendJson = async <T>(method: string, path: string, body?: unknown): Promise<T> =>
  (await call(path, { method, body: body === undefined ? undefined : JSON.stringify(body) })).json() as Promise<T>;

export interface Window {
  from: string;
  to: string;
  tenant?: string;
}

export interface RequestFilters {
  tenant?: string;
  model?: string;
  status?: string;
  tier?: string;
  cache?: string;
  endpoint?: string;
  user?: string;
  /** `key=value`. */
  tag?: string;
}

export interface AlertFilters {
  tenant?: string;
  kind?: AlertKind;
}

export const api = {
  /** Checks a token without storing it. */
  verify: async (token: string) => {
    await call('/tenants', { token });
  },
  summary: (w: Window) => getJson<Summary>('/analytics/summary', { ...w }),
  timeseries: (w: Window, interval: Interval, groupBy?: GroupBy) => getJson<Timeseries>('/analytics/timeseries', { ...w, interval, group_by: groupBy }),
  breakdown: (w: Window, groupBy: GroupBy) => getJson<Breakdown>('/analytics/breakdown', { ...w, group_by: groupBy }),
  spend: () => getJson<Spend>('/analytics/spend'),
  unpriced: (w: Window) => getJson<Unpriced>('/analytics/unpriced', { ...w }),
  routingQuality: (w: Window) => getJson<RoutingQuality>('/analytics/routing-quality', { ...w }),
  requests: (w: Window, filters: RequestFilters, cursor?: string, limit = 50) => getJson<RequestLogPage>('/requests', { ...w, ...filters, cursor, limit }),
  request: (id: string) => getJson<RequestDetail>(`/requests/${encodeURIComponent(id)}`),
  alerts: (filters: AlertFilters, cursor?: string, limit = 50) => getJson<AlertDeliveryPage>('/alerts', { ...filters, cursor, limit }),
  storage: () => getJson<Storage>('/storage'),
  /** The finance CSV as a file, fetched with the token (a plain link could not send it). */
  spendCsv: async (w: Window, groupBy?: GroupBy) => (await call('/export.csv', { query: { ...w, group_by: groupBy } })).blob(),
  tenants: () => getJson<{ data: Tenant[] }>('/tenants'),
  tenant: (id: string) => getJson<Tenant>(`/tenants/${encodeURIComponent(id)}`),
  createTenant: (settings: TenantSettingsInput) => sendJson<CreatedTenant>('POST', '/tenants', settings),
  updateTenant: (id: string, patch: Partial<TenantSettingsInput>) => sendJson<Tenant>('PATCH', `/tenants/${encodeURIComponent(id)}`, patch),
  keys: (id: string) => getJson<{ data: KeySummary[] }>(`/tenants/${encodeURIComponent(id)}/keys`),
  issueKey: (id: string, settings: KeySettingsInput) => sendJson<IssuedKey>('POST', `/tenants/${encodeURIComponent(id)}/keys`, settings),
  updateKey: (keyId: string, patch: KeySettingsInput) => sendJson<KeySummary>('PATCH', `/keys/${encodeURIComponent(keyId)}`, patch),
  revokeKey: (keyId: string) => sendJson<{ key_id: string; revoked: true }>('DELETE', `/keys/${encodeURIComponent(keyId)}`),
};
