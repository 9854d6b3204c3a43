/**
 * What an alert says. One JSON body for every receiver: Slack's incoming webhooks read `text`
 * (mrkdwn, with a link to the dashboard) and ignore the rest; anything else (PagerDuty through a
 * relay, a script) reads `alert`, the same facts as fields (schemas.ts documents them).
 */
import type { Env } from '../core/env';
import { dashboardLink } from './destinations';
import type { AlertPayload, BudgetAlert, UpstreamAlert } from './schemas';

/** Slack's three control characters in text a tenant chose (a name), so it cannot forge a link or mention. */
const escapeMrkdwn = (text: string) => text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

const usd = (value: number) => `$${value >= 1 ? value.toFixed(2) : Number(value.toPrecision(3))}`;
const percent = (fraction: number) => `${Number((fraction * 100).toFixed(1))}%`;

/** A Slack link where the URL is absolute; a relative one is left out of the text (it is in `alert.dashboard_url`). */
const link = (url: string) => (url.startsWith('/') ? '' : ` <${url}|Open the dashboard>`);

/** A budget alert's facts, as the evaluation found them. */
export type BudgetFacts = Omit<BudgetAlert, 'id' | 'state' | 'dashboard_url' | 'created_at'>;

export function budgetPayload(env: Env, id: string, facts: BudgetFacts, createdAt: number): AlertPayload {
  const alert: BudgetAlert = {
    id,
    state: 'firing',
    ...facts,
    dashboard_url: dashboardLink(env, `tenants/${encodeURIComponent(facts.tenant_id)}`),
    created_at: new Date(createdAt).toISOString(),
  };
  const tenant = `*${escapeMrkdwn(alert.tenant_name)}* (${alert.tenant_id})`;
  const who = alert.key_id ? `Key *${escapeMrkdwn(alert.key_name ?? alert.key_id)}* (${alert.key_id}) of tenant ${tenant}` : `Tenant ${tenant}`;
  const forecast = alert.forecast_usd === null ? '' : ` Month-end forecast: ${usd(alert.forecast_usd)}.`;
  const text =
    alert.kind === 'budget'
      ? `:warning: ${who} has spent ${usd(alert.spend_usd)} of its ${usd(alert.budget_usd)} monthly budget for ${alert.month}: ${percent(alert.threshold ?? 0)} reached.${forecast}`
      : `:chart_with_upwards_trend: ${who} is forecast to spend ${usd(alert.forecast_usd ?? 0)} in ${alert.month}, over its ${usd(alert.budget_usd)} monthly budget (${usd(alert.spend_usd)} spent so far).`;
  return { text: text + link(alert.dashboard_url), alert };
}

/** An upstream alert's facts, as the cron's check found them. */
export type UpstreamFacts = Omit<UpstreamAlert, 'id' | 'provider' | 'dashboard_url' | 'created_at'>;

const METRIC = {
  error_rate: { name: 'upstream error rate', value: percent },
  latency_p95: { name: 'p95 latency', value: (ms: number) => `${Math.round(ms)} ms` },
} as const;

export function upstreamPayload(env: Env, id: string, facts: UpstreamFacts, createdAt: number): AlertPayload {
  const alert: UpstreamAlert = {
    id,
    ...facts,
    provider: facts.model.split('/')[0],
    dashboard_url: dashboardLink(env, 'latency'),
    created_at: new Date(createdAt).toISOString(),
  };
  const { name, value } = METRIC[alert.kind];
  const minutes = Math.round((Date.parse(alert.window_end) - Date.parse(alert.window_start)) / 60_000);
  const text =
    alert.state === 'firing'
      ? `:rotating_light: ${alert.model}: ${name} ${value(alert.value)} over the last ${minutes} minutes, above ${value(alert.threshold)} (${alert.samples} samples).`
      : `:white_check_mark: Resolved: ${alert.model}: ${name} back to ${value(alert.value)} over the last ${minutes} minutes, under ${value(alert.threshold)}.`;
  return { text: text + link(alert.dashboard_url), alert };
}
