/** One tenant: its numbers and charts, its settings, and its API keys. */
import { useState } from 'preact/hooks';
import { DEFAULT_ALERT_THRESHOLDS } from '../../../proxy/alerts/thresholds';
import { api } from '../api';
import { ChartView } from '../components/chart';
import { SecretOnce } from '../components/secret-once';
import { KeySettingsForm } from '../components/key-settings-form';
import { SpendByAttribute } from '../components/spend-by-attribute';
import { Async, Empty, ErrorNote, Loading } from '../components/states';
import { Stat } from '../components/stat';
import { EVAL_KINDS, TenantSettingsForm } from '../components/tenant-settings-form';
import { evalRateText } from '../settings-input';
import { count, dateTime, ms, percent, usd } from '../format';
import type { KeySummary, Tenant } from '../../../proxy/tenants/schemas';
import type { PageProps } from '../page-props';
import { href } from '../router';
import { hasCalls, lineDatasets, stackedDatasets, timeAxis } from '../series';
import { RANGES, windowOf } from '../time-range';
import { useApi } from '../use-api';

export function TenantPage({ route, range, refreshMs, tenantId }: PageProps & { tenantId: string }) {
  const { interval } = RANGES[range];
  const window = () => ({ ...windowOf(range), tenant: tenantId });
  const tenant = useApi(() => api.tenant(tenantId), [tenantId]);
  const summary = useApi(() => api.summary(window()), [tenantId, range], refreshMs);
  const byModel = useApi(() => api.timeseries(window(), interval, 'model'), [tenantId, range], refreshMs);
  const overall = useApi(() => api.timeseries(window(), interval), [tenantId, range], refreshMs);
  const [editing, setEditing] = useState(false);

  if (!tenant.data) return tenant.error ? <ErrorNote error={tenant.error} retry={tenant.reload} /> : <Loading />;
  const t = tenant.data;

  return (
    <>
      <div class="page-head">
        <div>
          <p class="crumbs">
            <a href={href('tenants', { range })}>Tenants</a> /
          </p>
          <h1>{t.name}</h1>
          <p class="muted mono">{t.id}</p>
        </div>
        <div class="inline">
          <a class="button secondary" href={href('requests', { range, tenant: t.id })}>
            Request log
          </a>
          <a class="button secondary" href={href('alerts', { tenant: t.id })}>
            Alerts
          </a>
          {!editing && (
            <button type="button" onClick={() => setEditing(true)}>
              Edit settings
            </button>
          )}
        </div>
      </div>

      {editing ? (
        <section class="card" aria-labelledby="settings">
          <h2 id="settings">Settings</h2>
          <TenantSettingsForm
            tenant={t}
            submitLabel="Save"
            onCancel={() => setEditing(false)}
            onSubmit={async (settings) => {
              await api.updateTenant(t.id, settings);
              setEditing(false);
              tenant.reload();
            }}
          />
        </section>
      ) : (
        <p class="settings-line">
          {t.rpm === null ? 'No request limit' : `${count(t.rpm)} requests/min`} · {t.tpm === null ? 'no token limit' : `${count(t.tpm)} tokens/min`} ·{' '}
          {t.monthly_budget_usd === null ? 'no monthly budget' : `budget ${usd(t.monthly_budget_usd)}/month`} · routing {t.routing} · cache up to{' '}
          {t.cache_ttl_s} s · {t.store_content ? 'stores prompts and answers' : 'stores no prompts or answers'} ·{' '}
          {t.prompt_cache === 'isolated' ? 'isolated prompt cache' : 'shared prompt cache'} · {shadowEvaluation(t)} ·{' '}
          {t.alert_webhook_url
            ? `budget alerts to ${new URL(t.alert_webhook_url).host} at ${(t.alert_thresholds ?? DEFAULT_ALERT_THRESHOLDS).map((x) => percent(x, 0)).join(', ')}`
            : 'no alert webhook'}
        </p>
      )}

      <Async state={summary}>
        {(s) => (
          <section class="stats" aria-label={`${t.name}, ${RANGES[range].label.toLowerCase()}`}>
            <Stat label="Spend" value={usd(s.cost_usd)} note={`${usd(s.saved_usd)} saved by cache`} />
            <Stat label="Requests" value={count(s.requests)} note={`${count(s.errors)} errors (${percent(s.error_rate, 2)})`} />
            <Stat label="Tokens" value={count(s.prompt_tokens + s.completion_tokens)} note={`cheap tier ${percent(s.cheap_token_share)}`} />
            <Stat label="Latency p95" value={ms(s.latency_ms.p95)} note={`p50 ${ms(s.latency_ms.p50)}`} />
          </section>
        )}
      </Async>

      <div class="grid-2">
        <section class="card" aria-labelledby="tenant-spend">
          <h2 id="tenant-spend">Spend by model</h2>
          <Async state={byModel} empty={(s) => !hasCalls(s)}>
            {(s) => (
              <ChartView
                type="bar"
                stacked
                {...timeAxis(s, range)}
                datasets={stackedDatasets(s, (p) => p.cost_usd)}
                yTitle="USD"
                format={usd}
                label={`${t.name}: spend in USD per ${interval}, by model`}
              />
            )}
          </Async>
        </section>
        <section class="card" aria-labelledby="tenant-latency">
          <h2 id="tenant-latency">Latency</h2>
          <Async state={overall} empty={(s) => !hasCalls(s)}>
            {(s) => (
              <ChartView
                type="line"
                {...timeAxis(s, range)}
                datasets={lineDatasets(s, [
                  { label: 'p50', value: (p) => p.latency_p50 },
                  { label: 'p95', value: (p) => p.latency_p95 },
                ])}
                yTitle="Milliseconds"
                format={(v) => ms(Math.round(v))}
                label={`${t.name}: latency percentiles per ${interval}`}
              />
            )}
          </Async>
        </section>
      </div>

      <SpendByAttribute route={route} range={range} refreshMs={refreshMs} tenant={t.id} />

      <Keys tenantId={t.id} />
    </>
  );
}

/** The tenant's shadow evaluation, for its settings line: the share of calls sampled and the kinds it also samples. */
function shadowEvaluation(t: Tenant): string {
  if (t.shadow_eval_rate === 0) return 'no shadow evaluation';
  const also = t.shadow_eval_include.map((kind) => EVAL_KINDS[kind].toLowerCase()).join(', ');
  return `shadow evaluation of ${evalRateText(t.shadow_eval_rate)}% of calls${also ? ` (also ${also})` : ''}`;
}

/** A key's own limits, or that it has none (its tenant's alone apply). */
function keyLimits(key: KeySummary): string {
  const limits = [key.rpm === null ? null : `${count(key.rpm)} requests/min`, key.tpm === null ? null : `${count(key.tpm)} tokens/min`].filter(Boolean);
  return limits.length ? limits.join(' · ') : "tenant's only";
}

function keyExpiry(key: KeySummary): string {
  if (key.expires_at === null) return 'never';
  return `${Date.parse(key.expires_at) <= Date.now() ? 'expired' : 'expires'} ${dateTime(key.expires_at)}`;
}

function Keys({ tenantId }: { tenantId: string }) {
  const keys = useApi(() => api.keys(tenantId), [tenantId]);
  // Every key issued here and not yet dismissed: issuing another never hides one unseen.
  const [issued, setIssued] = useState<string[]>([]);
  const [error, setError] = useState<Error | null>(null);
  // One change at a time: a double click on "Revoke" must not send two.
  const [busy, setBusy] = useState(false);
  // The form open: a new key's, or a key's whose settings are being changed.
  const [form, setForm] = useState<{ editing: KeySummary | null } | null>(null);

  async function act(action: () => Promise<unknown>) {
    setError(null);
    setBusy(true);
    try {
      await action();
      keys.reload();
    } catch (e) {
      setError(e as Error);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section class="card" aria-labelledby="keys">
      <div class="card-head">
        <h2 id="keys">API keys</h2>
        {!form && (
          <button type="button" onClick={() => setForm({ editing: null })}>
            Issue new key
          </button>
        )}
      </div>
      {issued.map((secret) => (
        <SecretOnce key={secret} secret={secret} onDone={() => setIssued((list) => list.filter((s) => s !== secret))} />
      ))}
      {form && (
        <KeySettingsForm
          key={form.editing?.key_id ?? 'new'}
          existing={form.editing ?? undefined}
          submitLabel={form.editing ? 'Save key' : 'Issue key'}
          onCancel={() => setForm(null)}
          onSubmit={async (settings) => {
            if (form.editing) await api.updateKey(form.editing.key_id, settings);
            else {
              const { api_key } = await api.issueKey(tenantId, settings);
              setIssued((list) => [...list, api_key]);
            }
            setForm(null);
            keys.reload();
          }}
        />
      )}
      {error && <ErrorNote error={error} />}
      <Async state={keys}>
        {(k) =>
          k.data.length === 0 ? (
            <Empty>No keys.</Empty>
          ) : (
            <div class="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Key</th>
                    <th scope="col">Limits</th>
                    <th scope="col">Spend this month</th>
                    <th scope="col">Expiry</th>
                    <th scope="col">Created</th>
                    <th scope="col">Status</th>
                    <th scope="col">
                      <span class="visually-hidden">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {k.data.map((key) => (
                    <tr>
                      <td>
                        <span class="mono">{key.key_prefix}…</span>
                        {key.name && <div class="muted small">{key.name}</div>}
                      </td>
                      <td>{keyLimits(key)}</td>
                      <td>
                        {usd(key.month_to_date_usd)}
                        {key.monthly_budget_usd !== null && ` of ${usd(key.monthly_budget_usd)}`}
                      </td>
                      <td>{keyExpiry(key)}</td>
                      <td>{dateTime(key.created_at)}</td>
                      <td>{key.revoked_at ? `revoked ${dateTime(key.revoked_at)}` : 'active'}</td>
                      <td>
                        {!key.revoked_at && (
                          <div class="inline">
                            <button
                              type="button"
                              class="secondary"
                              disabled={busy}
                              aria-label={`Edit key ${key.key_prefix}`}
                              onClick={() => setForm({ editing: key })}
                            >
                              Edit
                            </button>
                            <button
                              type="button"
                              class="danger"
                              disabled={busy}
                              aria-label={`Revoke key ${key.key_prefix}`}
                              onClick={() => confirm(`Revoke key ${key.key_prefix}…? Calls using it will be refused.`) && act(() => api.revokeKey(key.key_id))}
                            >
                              Revoke
                            </button>
                          </div>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Async>
    </section>
  );
}
