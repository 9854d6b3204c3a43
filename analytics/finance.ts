/**
 * What finance reads: spend per day, tenant, model and endpoint as CSV (or per day, tenant and a
 * group_by of the reports: user, key, tag...), and each tenant's month to date with a month-end
 * forecast from its recent run rate.
 */
import type { Scope } from './aggregate';
import { compareGroupKeys, dimensionOf, groupKeyOf, queryPoints, type Dimension, type PointRow } from './aggregate-query';
import { DAY_MS } from './segments';
import type { GroupBy, Spend } from './types';

const FIGURES = 'requests,prompt_tokens,completion_tokens,cached_tokens,cost_usd,saved_usd';

/** Nano-USD as a decimal USD string, exactly (no floating point on the way). */
export function usdString(nano: number): string {
  const sign = nano < 0 ? '-' : '';
  const abs = Math.abs(nano);
  return `${sign}${Math.floor(abs / 1e9)}.${String(abs % 1e9).padStart(9, '0')}`;
}

/**
 * A text cell. Text a spreadsheet would run as a formula (starting with = + - @, a tab or a CR:
 * a tenant named `=HYPERLINK(…)`) gets a leading quote, so it is shown as text; then a cell with
 * a comma, quote or line break is quoted.
 */
function csvField(value: string): string {
  const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The columns that say what a CSV row is about, beside its day and tenant, and each one's value of a point. */
function groupColumns(groupBy: GroupBy | undefined): Array<[string, (r: PointRow) => string | null]> {
  if (groupBy === undefined) {
    return [
      ['model', (r) => r.model],
      ['endpoint', (r) => r.endpoint],
    ];
  }
  return groupBy === 'tenant' ? [] : [[groupBy, (r) => groupKeyOf(r, groupBy)]];
}

/**
 * Spend per day, tenant, model and endpoint; with `groupBy`, per day, tenant and that instead
 * (one column named like it: `user`, `key`, `tag:team`; empty for calls with no user or no such tag).
 */
export async function spendCsv(db: D1Database, scope: Scope, groupBy?: GroupBy): Promise<string> {
  const dimensions: Dimension[] = groupBy === undefined ? ['tenant_id', 'model', 'endpoint'] : ['tenant_id', dimensionOf(groupBy)];
  const [rows, tenants] = await Promise.all([
    queryPoints(db, scope, 'day', dimensions, { percentiles: false }),
    db.prepare('SELECT id, name FROM tenants').all<{ id: string; name: string }>(),
  ]);
  const names = new Map(tenants.results.map((t) => [t.id, t.name]));
  const columns = groupColumns(groupBy);
  // One row per day, tenant and group already: summed inside D1. The endpoint is empty where it is
  // not known (days rolled up before migration 0012 whose raw rows were purged first).
  const body = rows
    .sort(
      (a, b) =>
        a.bucket_start - b.bucket_start ||
        a.tenant_id.localeCompare(b.tenant_id) ||
        columns.reduce((order, [, value]) => order || compareGroupKeys(value(a), value(b)), 0),
    )
    .map((r) =>
      [
        new Date(r.bucket_start).toISOString().slice(0, 10),
        csvField(r.tenant_id),
        csvField(names.get(r.tenant_id) ?? ''),
        ...columns.map(([, value]) => csvField(value(r) ?? '')),
        r.requests,
        r.prompt_tokens,
        r.completion_tokens,
        r.cached_tokens,
        usdString(r.cost_nano),
        usdString(r.saved_nano),
      ].join(','),
    );
  const header = ['day', 'tenant_id', 'tenant_name', ...columns.map(([name]) => name), FIGURES].join(',');
  return [header, ...body].join('\n') + '\n';
}

/** The run rate is the average daily spend of the last RUN_RATE_DAYS days, whichever months they are in. */
export const RUN_RATE_DAYS = 7;

/**
 * Month to date (exact, from tenant_spend: the current UTC month) and a month-end forecast per
 * tenant: month to date plus the run rate times the days left in the month.
 */
export async function tenantSpend(db: D1Database, now = Date.now()): Promise<Spend> {
  const today = new Date(now);
  const month = today.toISOString().slice(0, 7);
  const monthEnd = Date.UTC(today.getUTCFullYear(), today.getUTCMonth() + 1, 1);
  const [tenants, spend, recent] = await Promise.all([
    db.prepare('SELECT id, name, monthly_budget_nano FROM tenants ORDER BY name, id').all<{ id: string; name: string; monthly_budget_nano: number | null }>(),
    db.prepare('SELECT tenant_id, spent_nano FROM tenant_spend WHERE month = ?').bind(month).all<{ tenant_id: string; spent_nano: number }>(),
    queryPoints(db, { from: now - RUN_RATE_DAYS * DAY_MS, to: now }, 'window', ['tenant_id'], { percentiles: false }),
  ]);
  const mtd = new Map(spend.results.map((s) => [s.tenant_id, s.spent_nano]));
  const recentCost = new Map(recent.map((r) => [r.tenant_id, r.cost_nano]));
  const remainingDays = (monthEnd - now) / DAY_MS;
  return {
    month,
    data: tenants.results.map((t) => {
      const spent = (mtd.get(t.id) ?? 0) / 1e9;
      const rate = (recentCost.get(t.id) ?? 0) / 1e9 / RUN_RATE_DAYS;
      const budget = t.monthly_budget_nano === null ? null : t.monthly_budget_nano / 1e9;
      return {
        tenant_id: t.id,
        name: t.name,
        month,
        month_to_date_usd: spent,
        monthly_budget_usd: budget,
        budget_used: budget ? spent / budget : null,
        daily_run_rate_usd: rate,
        forecast_usd: spent + rate * remainingDays,
      };
    }),
  };
}
