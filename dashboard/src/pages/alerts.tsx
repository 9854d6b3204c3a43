/** The alert history: every delivery of every alert, newest first, with its outcome; filtered by tenant and kind. */
import type { AlertDelivery, AlertKind } from '../../../proxy/alerts/schemas';
import { api, type AlertFilters } from '../api';
import { cursorParam, cursorsOf, Pager } from '../components/pager';
import { Async, Empty } from '../components/states';
import { dateTime, ms, percent, usd } from '../format';
import type { PageProps } from '../page-props';
import { navigate } from '../router';
import { useTenantNames } from '../tenant-names';
import { useApi } from '../use-api';

const KINDS: Record<AlertKind, string> = {
  budget: 'Budget threshold',
  forecast: 'Budget forecast',
  error_rate: 'Upstream error rate',
  latency_p95: 'Upstream p95 latency',
};
const KIND_IDS = Object.keys(KINDS) as AlertKind[];
const PAGE_SIZE = 50;

/** What the alert said, from its fields (its Slack text is written for Slack). */
function what({ payload: { alert } }: AlertDelivery): string {
  // Upstream alerts name a model; budget alerts a month.
  if ('model' in alert) {
    const value = (v: number) => (alert.kind === 'error_rate' ? percent(v) : ms(Math.round(v)));
    return `${alert.model}: ${value(alert.value)} over ${alert.samples} samples, ${alert.state === 'firing' ? 'above' : 'back under'} ${value(alert.threshold)}`;
  }
  return alert.kind === 'budget'
    ? `${percent(alert.threshold, 0)} of the ${usd(alert.budget_usd)} budget reached: ${usd(alert.spend_usd)} in ${alert.month}`
    : `Forecast ${usd(alert.forecast_usd ?? 0)} for ${alert.month}, over the ${usd(alert.budget_usd)} budget`;
}

export function AlertsPage({ route }: PageProps) {
  // A hand-edited URL may hold any kind: an unknown one filters nothing.
  const kind = KIND_IDS.find((k) => k === route.params.get('kind'));
  const filters: AlertFilters = { tenant: route.params.get('tenant') ?? undefined, kind };
  const cursors = cursorsOf(route);
  const page = useApi(() => api.alerts(filters, cursors.at(-1), PAGE_SIZE), [JSON.stringify(filters), cursors.at(-1)]);
  const tenants = useApi(() => api.tenants(), []);
  const name = useTenantNames();
  const show = (changes: AlertFilters & { cursor?: string }) => navigate('alerts', { ...filters, ...changes });

  return (
    <>
      <div class="page-head">
        <h1>Alerts</h1>
      </div>
      <form class="filters card" aria-label="Filters" onSubmit={(e) => e.preventDefault()}>
        <div class="field">
          <label for="alerts-tenant">Tenant</label>
          <select id="alerts-tenant" value={filters.tenant ?? ''} onChange={(e) => show({ tenant: (e.target as HTMLSelectElement).value || undefined })}>
            <option value="">All tenants</option>
            {(tenants.data?.data ?? []).map((t) => (
              <option value={t.id}>{t.name}</option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="alerts-kind">Kind</label>
          <select
            id="alerts-kind"
            value={filters.kind ?? ''}
            onChange={(e) => show({ kind: ((e.target as HTMLSelectElement).value || undefined) as AlertKind })}
          >
            <option value="">Any</option>
            {KIND_IDS.map((kind) => (
              <option value={kind}>{KINDS[kind]}</option>
            ))}
          </select>
        </div>
      </form>

      <section class="card" aria-label="Alert deliveries">
        <Async state={page}>
          {(p) =>
            p.data.length === 0 ? (
              <Empty>No alerts sent{filters.tenant || filters.kind ? ' that match these filters' : ' yet'}.</Empty>
            ) : (
              <>
                <div class="table-wrap">
                  <table>
                    <thead>
                      <tr>
                        <th scope="col">Raised</th>
                        <th scope="col">Alert</th>
                        <th scope="col">About</th>
                        <th scope="col">Sent to</th>
                        <th scope="col">Outcome</th>
                      </tr>
                    </thead>
                    <tbody>
                      {p.data.map((d) => (
                        <tr data-delivery-id={d.id}>
                          <td>{dateTime(d.created_at)}</td>
                          <td class="wrap">
                            <strong>
                              {KINDS[d.kind]}
                              {d.state === 'resolved' && ' (resolved)'}
                            </strong>
                            <div class="small">{what(d)}</div>
                          </td>
                          <td>{d.tenant_id ? name(d.tenant_id) : d.subject}</td>
                          <td class="wrap">
                            {d.destination === 'tenant' ? "Tenant's webhook" : 'ALERT_WEBHOOK_URL'}
                            <div class="muted small mono">{d.url}</div>
                          </td>
                          <td class="wrap">
                            <span class={`status${d.status === 'failed' ? ' bad' : ''}`}>{d.status}</span>
                            <div class="muted small">
                              {d.attempts} {d.attempts === 1 ? 'attempt' : 'attempts'}
                              {d.delivered_at && `, delivered ${dateTime(d.delivered_at)}`}
                              {d.next_attempt_at && `, next ${dateTime(d.next_attempt_at)}`}
                            </div>
                            {d.last_error && <div class="error-text small">{d.last_error}</div>}
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
                <Pager
                  label="Pages of the alert history"
                  cursors={cursors}
                  next={p.next_cursor}
                  loading={page.loading}
                  go={(stack) => show({ cursor: cursorParam(stack) })}
                />
              </>
            )
          }
        </Async>
      </section>
    </>
  );
}
