/**
 * Budget alerts: month-to-date spend crossing each of a tenant's `alert_thresholds` (fractions of
 * its monthly budget), and the month-end forecast first exceeding the budget, each sent once per
 * month (deliveries.ts holds the once).
 *
 * Evaluated where spend becomes known: after the request-log write that inserted a call's row
 * (request-log/writer.ts, and the queue's consumer), so an alert leaves within seconds of the
 * spend that crossed, not at the next cron run. That must not cost every call a D1 read, so each
 * isolate keeps a watch per tenant: the spend it last read from D1 plus the costs it has logged
 * since, and the spend at which the next alert not yet raised would fire. A call's cost is added
 * there, and D1 is read again only when the estimate reaches that point, or when the watch is
 * older than WATCH_MAX_AGE_MS, so that spending done by other isolates is seen within that time
 * on this isolate's next call. The cron (checkAllBudgets) evaluates every tenant with a budget
 * too, which catches forecasts that cross with no traffic and anything an isolate missed.
 *
 * A budget is a scope: the tenant's own, or a key's own (a key's watch takes only that key's
 * calls). Everything below works per scope; the scopes come from SCOPES_SQL.
 *
 * Forecast: month-to-date spend / the elapsed fraction of the UTC month (a straight line from the
 * 1st), from FORECAST_MIN_ELAPSED_MS into the month on (earlier, one morning's spend would be
 * projected over the month). It alerts only while spend is still under the budget: past it, the
 * 100% threshold has said more.
 */
import type { Env } from '../core/env';
import type { RequestRecord } from '../core/request-record';
import { monthOf } from '../limits/budget';
import { DEFAULT_ALERT_THRESHOLDS } from './thresholds';
import { raiseAlert, type AlertToRaise } from './deliveries';
import { budgetDestinations } from './destinations';
import { budgetPayload } from './payloads';

const DAY_MS = 86_400_000;
/** No forecast (nor forecast alert) before this much of the month has passed. */
export const FORECAST_MIN_ELAPSED_MS = 3 * DAY_MS;
/** How old a watch may be before the next logged call of its tenant reads D1 again. */
export const WATCH_MAX_AGE_MS = 30_000;
/** An evaluation still under way after this was cut off with its call's waitUntil: the next call starts another. */
const EVALUATION_MAX_MS = 60_000;

type ScopeKind = 'tenant' | 'key';

/** A budget an alert can be about, with the tenant's alert settings and the month's spend. */
interface ScopeRow {
  kind: ScopeKind;
  scope_id: string;
  /** The key's name; NULL for a tenant's own budget. */
  scope_name: string | null;
  tenant_id: string;
  tenant_name: string;
  alert_webhook_url: string | null;
  alert_thresholds: string | null;
  budget_nano: number;
  spent_nano: number;
}

/**
 * Every budget with its month-to-date spend (?1 the month, ?2 one tenant or NULL for all): each
 * tenant's own, and each live key's own (migration 0018: key_spend moves with the request log as
 * tenant_spend does). A key's alerts go where its tenant's go, at its tenant's thresholds.
 */
const SCOPES_SQL = `SELECT 'tenant' AS kind, t.id AS scope_id, NULL AS scope_name, t.id AS tenant_id, t.name AS tenant_name, t.alert_webhook_url,
    t.alert_thresholds, t.monthly_budget_nano AS budget_nano, COALESCE(s.spent_nano, 0) AS spent_nano
  FROM tenants t LEFT JOIN tenant_spend s ON s.tenant_id = t.id AND s.month = ?1
  WHERE t.monthly_budget_nano > 0 AND (?2 IS NULL OR t.id = ?2)
  UNION ALL
  SELECT 'key', k.id, k.name, t.id, t.name, t.alert_webhook_url, t.alert_thresholds, k.monthly_budget_nano, COALESCE(ks.spent_nano, 0)
  FROM api_keys k JOIN tenants t ON t.id = k.tenant_id LEFT JOIN key_spend ks ON ks.key_id = k.id AND ks.month = ?1
  WHERE k.monthly_budget_nano > 0 AND k.revoked_at IS NULL AND (?2 IS NULL OR t.id = ?2)`;

/** The budget and forecast alerts raised in a month (?1, ?2 its bounds), for one tenant (?3) or all. */
const RAISED_SQL = `SELECT dedupe_key FROM alerts
  WHERE tenant_id IS NOT NULL AND created_at >= ?1 AND created_at < ?2 AND (?3 IS NULL OR tenant_id = ?3) AND kind IN ('budget', 'forecast')`;

/** What a watch knows of one scope. */
interface Watched {
  kind: ScopeKind;
  id: string;
  budgetNano: number;
  /** As read from D1, plus the costs this isolate has logged since. */
  spentNano: number;
  /** The spend at which the lowest threshold not yet alerted fires; Infinity when none is left this month. */
  nextNano: number;
  /** The forecast alert may still come this month. */
  forecastOpen: boolean;
}

/** An isolate's watch over one tenant's budgets. */
interface Watch {
  month: string;
  readAt: number;
  scopes: Watched[];
  /** When the D1 evaluation under way started (null: none); `dirty`: a call logged meanwhile, so it runs again. */
  evaluatingSince: number | null;
  dirty: boolean;
}

const watches = new Map<string, Watch>();

function monthBounds(now: number): { start: number; end: number } {
  const d = new Date(now);
  return { start: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1), end: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) };
}

/** The month-end forecast (nano-USD), or null this early in the month. */
function forecastNano(spentNano: number, now: number): number | null {
  const { start, end } = monthBounds(now);
  if (now - start < FORECAST_MIN_ELAPSED_MS) return null;
  return Math.round((spentNano * (end - start)) / (now - start));
}

const forecastOver = (s: Pick<Watched, 'spentNano' | 'budgetNano'>, now: number) =>
  s.spentNano < s.budgetNano && (forecastNano(s.spentNano, now) ?? 0) > s.budgetNano;

/** Whether a scope's estimate has reached an alert not raised yet. */
const alertDue = (s: Watched, now: number) => s.spentNano >= s.nextNano || (s.forecastOpen && forecastOver(s, now));

/**
 * Reads the scopes (of one tenant, or all) and their alerts of the month from D1, raises the
 * alerts due, and says what is left to watch per tenant. Scopes with nowhere to send are not
 * watched: with neither the tenant's webhook nor ALERT_WEBHOOK_URL, nothing is raised for them.
 */
async function evaluate(env: Env, now: number, tenantId: string | null): Promise<{ watched: Map<string, Watched[]>; raised: number }> {
  const month = monthOf(now);
  const { start, end } = monthBounds(now);
  const [scopes, raisedRows] = await env.DB.batch([env.DB.prepare(SCOPES_SQL).bind(month, tenantId), env.DB.prepare(RAISED_SQL).bind(start, end, tenantId)]);
  const raised = new Set((raisedRows.results as Array<{ dedupe_key: string }>).map((r) => r.dedupe_key));
  const watched = new Map<string, Watched[]>();
  const due: AlertToRaise[] = [];
  for (const row of scopes.results as ScopeRow[]) {
    const destinations = budgetDestinations(env, row.alert_webhook_url);
    if (destinations.length === 0) continue;
    const subject = `${row.kind}:${row.scope_id}`;
    const spent = row.spent_nano;
    const budget = row.budget_nano;
    const forecast = forecastNano(spent, now);
    const alert = (kind: 'budget' | 'forecast', dedupeKey: string, threshold: number | null): AlertToRaise => ({
      dedupeKey,
      kind,
      state: 'firing',
      tenantId: row.tenant_id,
      keyId: row.kind === 'key' ? row.scope_id : null,
      subject,
      destinations,
      payload: (id, at) =>
        budgetPayload(
          env,
          id,
          {
            kind,
            tenant_id: row.tenant_id,
            tenant_name: row.tenant_name,
            key_id: row.kind === 'key' ? row.scope_id : null,
            key_name: row.scope_name,
            month,
            threshold,
            spend_usd: spent / 1e9,
            budget_usd: budget / 1e9,
            forecast_usd: forecast === null ? null : forecast / 1e9,
          },
          at,
        ),
    });
    const scope: Watched = { kind: row.kind, id: row.scope_id, budgetNano: budget, spentNano: spent, nextNano: Infinity, forecastOpen: false };
    const thresholds = row.alert_thresholds === null ? DEFAULT_ALERT_THRESHOLDS : (JSON.parse(row.alert_thresholds) as number[]);
    for (const threshold of thresholds) {
      const dedupeKey = `budget:${subject}:${month}:${threshold}`;
      if (raised.has(dedupeKey)) continue;
      if (spent >= threshold * budget) due.push(alert('budget', dedupeKey, threshold));
      else scope.nextNano = Math.min(scope.nextNano, threshold * budget);
    }
    const forecastKey = `forecast:${subject}:${month}`;
    scope.forecastOpen = !raised.has(forecastKey) && spent < budget;
    if (scope.forecastOpen && forecastOver(scope, now)) {
      due.push(alert('forecast', forecastKey, null));
      scope.forecastOpen = false;
    }
    watched.set(row.tenant_id, [...(watched.get(row.tenant_id) ?? []), scope]);
  }
  const outcomes = await Promise.allSettled(due.map((a) => raiseAlert(env, a, now)));
  outcomes.forEach((outcome, i) => {
    if (outcome.status === 'rejected')
      console.error('alerts: could not raise', due[i].dedupeKey, outcome.reason instanceof Error ? outcome.reason.message : outcome.reason);
  });
  return { watched, raised: due.length };
}

/** Evaluates one tenant from D1 for this isolate's watch, again while calls logged meanwhile ask for it. */
async function reevaluate(env: Env, tenantId: string): Promise<void> {
  let watch = watches.get(tenantId);
  if (!watch) watches.set(tenantId, (watch = { month: '', readAt: 0, scopes: [], evaluatingSince: null, dirty: false }));
  const since = Date.now();
  watch.evaluatingSince = since;
  try {
    do {
      watch.dirty = false;
      const now = Date.now();
      watch.readAt = now;
      try {
        const { watched } = await evaluate(env, now, tenantId);
        watch.month = monthOf(now);
        watch.scopes = watched.get(tenantId) ?? [];
      } catch (error) {
        // D1 is down: the watch keeps its estimate, and is asked again on a crossing or once stale.
        console.error('alerts: budget evaluation failed', tenantId, error instanceof Error ? error.message : error);
        return;
      }
    } while (watch.dirty);
  } finally {
    if (watch.evaluatingSince === since) watch.evaluatingSince = null;
  }
}

/**
 * Budget alerts for calls whose rows were just inserted (each counted once: only rows really new
 * to the log). Costs a D1 read only when an estimate reaches an alert or a watch is stale; the
 * caller runs it in waitUntil, after the write.
 */
export async function alertOnSpend(env: Env, records: RequestRecord[]): Promise<void> {
  const now = Date.now();
  const month = monthOf(now);
  const stale = new Set<string>();
  for (const r of records) {
    if (r.costNano <= 0) continue;
    const watch = watches.get(r.tenantId);
    if (watch && watch.evaluatingSince !== null && now - watch.evaluatingSince < EVALUATION_MAX_MS) {
      watch.dirty = true;
      continue;
    }
    if (watch && watch.month === month && monthOf(r.ts) === month && now - watch.readAt < WATCH_MAX_AGE_MS) {
      let due = false;
      for (const scope of watch.scopes) {
        if (scope.kind === 'key' && scope.id !== r.keyId) continue;
        scope.spentNano += r.costNano;
        due ||= alertDue(scope, now);
      }
      if (!due) continue;
    }
    stale.add(r.tenantId);
  }
  await Promise.all([...stale].map((tenantId) => reevaluate(env, tenantId)));
}

/** The cron's part: every budget evaluated at `now` (the scheduled time). How many alerts were due. */
export async function checkAllBudgets(env: Env, now: number): Promise<number> {
  return (await evaluate(env, now, null)).raised;
}
