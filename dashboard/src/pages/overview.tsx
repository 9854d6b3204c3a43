/** Overview: today's and this month's spend, and the health of the chosen window at a glance. */
import type { Spend } from '../../../analytics/types';
import { api } from '../api';
import { ChartView } from '../components/chart';
import { Async } from '../components/states';
import { LoadedStat, Stat, TargetBar } from '../components/stat';
import { count, ms, percent, usd } from '../format';
import type { PageProps } from '../page-props';
import { hasCalls, lineDatasets, stackedDatasets, timeAxis } from '../series';
import { RANGES, todayWindow, windowOf } from '../time-range';
import { useApi } from '../use-api';

/** The share of upstream tokens the cheap tier should carry. */
export const CHEAP_SHARE_TARGET = 0.7;
/** All tenants' month to date, or their month-end forecasts. */
const total = (spend: Spend, field: 'month_to_date_usd' | 'forecast_usd') => spend.data.reduce((sum, t) => sum + t[field], 0);

export function OverviewPage({ range, refreshMs }: PageProps) {
  const { interval } = RANGES[range];
  // A fresh window on every load, so auto-refresh moves it forward.
  const summary = useApi(() => api.summary(windowOf(range)), [range], refreshMs);
  const today = useApi(() => api.summary(todayWindow()), [], refreshMs);
  const spend = useApi(() => api.spend(), [], refreshMs);
  const byModel = useApi(() => api.timeseries(windowOf(range), interval, 'model'), [range], refreshMs);
  const overall = useApi(() => api.timeseries(windowOf(range), interval), [range], refreshMs);
  const byTier = useApi(() => api.timeseries(windowOf(range), interval, 'tier'), [range], refreshMs);
  const unpriced = useApi(() => api.unpriced(windowOf(range)), [range], refreshMs);
  const storage = useApi(() => api.storage(), [], refreshMs);

  return (
    <>
      <div class="page-head">
        <h1>Overview</h1>
      </div>

      <section class="stats" aria-label="Spend">
        <LoadedStat label="Spend today (UTC)" state={today} value={(t) => usd(t.cost_usd)} note={(t) => `${count(t.requests)} calls`} />
        <LoadedStat
          label="Month to date"
          state={spend}
          value={(s) => usd(total(s, 'month_to_date_usd'))}
          note={(s) => `Forecast ${usd(total(s, 'forecast_usd'))} by month end`}
        />
        <LoadedStat
          label={`Cache savings, ${RANGES[range].label.toLowerCase()}`}
          state={summary}
          value={(s) => usd(s.saved_usd)}
          note={(s) => `Hit rate ${percent(s.cache_hit_rate)}`}
        />
      </section>

      {storage.data && storage.data.warnings.length > 0 && (
        <section class="card warning" role="status" aria-labelledby="storage-warning">
          <h2 id="storage-warning">Request-log storage needs attention</h2>
          <ul>
            {storage.data.warnings.map((w) => (
              <li key={w}>{w}</li>
            ))}
          </ul>
        </section>
      )}

      {unpriced.data && unpriced.data.requests > 0 && (
        <section class="card warning" role="status" aria-labelledby="unpriced-calls">
          <h2 id="unpriced-calls">{count(unpriced.data.requests)} calls served unpriced</h2>
          <p>
            Served with no price in force (ALLOW_UNPRICED_MODELS), so their cost is missing from every figure here. Price these models with PUT
            /admin/prices/&lt;model&gt;:{' '}
            {unpriced.data.models.map((m, i) => (
              <span key={m.model}>
                {i > 0 && ', '}
                <code>{m.model}</code> ({count(m.requests)})
              </span>
            ))}
          </p>
        </section>
      )}

      <Async state={summary}>
        {(s) => (
          <section class="stats" aria-label={`${RANGES[range].label}`}>
            <Stat label="Requests" value={count(s.requests)} note={`${count(s.errors)} errors`} />
            <Stat label="Tokens" value={count(s.prompt_tokens + s.completion_tokens)} note={`${count(s.cached_tokens)} cached input`} />
            <Stat
              label="Cheap-tier share"
              value={percent(s.cheap_token_share)}
              tone={s.cheap_token_share === null ? undefined : s.cheap_token_share >= CHEAP_SHARE_TARGET ? 'good' : 'bad'}
              note={
                <TargetBar value={s.cheap_token_share} target={CHEAP_SHARE_TARGET} label={`Cheap-tier share against the ${CHEAP_SHARE_TARGET * 100}% target`} />
              }
            />
            <Stat
              label="Error rate"
              value={percent(s.error_rate, 2)}
              tone={s.error_rate > 0.05 ? 'bad' : undefined}
              note={`of ${count(s.requests)} calls; upstream ${percent(s.upstream_error_rate, 2)}`}
            />
            <Stat label="Latency p95" value={ms(s.latency_ms.p95)} note={`p50 ${ms(s.latency_ms.p50)} · p99 ${ms(s.latency_ms.p99)}`} />
            <Stat label="Time to first token p95" value={ms(s.ttft_ms.p95)} note={`p50 ${ms(s.ttft_ms.p50)}`} />
          </section>
        )}
      </Async>

      <div class="grid-2">
        <section class="card" aria-labelledby="spend-by-model">
          <h2 id="spend-by-model">Spend by model</h2>
          <Async state={byModel} empty={(t) => !hasCalls(t)}>
            {(t) => (
              <ChartView
                type="bar"
                stacked
                {...timeAxis(t, range)}
                datasets={stackedDatasets(t, (p) => p.cost_usd)}
                yTitle="USD"
                format={usd}
                label={`Spend in USD per ${interval}, stacked by model`}
              />
            )}
          </Async>
        </section>
        <section class="card" aria-labelledby="requests-errors">
          <h2 id="requests-errors">Requests and errors</h2>
          <Async state={overall} empty={(t) => !hasCalls(t)}>
            {(t) => (
              <ChartView
                type="line"
                {...timeAxis(t, range)}
                datasets={lineDatasets(t, [
                  { label: 'Requests', value: (p) => p.requests },
                  { label: 'Errors', value: (p) => p.errors },
                ])}
                yTitle={`Calls per ${interval}`}
                format={count}
                label={`Requests and errors per ${interval}`}
              />
            )}
          </Async>
        </section>
        <section class="card" aria-labelledby="latency-overview">
          <h2 id="latency-overview">Latency p95</h2>
          <Async state={overall} empty={(t) => !hasCalls(t)}>
            {(t) => (
              <ChartView
                type="line"
                {...timeAxis(t, range)}
                datasets={lineDatasets(t, [
                  { label: 'Latency p95', value: (p) => p.latency_p95 },
                  { label: 'TTFT p95', value: (p) => p.ttft_p95 },
                ])}
                yTitle="Milliseconds"
                format={(v) => ms(Math.round(v))}
                label={`Latency and time to first token, 95th percentile, per ${interval}`}
              />
            )}
          </Async>
        </section>
        <section class="card" aria-labelledby="cheap-share">
          <h2 id="cheap-share">Tokens by tier</h2>
          <Async state={byTier} empty={(t) => !hasCalls(t)}>
            {(t) => (
              <ChartView
                type="bar"
                stacked
                {...timeAxis(t, range)}
                datasets={stackedDatasets(t, (p) => p.prompt_tokens + p.completion_tokens)}
                yTitle="Tokens"
                format={count}
                label={`Tokens per ${interval}, stacked by tier`}
              />
            )}
          </Async>
        </section>
      </div>
    </>
  );
}
