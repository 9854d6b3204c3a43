/**
 * What finance reads: spend per day, tenant and model as CSV, and each tenant's month to date
 * with a month-end forecast from its recent run rate.
 */
import { collectAggregates, type Scope } from './aggregate';
import { DAY_MS } from './segments';

const CSV_HEADER = 'day,tenant_id,tenant_name,model,requests,prompt_tokens,completion_tokens,cached_tokens,cost_usd,saved_usd';

/** Nano-USD as a decimal USD string, exactly (no floating point on the way). */
export function usdString(nano: number): string {
  const sign = nano < 0 ? '-' : '';
  const abs = Math.abs(nano);
  return `${sign}${Math.floor(abs / 1e9)}.${String(abs % 1e9).padStart(9, '0')}`;
}

const csvField = (value: string) => (/[",\n\r]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value);

export async function spendCsv(db: D1Database, scope: Scope): Promise<string> {
  const [rows, tenants] = await Promise.all([
    collectAggregates(db, scope, 'day'),
    db.prepare('SELECT id, name FROM tenants').all<{ id: string; name: string }>(),
  ]);
  const names = new Map(tenants.results.map((t) => [t.id, t.name]));
  const lines = new Map<string, { day: number; tenant: string; model: string; requests: number; prompt: number; completion: number; cached: number; cost: number; saved: number }>();
  for (const r of rows) {
    const day = Math.floor(r.bucket_start / DAY_MS) * DAY_MS;
    const key = `${day}\u0000${r.tenant_id}\u0000${r.model}`;
    const line = lines.get(key) ?? { day, tenant: r.tenant_id, model: r.model, requests: 0, prompt: 0, completion: 0, cached: 0, cost: 0, saved: 0 };
    line.requests += r.requests;
    line.prompt += r.prompt_tokens;
    line.completion += r.completion_tokens;
    line.cached += r.cached_tokens;
    line.cost += r.cost_nano;
    line.saved += r.saved_nano;
    lines.set(key, line);
  }
  const body = [...lines.values()]
    .sort((a, b) => a.day - b.day || a.tenant.localeCompare(b.tenant) || a.model.localeCompare(b.model))
    .map((l) =>
      [new Date(l.day).toISOString().slice(0, 10), l.tenant, csvField(names.get(l.tenant) ?? ''), csvField(l.model), l.requests, l.prompt, l.completion, l.cached, usdString(l.cost), usdString(l.saved)].join(','),
    );
  return [CSV_HEADER, ...body].join('\n') + '\n';
}

export interface TenantSpend {
  tenant_id: string;
  name: string;
  month: string;
  month_to_date_usd: number;
  monthly_budget_usd: number | null;
  /** Month to date over budget; null without a budget. */
  budget_used: number | null;
  /** Average spend per day over the last RUN_RATE_DAYS (or the month so far, if shorter). */
  daily_run_rate_usd: number;
  forecast_usd: number;
}

export const RUN_RATE_DAYS = 7;

/** Month to date (exact, from tenant_spend) and a month-end forecast per tenant. */
export async function tenantSpend(db: D1Database, now = Date.now()): Promise<{ month: string; data: TenantSpend[] }> {
  const month = new Date(now).toISOString().slice(0, 7);
  const monthStart = Date.UTC(new Date(now).getUTCFullYear(), new Date(now).getUTCMonth(), 1);
  const monthEnd = Date.UTC(new Date(now).getUTCFullYear(), new Date(now).getUTCMonth() + 1, 1);
  const windowStart = Math.max(monthStart, now - RUN_RATE_DAYS * DAY_MS);
  const [tenants, spend, recent] = await Promise.all([
    db.prepare('SELECT id, name, monthly_budget_nano FROM tenants ORDER BY name, id').all<{ id: string; name: string; monthly_budget_nano: number | null }>(),
    db.prepare('SELECT tenant_id, spent_nano FROM tenant_spend WHERE month = ?').bind(month).all<{ tenant_id: string; spent_nano: number }>(),
    collectAggregates(db, { from: windowStart, to: now }, 'day'),
  ]);
  const mtd = new Map(spend.results.map((s) => [s.tenant_id, s.spent_nano]));
  const recentCost = new Map<string, number>();
  for (const r of recent) recentCost.set(r.tenant_id, (recentCost.get(r.tenant_id) ?? 0) + r.cost_nano);
  const windowDays = Math.max((now - windowStart) / DAY_MS, 1 / 24);
  const remainingDays = (monthEnd - now) / DAY_MS;
  return {
    month,
    data: tenants.results.map((t) => {
      const spent = (mtd.get(t.id) ?? 0) / 1e9;
      const rate = (recentCost.get(t.id) ?? 0) / 1e9 / windowDays;
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
