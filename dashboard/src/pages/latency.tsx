/** Latency and errors, for on-call: percentiles over time, error rates by provider, model or endpoint, the latest failures. */
import { api } from '../api';
import { keyColour } from '../colours';
import { ChartView } from '../components/chart';
import { Async, Empty } from '../components/states';
import { count, dateTime, groupName, ms, percent } from '../format';
import type { PageProps } from '../page-props';
import { choiceOf, href, navigateWith } from '../router';
import { hasCalls, lineDatasets, timeAxis } from '../series';
import { useTenantNames } from '../tenant-names';
import { RANGES, windowOf } from '../time-range';
import { useApi } from '../use-api';

const pct = (v: number) => `${v.toFixed(1)}%`;

/** What upstream errors may be grouped by (`errors_by` in the URL; the first is the default), and the heading of its column. */
const ERRORS_BY = ['provider', 'model', 'endpoint'] as const;
const COLUMN_OF: Record<(typeof ERRORS_BY)[number], string> = { provider: 'Provider', model: 'Model', endpoint: 'Endpoint' };

export function LatencyPage({ route, range, refreshMs }: PageProps) {
  const { interval } = RANGES[range];
  const errorsBy = choiceOf(route, 'errors_by', ERRORS_BY, ERRORS_BY[0]);
  const name = useTenantNames();
  const series = useApi(() => api.timeseries(windowOf(range), interval), [range], refreshMs);
  const groups = useApi(() => api.breakdown(windowOf(range), errorsBy), [range, errorsBy], refreshMs);
  const failures = useApi(() => api.requests(windowOf(range), { status: 'error' }, undefined, 15), [range], refreshMs);
  const ms0 = (v: number) => ms(Math.round(v));

  return (
    <>
      <div class="page-head">
        <h1>Latency &amp; errors</h1>
      </div>
      <div class="grid-2">
        <section class="card" aria-labelledby="latency-percentiles">
          <h2 id="latency-percentiles">Latency of successful calls</h2>
          <Async state={series} empty={(s) => !hasCalls(s)}>
            {(s) => (
              <ChartView
                type="line"
                {...timeAxis(s, range)}
                datasets={lineDatasets(s, [
                  { label: 'p50', value: (p) => p.latency_p50 },
                  { label: 'p95', value: (p) => p.latency_p95 },
                  { label: 'p99', value: (p) => p.latency_p99 },
                ])}
                yTitle="Milliseconds"
                format={ms0}
                label={`Latency p50, p95 and p99 per ${interval}`}
              />
            )}
          </Async>
        </section>
        <section class="card" aria-labelledby="ttft">
          <h2 id="ttft">Time to first token (streams)</h2>
          <Async state={series} empty={(s) => !hasCalls(s)}>
            {(s) => (
              <ChartView
                type="line"
                {...timeAxis(s, range)}
                datasets={lineDatasets(s, [
                  { label: 'p50', value: (p) => p.ttft_p50 },
                  { label: 'p95', value: (p) => p.ttft_p95 },
                ])}
                yTitle="Milliseconds"
                format={ms0}
                label={`Time to first token p50 and p95 per ${interval}`}
              />
            )}
          </Async>
        </section>
        <section class="card" aria-labelledby="error-rate">
          <h2 id="error-rate">Error rate</h2>
          <Async state={series} empty={(s) => !hasCalls(s)}>
            {(s) => (
              <ChartView
                type="line"
                {...timeAxis(s, range)}
                datasets={lineDatasets(s, [
                  // Every failure, the proxy's own refusals (limits, budgets, bad requests) included…
                  { label: 'All calls', value: (p) => (p.requests ? p.error_rate * 100 : null) },
                  // …and only what the upstreams failed, of the calls that reached one.
                  { label: 'Upstream calls', value: (p) => (p.upstream_error_rate === null ? null : p.upstream_error_rate * 100) },
                ])}
                yTitle="% failed"
                format={pct}
                label={`Share of all calls and of upstream calls that failed, per ${interval}`}
              />
            )}
          </Async>
        </section>
        <section class="card" aria-labelledby="errors-by">
          <div class="card-head">
            <h2 id="errors-by">Upstream errors by {errorsBy}</h2>
            <fieldset class="segmented">
              <legend class="visually-hidden">Group errors by</legend>
              {ERRORS_BY.map((g) => (
                <label>
                  <input
                    type="radio"
                    name="errors-by"
                    value={g}
                    checked={errorsBy === g}
                    onChange={() => navigateWith({ errors_by: g === ERRORS_BY[0] ? undefined : g })}
                  />{' '}
                  By {g}
                </label>
              ))}
            </fieldset>
          </div>
          <p class="muted small">
            Upstream errors: calls that reached a provider and failed there. Failed: every failed call, the proxy's own refusals (rate limits, budgets, bad
            requests) included.
          </p>
          <Async state={groups} empty={(b) => b.data.length === 0}>
            {(b) => (
              <>
                <ChartView
                  type="bar"
                  labels={b.data.map((g) => groupName(g.key))}
                  datasets={[
                    {
                      label: 'Upstream error rate',
                      data: b.data.map((g) => (g.upstream_error_rate === null ? null : g.upstream_error_rate * 100)),
                      colour: b.data.map((g) => keyColour(b.group_by, g.key)),
                    },
                  ]}
                  yTitle="% of upstream calls failed"
                  format={pct}
                  label={`Upstream error rate by ${errorsBy}`}
                />
                <div class="table-wrap">
                  <table>
                    <thead>
                      <tr>
                        <th scope="col">{COLUMN_OF[errorsBy]}</th>
                        <th scope="col" class="num">
                          Calls
                        </th>
                        <th scope="col" class="num">
                          Failed
                        </th>
                        <th scope="col" class="num">
                          Upstream errors
                        </th>
                        <th scope="col" class="num">
                          Upstream error rate
                        </th>
                        <th scope="col" class="num">
                          p95
                        </th>
                      </tr>
                    </thead>
                    <tbody>
                      {b.data.map((g) => (
                        <tr>
                          <th scope="row">{groupName(g.key)}</th>
                          <td class="num">{count(g.requests)}</td>
                          <td class="num">{count(g.errors)}</td>
                          <td class="num">
                            {count(g.upstream_errors)} of {count(g.upstream_calls)}
                          </td>
                          <td class="num">{percent(g.upstream_error_rate, 2)}</td>
                          <td class="num">{ms(g.latency_ms.p95)}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              </>
            )}
          </Async>
        </section>
      </div>

      <section class="card" aria-labelledby="failures">
        <div class="card-head">
          <h2 id="failures">Most recent failures</h2>
          <a href={href('requests', { range, status: 'error' })}>All failures in the request log →</a>
        </div>
        <Async state={failures}>
          {(page) =>
            page.data.length === 0 ? (
              <Empty>No failures in this window.</Empty>
            ) : (
              <div class="table-wrap">
                <table>
                  <thead>
                    <tr>
                      <th scope="col">Time</th>
                      <th scope="col">Tenant</th>
                      <th scope="col">Model</th>
                      <th scope="col" class="num">
                        Status
                      </th>
                      <th scope="col">Error</th>
                    </tr>
                  </thead>
                  <tbody>
                    {page.data.map((r) => (
                      <tr>
                        <td>{dateTime(r.ts)}</td>
                        <td>{name(r.tenant_id)}</td>
                        <td>{r.model ?? r.model_requested ?? '–'}</td>
                        <td class="num">
                          <span class="status bad">{r.status}</span>
                        </td>
                        <td class="error-text">
                          {r.error_type && <span class="mono">{r.error_type}</span>} {r.error_message}
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
    </>
  );
}
