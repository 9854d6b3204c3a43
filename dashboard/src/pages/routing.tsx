/**
 * Routing quality, from shadow evaluation (docs/ROUTING.md#shadow-evaluation): per task and tier,
 * how often the cheap tier's answer was as good, with its 95% interval, what moving the task would
 * save or cost, and the recommendation; agreement over time; evaluation spend, apart from the
 * tenants'. For one tenant, a recommendation can be applied as its per-task tier override.
 */
import { useState } from 'preact/hooks';
import { AGREEMENT_TARGET, MIN_SAMPLES } from '../../../analytics/routing-targets';
import type { RoutingQuality, RoutingQualityRow } from '../../../analytics/types';
import { TASK_NAMES } from '../../../proxy/routing/tasks';
import { api, ApiError } from '../api';
import { keyColour } from '../colours';
import { ChartView } from '../components/chart';
import { Stat } from '../components/stat';
import { Async } from '../components/states';
import { count, dateTime, percent, usd } from '../format';
import type { PageProps } from '../page-props';
import { navigateWith } from '../router';
import { windowOf } from '../time-range';
import { useApi } from '../use-api';

const RECOMMENDATION_TEXT: Record<NonNullable<RoutingQualityRow['recommendation']>, string> = {
  keep: 'Keep on this tier',
  move_to_cheap: 'Move to cheap',
  move_to_expensive: 'Move to expensive',
  undecided: 'Undecided: keep sampling',
};

/** The tier a recommendation moves its task to, when it moves it. */
const targetOf = (row: RoutingQualityRow) =>
  row.recommendation === 'move_to_cheap' ? 'cheap' : row.recommendation === 'move_to_expensive' ? 'expensive' : null;

const seriesName = (s: { task: string; tier: string }) => `${s.task} (${s.tier})`;

function AgreementChart({ report }: { report: RoutingQuality }) {
  const starts = report.series[0]?.points.map((p) => p.ts) ?? [];
  const labels = starts.map((ts) => (report.interval === 'day' ? new Date(ts).toISOString().slice(0, 10) : dateTime(ts)));
  return (
    <ChartView
      type="line"
      labels={labels}
      xTitle={report.interval === 'day' ? 'Day (UTC)' : 'Hour'}
      datasets={report.series.map((s) => ({
        label: seriesName(s),
        data: s.points.map((p) => (p.agreement_rate === null ? null : p.agreement_rate * 100)),
        colour: keyColour('routing', seriesName(s)),
      }))}
      yTitle="% same or better on cheap"
      format={(v) => `${v.toFixed(0)}%`}
      label={`Agreement of the cheap tier per ${report.interval}, per task and tier`}
    />
  );
}

export function RoutingPage({ route, range, refreshMs }: PageProps) {
  const tenantId = route.params.get('tenant') ?? undefined;
  const tenants = useApi(() => api.tenants(), []);
  const report = useApi(() => api.routingQuality({ ...windowOf(range), tenant: tenantId }), [range, tenantId], refreshMs);
  const tenant = useApi(() => (tenantId ? api.tenant(tenantId) : Promise.resolve(null)), [tenantId]);
  const [applied, setApplied] = useState<{ ok: boolean; text: string } | null>(null);

  /** Sets (or, with null, removes) the chosen tenant's override of a task's tier, saying how it went. */
  const setOverride = async (task: string, tier: 'cheap' | 'expensive' | null) => {
    if (!tenantId || !tenant.data) return;
    const { [task]: _previous, ...others } = tenant.data.task_tiers;
    try {
      await api.updateTenant(tenantId, { task_tiers: tier ? { ...others, [task]: tier } : others });
      setApplied({
        ok: true,
        text: tier ? `Applied: ${task} now goes to the ${tier} tier for ${tenant.data.name}.` : `Removed the override of ${task}.`,
      });
      tenant.reload();
    } catch (error) {
      setApplied({ ok: false, text: error instanceof ApiError ? error.message : String(error) });
    }
  };

  return (
    <>
      <div class="page-head">
        <h1>Routing quality</h1>
        <div class="field">
          <label for="routing-tenant">Tenant</label>
          <select id="routing-tenant" value={tenantId ?? ''} onChange={(e) => navigateWith({ tenant: (e.target as HTMLSelectElement).value || undefined })}>
            <option value="">All tenants</option>
            {(tenants.data?.data ?? []).map((t) => (
              <option value={t.id}>{t.name}</option>
            ))}
          </select>
        </div>
      </div>
      <p class="muted small">
        A sample of each tenant's calls (its <code>shadow_eval_rate</code>) is answered again on the other tier, after the client has its answer, and a judge
        model compares the two for the task. Agreement: the share where the cheap tier's answer was the same or better. A judge is a model, not ground truth;
        recommendations need {MIN_SAMPLES} judged samples and a 95% interval clear of the {percent(AGREEMENT_TARGET, 0)} target.
      </p>

      <Async state={report}>
        {(r) => (
          <section class="stats" aria-label="Evaluation spend">
            <Stat label="Evaluation spend (range)" value={usd(r.eval_spend.window_usd)} note="the operator's: not in any tenant's spend" />
            <Stat
              label="Evaluation spend this month"
              value={usd(r.eval_spend.month_to_date_usd)}
              note={r.eval_spend.monthly_cap_usd === null ? 'no cap (EVAL_BUDGET_USD)' : `of ${usd(r.eval_spend.monthly_cap_usd)} cap`}
              tone={r.eval_spend.monthly_cap_usd !== null && r.eval_spend.month_to_date_usd >= r.eval_spend.monthly_cap_usd ? 'bad' : undefined}
            />
            <Stat label="Judged samples" value={count(r.data.reduce((sum, row) => sum + row.samples, 0))} />
          </section>
        )}
      </Async>

      <section class="card" aria-labelledby="routing-tasks">
        <h2 id="routing-tasks">By task and tier</h2>
        {applied && (
          <p class={applied.ok ? 'notice' : 'state error'} role="status">
            {applied.text}
          </p>
        )}
        <Async state={report} empty={(r) => r.data.length === 0}>
          {(r) => (
            <div class="table-wrap">
              <table>
                <caption class="visually-hidden">Shadow evaluation per task and served tier</caption>
                <thead>
                  <tr>
                    <th scope="col">Task</th>
                    <th scope="col">Tier</th>
                    <th scope="col" class="num">
                      Samples
                    </th>
                    <th scope="col" class="num">
                      Agreement (95% interval)
                    </th>
                    <th scope="col" class="num">
                      Cheap worse
                    </th>
                    <th scope="col" class="num">
                      Cost of the calls
                    </th>
                    <th scope="col" class="num">
                      If moved
                    </th>
                    <th scope="col" class="num">
                      Evaluation spend
                    </th>
                    <th scope="col">Recommendation</th>
                  </tr>
                </thead>
                <tbody>
                  {r.data.map((row) => {
                    const target = targetOf(row);
                    const appliable = target && tenantId && TASK_NAMES.includes(row.task) && tenant.data?.task_tiers[row.task] !== target;
                    return (
                      <tr>
                        <th scope="row">{row.task}</th>
                        <td>{row.tier}</td>
                        <td class="num">
                          {count(row.samples)}
                          {row.invalid + row.failed > 0 && <span class="muted small"> (+{row.invalid + row.failed} not judged)</span>}
                        </td>
                        <td class="num">
                          {percent(row.agreement_rate)}
                          {row.agreement_low !== null && row.agreement_high !== null && (
                            <span class="muted small">
                              {' '}
                              ({percent(row.agreement_low, 0)}–{percent(row.agreement_high, 0)})
                            </span>
                          )}
                        </td>
                        <td class="num">{count(row.cheap_worse)}</td>
                        <td class="num">{usd(row.cost_usd)}</td>
                        <td class={`num${row.move_cost_delta_usd < 0 ? ' good' : ''}`}>
                          {row.move_cost_delta_usd < 0 ? `saves ${usd(-row.move_cost_delta_usd)}` : `costs ${usd(row.move_cost_delta_usd)} more`}
                        </td>
                        <td class="num">{usd(row.eval_cost_usd)}</td>
                        <td>
                          {row.recommendation === null ? (
                            <span class="muted">{`${count(MIN_SAMPLES - row.samples)} more samples needed`}</span>
                          ) : (
                            RECOMMENDATION_TEXT[row.recommendation]
                          )}
                          {appliable && (
                            <>
                              {' '}
                              <button type="button" class="secondary" onClick={() => setOverride(row.task, target)}>
                                Apply to {tenant.data?.name}
                              </button>
                            </>
                          )}
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          )}
        </Async>
        {!tenantId && <p class="muted small">Choose a tenant to apply a recommendation as its per-task tier override.</p>}
        {tenant.data && (
          <p class="small" aria-label="Per-task overrides">
            {tenant.data.name}'s per-task overrides:{' '}
            {Object.entries(tenant.data.task_tiers).length === 0
              ? 'none'
              : Object.entries(tenant.data.task_tiers).map(([task, tier]) => (
                  <span class="badge">
                    {task} → {tier}{' '}
                    <button type="button" class="link" onClick={() => setOverride(task, null)} aria-label={`Remove the override of ${task}`}>
                      ×
                    </button>
                  </span>
                ))}
          </p>
        )}
      </section>

      <section class="card" aria-labelledby="routing-over-time">
        <h2 id="routing-over-time">Agreement over time</h2>
        <Async state={report} empty={(r) => r.series.length === 0}>
          {(r) => <AgreementChart report={r} />}
        </Async>
      </section>
    </>
  );
}
