/** The request log: filtered by tenant, model, endpoint, user, tag, status, tier and cache, newest first, a page at a time. */
import { useState } from 'preact/hooks';
import { ENDPOINT_PATHS, ENDPOINTS } from '../../../analytics/endpoints';
import { api, type RequestFilters } from '../api';
import { cursorParam, cursorsOf, Pager } from '../components/pager';
import { RequestDetails } from '../components/request-details';
import { Async, Empty } from '../components/states';
import { count, dateTime, ms, tagsText, usd } from '../format';
import type { PageProps } from '../page-props';
import { navigate, parseRoute } from '../router';
import { useTenantNames } from '../tenant-names';
import { windowOf } from '../time-range';
import { useApi } from '../use-api';

const FILTERS = ['tenant', 'model', 'endpoint', 'user', 'tag', 'status', 'tier', 'cache'] as const;
const PAGE_SIZE = 50;
/** Columns of the table, which an error or details row spans. */
const COLUMNS = 14;

const filtersOf = (params: URLSearchParams): RequestFilters => Object.fromEntries(FILTERS.map((f) => [f, params.get(f) ?? undefined]));

export function RequestsPage({ route, range }: PageProps) {
  const filters = filtersOf(route.params);
  const stack = cursorsOf(route);
  const cursor = stack.at(-1);
  const page = useApi(() => api.requests(windowOf(range), filters, cursor, PAGE_SIZE), [range, JSON.stringify(filters), cursor]);
  const tenants = useApi(() => api.tenants(), []);
  const name = useTenantNames();
  // The call whose details are open, if any.
  const [open, setOpen] = useState<string | null>(null);

  // From the URL as it is now, not as this render saw it: a change not yet rendered (Clear
  // filters, then a pick straight after) must not be undone.
  const setFilter = (key: (typeof FILTERS)[number], value: string) =>
    navigate('requests', { ...filtersOf(parseRoute(location.hash).params), range, [key]: value || undefined });
  /** A filter typed as text, set when the field is left. */
  const textFilter = (key: 'model' | 'user' | 'tag', label: string, placeholder: string) => (
    <div class="field">
      <label for={`filter-${key}`}>{label}</label>
      <input
        id={`filter-${key}`}
        placeholder={placeholder}
        value={filters[key] ?? ''}
        onChange={(e) => setFilter(key, (e.target as HTMLInputElement).value.trim())}
      />
    </div>
  );
  const goToPage = (cursors: string[]) => navigate('requests', { ...filters, range, cursor: cursorParam(cursors) });

  return (
    <>
      <div class="page-head">
        <h1>Request log</h1>
      </div>
      <form class="filters card" aria-label="Filters" onSubmit={(e) => e.preventDefault()}>
        <div class="field">
          <label for="filter-tenant">Tenant</label>
          <select id="filter-tenant" value={filters.tenant ?? ''} onChange={(e) => setFilter('tenant', (e.target as HTMLSelectElement).value)}>
            <option value="">All tenants</option>
            {(tenants.data?.data ?? []).map((t) => (
              <option value={t.id}>{t.name}</option>
            ))}
            {filters.tenant && !tenants.data?.data.some((t) => t.id === filters.tenant) && <option value={filters.tenant}>{filters.tenant}</option>}
          </select>
        </div>
        {textFilter('model', 'Model', 'e.g. mock/mock-mini')}
        <div class="field">
          <label for="filter-endpoint">Endpoint</label>
          <select id="filter-endpoint" value={filters.endpoint ?? ''} onChange={(e) => setFilter('endpoint', (e.target as HTMLSelectElement).value)}>
            <option value="">Any</option>
            {ENDPOINTS.map((endpoint) => (
              <option value={endpoint} title={ENDPOINT_PATHS[endpoint]}>
                {endpoint}
              </option>
            ))}
          </select>
        </div>
        {textFilter('user', 'User', "x-proxy-user or the body's user")}
        {textFilter('tag', 'Tag', 'e.g. team=search')}
        <div class="field">
          <label for="filter-status">Status</label>
          <select id="filter-status" value={filters.status ?? ''} onChange={(e) => setFilter('status', (e.target as HTMLSelectElement).value)}>
            <option value="">Any</option>
            <option value="ok">Succeeded</option>
            <option value="error">Failed (any error)</option>
            <option value="429">429 rate limited / over budget</option>
            <option value="499">499 client went away</option>
            <option value="502">502 upstream error</option>
            <option value="503">503 upstream unavailable</option>
            <option value="504">504 upstream timeout</option>
          </select>
        </div>
        <div class="field">
          <label for="filter-tier">Tier</label>
          <select id="filter-tier" value={filters.tier ?? ''} onChange={(e) => setFilter('tier', (e.target as HTMLSelectElement).value)}>
            <option value="">Any</option>
            <option value="cheap">cheap</option>
            <option value="expensive">expensive</option>
          </select>
        </div>
        <div class="field">
          <label for="filter-cache">Cache</label>
          <select id="filter-cache" value={filters.cache ?? ''} onChange={(e) => setFilter('cache', (e.target as HTMLSelectElement).value)}>
            <option value="">Any</option>
            <option value="HIT">HIT</option>
            <option value="MISS">MISS</option>
            <option value="BYPASS">BYPASS</option>
          </select>
        </div>
        {FILTERS.some((f) => filters[f]) && (
          <button type="button" class="secondary" onClick={() => navigate('requests', { range })}>
            Clear filters
          </button>
        )}
      </form>

      <section class="card" aria-label="Calls">
        <Async state={page}>
          {(p) =>
            p.data.length === 0 ? (
              <Empty>No calls match these filters in this window.</Empty>
            ) : (
              <>
                <div class="table-wrap">
                  <table class="log">
                    <thead>
                      <tr>
                        <th scope="col">Time</th>
                        <th scope="col">Tenant</th>
                        <th scope="col">Endpoint</th>
                        <th scope="col">User</th>
                        <th scope="col">Tags</th>
                        <th scope="col">Model</th>
                        <th scope="col">Tier</th>
                        <th scope="col" class="num">
                          Status
                        </th>
                        <th scope="col" class="num">
                          Tokens in / out
                        </th>
                        <th scope="col" class="num">
                          Cost
                        </th>
                        <th scope="col" class="num">
                          Latency
                        </th>
                        <th scope="col" class="num">
                          TTFT
                        </th>
                        <th scope="col">Cache</th>
                        <th scope="col">
                          <span class="visually-hidden">Details</span>
                        </th>
                      </tr>
                    </thead>
                    <tbody>
                      {p.data.map((r) => (
                        <>
                          <tr data-request-id={r.id} class={r.error_message ? 'has-error' : undefined}>
                            <td>{dateTime(r.ts)}</td>
                            <td>{name(r.tenant_id)}</td>
                            <td>{r.endpoint}</td>
                            <td class="wrap">{r.user ?? '–'}</td>
                            <td class="wrap small">{tagsText(r.tags) || '–'}</td>
                            <td class="wrap">
                              {r.model ?? '–'}
                              {r.model_requested && r.model_requested !== r.model && <div class="muted small">asked {r.model_requested}</div>}
                              {r.route_reason?.startsWith('fallback:') && (
                                <div class="muted small">fallback from {r.route_reason.slice('fallback:'.length)}</div>
                              )}
                            </td>
                            <td>{r.tier ?? '–'}</td>
                            <td class="num">
                              <span class={`status${r.status >= 400 ? ' bad' : ''}`}>{r.status}</span>
                              {r.attempts > 1 && <div class="muted small">{r.attempts} attempts</div>}
                            </td>
                            <td class="num">
                              {count(r.prompt_tokens)} / {count(r.completion_tokens)}
                              {r.usage_estimated && (
                                <span class="muted" title="Estimated: the upstream reported no usage">
                                  {' '}
                                  ~
                                </span>
                              )}
                            </td>
                            <td class="num">{usd(r.cost_usd)}</td>
                            <td class="num">{ms(r.latency_ms)}</td>
                            <td class="num">{ms(r.ttft_ms)}</td>
                            <td>{r.cache}</td>
                            <td>
                              <button
                                type="button"
                                class="link"
                                aria-expanded={open === r.id}
                                aria-controls={`details-${r.id}`}
                                aria-label={`Details of call ${r.id}`}
                                onClick={() => setOpen(open === r.id ? null : r.id)}
                              >
                                {open === r.id ? 'Hide' : 'Details'}
                              </button>
                            </td>
                          </tr>
                          {r.error_message && (
                            <tr class="error-row">
                              <td colSpan={COLUMNS} class="error-text">
                                {r.error_type && <span class="mono">{r.error_type}</span>} {r.error_message}
                              </td>
                            </tr>
                          )}
                          {open === r.id && (
                            <tr class="detail-row" id={`details-${r.id}`}>
                              <td colSpan={COLUMNS}>
                                <RequestDetails id={r.id} />
                              </td>
                            </tr>
                          )}
                        </>
                      ))}
                    </tbody>
                  </table>
                </div>
                <Pager label="Pages of the request log" cursors={stack} next={p.next_cursor} loading={page.loading} go={goToPage} />
              </>
            )
          }
        </Async>
      </section>
    </>
  );
}
