/** Spend, for finance: over time by tenant, model, endpoint, user, key or tag, per-tenant budgets and forecasts, the CSV. */
import { useState } from 'preact/hooks';
import { api } from '../api';
import type { GroupBy } from '../../../analytics/types';
import { ChartView } from '../components/chart';
import { GroupByPicker, groupByLabel, groupByOf, type GroupByOption } from '../components/group-by';
import { SpendByAttribute } from '../components/spend-by-attribute';
import { SpendTable } from '../components/spend-table';
import { Async, Empty } from '../components/states';
import { groupName, percent, usd } from '../format';
import type { PageProps } from '../page-props';
import { href } from '../router';
import { hasCalls, stackedDatasets, timeAxis } from '../series';
import { useTenantNames } from '../tenant-names';
import { RANGES, windowOf } from '../time-range';
import { useApi } from '../use-api';

/** What the spend chart may be stacked by (`stack_by` in the URL; the first is the default). */
const STACK_BY: readonly GroupByOption[] = ['tenant', 'model', 'endpoint', 'user', 'key', 'tag'];
const DEFAULT_STACK_BY: GroupBy = 'tenant';

export function SpendPage({ route, range, refreshMs }: PageProps) {
  const stackBy = groupByOf(route, 'stack_by', STACK_BY, DEFAULT_STACK_BY);
  const { interval } = RANGES[range];
  const name = useTenantNames();
  const series = useApi(() => api.timeseries(windowOf(range), interval, stackBy), [range, stackBy], refreshMs);
  const spend = useApi(() => api.spend(), [], refreshMs);
  const byModel = useApi(() => api.breakdown(windowOf(range), 'model'), [range], refreshMs);

  return (
    <>
      <div class="page-head">
        <h1>Spend</h1>
        <CsvDownload range={range} />
      </div>

      <section class="card" aria-labelledby="spend-over-time">
        <div class="card-head">
          <h2 id="spend-over-time">Spend over time</h2>
          <GroupByPicker param="stack_by" options={STACK_BY} value={stackBy} fallback={DEFAULT_STACK_BY} legend="Stack by" />
        </div>
        <Async state={series} empty={(t) => !hasCalls(t)}>
          {(t) => (
            <ChartView
              type="bar"
              stacked
              {...timeAxis(t, range)}
              datasets={stackedDatasets(t, (p) => p.cost_usd, stackBy === 'tenant' ? name : groupName)}
              yTitle="USD"
              format={usd}
              label={`Spend in USD per ${interval}, stacked by ${groupByLabel(stackBy)}`}
            />
          )}
        </Async>
      </section>

      <section class="card" aria-labelledby="budgets">
        <h2 id="budgets">Tenants this month</h2>
        <Async state={spend}>
          {(s) =>
            s.data.length === 0 ? (
              <Empty>No tenants yet.</Empty>
            ) : (
              <div class="table-wrap">
                <table>
                  <caption class="visually-hidden">Month-to-date spend, budget and forecast per tenant, {s.month}</caption>
                  <thead>
                    <tr>
                      <th scope="col">Tenant</th>
                      <th scope="col" class="num">
                        Month to date
                      </th>
                      <th scope="col" class="num">
                        Budget
                      </th>
                      <th scope="col" class="num">
                        Used
                      </th>
                      <th scope="col" class="num">
                        Per day (7 d)
                      </th>
                      <th scope="col" class="num">
                        Month-end forecast
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {[...s.data]
                      .sort((a, b) => b.month_to_date_usd - a.month_to_date_usd)
                      .map((t) => {
                        const over = t.monthly_budget_usd !== null && t.forecast_usd > t.monthly_budget_usd;
                        return (
                          <tr>
                            <th scope="row">
                              <a href={href(`tenants/${encodeURIComponent(t.tenant_id)}`, { range })}>{t.name}</a>
                            </th>
                            <td class="num">{usd(t.month_to_date_usd)}</td>
                            <td class="num">{t.monthly_budget_usd === null ? 'none' : usd(t.monthly_budget_usd)}</td>
                            <td class="num">
                              {t.budget_used === null ? (
                                '–'
                              ) : (
                                <>
                                  <meter
                                    min={0}
                                    max={1}
                                    low={0.8}
                                    high={0.95}
                                    optimum={0}
                                    value={Math.min(t.budget_used, 1)}
                                    aria-label={`${t.name}: ${percent(t.budget_used)} of budget used`}
                                  />{' '}
                                  {percent(t.budget_used)}
                                </>
                              )}
                            </td>
                            <td class="num">{usd(t.daily_run_rate_usd)}</td>
                            <td class={`num${over ? ' warn' : ''}`}>
                              {usd(t.forecast_usd)}
                              {over && <span class="badge">over budget</span>}
                            </td>
                          </tr>
                        );
                      })}
                  </tbody>
                </table>
              </div>
            )
          }
        </Async>
      </section>

      <section class="card" aria-labelledby="by-model">
        <h2 id="by-model">By model, {RANGES[range].label.toLowerCase()}</h2>
        <Async state={byModel} empty={(b) => b.data.length === 0}>
          {(b) => <SpendTable breakdown={b} heading="Model" />}
        </Async>
      </section>

      <SpendByAttribute route={route} range={range} refreshMs={refreshMs} />
    </>
  );
}

/** The finance CSV of the range, downloaded with the admin token (a plain link could not send it). */
function CsvDownload({ range }: { range: PageProps['range'] }) {
  const [state, setState] = useState<{ busy: boolean; error?: string }>({ busy: false });
  async function download() {
    setState({ busy: true });
    try {
      const blob = await api.spendCsv(windowOf(range));
      const link = document.createElement('a');
      link.href = URL.createObjectURL(blob);
      link.download = `ai-proxy-spend-${range}-${new Date().toISOString().slice(0, 10)}.csv`;
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
      setState({ busy: false });
    } catch (error) {
      setState({ busy: false, error: (error as Error).message });
    }
  }
  return (
    <div class="inline">
      <button type="button" onClick={download} disabled={state.busy}>
        {state.busy ? 'Preparing…' : 'Download CSV'}
      </button>
      {state.error && (
        <span class="form-error" role="alert">
          {state.error}
        </span>
      )}
    </div>
  );
}
