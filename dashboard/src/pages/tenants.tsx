/** Tenants: each with its limits and this month's spend; create one and get its first key. */
import { useState } from 'preact/hooks';
import { api } from '../api';
import { SecretOnce } from '../components/secret-once';
import { Async, Empty } from '../components/states';
import { TenantSettingsForm } from '../components/tenant-settings-form';
import { count, percent, usd } from '../format';
import type { PageProps } from '../page-props';
import { href } from '../router';
import { useApi } from '../use-api';

export function TenantsPage({ range }: PageProps) {
  const tenants = useApi(() => Promise.all([api.tenants(), api.spend()]), []);
  const [creating, setCreating] = useState(false);
  // Tenants created here whose key is not dismissed yet: starting another keeps them on screen.
  const [created, setCreated] = useState<{ id: string; name: string; key: string }[]>([]);

  return (
    <>
      <div class="page-head">
        <h1>Tenants</h1>
        {!creating && (
          <button type="button" onClick={() => setCreating(true)}>
            New tenant
          </button>
        )}
      </div>

      {creating && (
        <section class="card" aria-labelledby="new-tenant">
          <h2 id="new-tenant">New tenant</h2>
          <TenantSettingsForm
            submitLabel="Create tenant"
            onCancel={() => setCreating(false)}
            onSubmit={async (settings) => {
              const tenant = await api.createTenant({ ...settings, name: settings.name ?? '' });
              setCreating(false);
              setCreated((list) => [{ id: tenant.id, name: tenant.name, key: tenant.api_key }, ...list]);
              tenants.reload();
            }}
          />
        </section>
      )}

      {created.map((c) => (
        <section key={c.id} class="card" aria-label={`API key for ${c.name}`}>
          <h2>
            Created <a href={href(`tenants/${encodeURIComponent(c.id)}`, { range })}>{c.name}</a>
          </h2>
          <SecretOnce secret={c.key} onDone={() => setCreated((list) => list.filter((other) => other.id !== c.id))} />
        </section>
      ))}

      <section class="card">
        <Async state={tenants}>
          {([list, spend]) => {
            if (list.data.length === 0) return <Empty>No tenants yet. Create one to issue its API key.</Empty>;
            const spent = new Map(spend.data.map((s) => [s.tenant_id, s]));
            return (
              <div class="table-wrap">
                <table>
                  <caption class="visually-hidden">Tenants, their limits and month-to-date spend</caption>
                  <thead>
                    <tr>
                      <th scope="col">Name</th>
                      <th scope="col">Id</th>
                      <th scope="col" class="num">
                        Requests / min
                      </th>
                      <th scope="col" class="num">
                        Tokens / min
                      </th>
                      <th scope="col" class="num">
                        Monthly budget
                      </th>
                      <th scope="col" class="num">
                        Month to date
                      </th>
                      <th scope="col">Routing</th>
                    </tr>
                  </thead>
                  <tbody>
                    {list.data.map((t) => {
                      const s = spent.get(t.id);
                      return (
                        <tr>
                          <th scope="row">
                            <a href={href(`tenants/${encodeURIComponent(t.id)}`, { range })}>{t.name}</a>
                          </th>
                          <td class="mono">{t.id}</td>
                          <td class="num">{t.rpm === null ? 'unlimited' : count(t.rpm)}</td>
                          <td class="num">{t.tpm === null ? 'unlimited' : count(t.tpm)}</td>
                          <td class="num">{t.monthly_budget_usd === null ? 'none' : usd(t.monthly_budget_usd)}</td>
                          <td class="num">
                            {s ? usd(s.month_to_date_usd) : '–'}
                            {s?.budget_used != null && <span class="muted"> ({percent(s.budget_used, 0)})</span>}
                          </td>
                          <td>{t.routing}</td>
                        </tr>
                      );
                    })}
                  </tbody>
                </table>
              </div>
            );
          }}
        </Async>
      </section>
    </>
  );
}
