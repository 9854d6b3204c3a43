/**
 * Where alerts go, and what may be a destination: a tenant's own webhook and the operator's
 * (ALERT_WEBHOOK_URL). Deployed, a webhook must be https: its URL usually holds a secret (a Slack
 * webhook's path is its token) and the alert names tenants and their spend. Plain http is taken
 * only for local development (ENVIRONMENT=development), where receivers are on localhost.
 * Also the dashboard links alerts carry (PUBLIC_URL) and the redacted form in which a webhook URL
 * is shown back (GET /admin/alerts), so that history never leaks a token.
 */
import { isLocalDevelopment } from '../auth/admin-guard';
import { reportOnce } from '../core/config';
import type { Env } from '../core/env';
import { invalidRequest } from '../core/errors';

export type Destination = 'tenant' | 'operator';

/** Why `url` cannot be a webhook here, or null when it can. */
function webhookProblem(env: Env, url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'it is not a URL';
  }
  if (parsed.protocol === 'https:') return null;
  if (parsed.protocol === 'http:' && isLocalDevelopment(env)) return null;
  return 'a webhook must be an https URL (plain http is accepted only with ENVIRONMENT=development)';
}

/** Refuses (400, naming the setting) a tenant webhook this deployment may not send to. */
export function checkTenantWebhook(env: Env, url: string | null | undefined): void {
  const problem = url ? webhookProblem(env, url) : null;
  if (problem) throw invalidRequest(`Invalid value for 'alert_webhook_url': ${problem}.`, 'alert_webhook_url', 'invalid_value');
}

/** ALERT_WEBHOOK_URL when it is usable; an unusable one is said once in the logs and ignored. */
export function operatorWebhook(env: Env): string | null {
  const url = env.ALERT_WEBHOOK_URL?.trim();
  if (!url) return null;
  const problem = webhookProblem(env, url);
  if (!problem) return url;
  reportOnce(`ALERT_WEBHOOK_URL=${url}`, `ALERT_WEBHOOK_URL is not used: ${problem}.`);
  return null;
}

/** The destinations of a tenant's budget alerts: its own webhook, and the operator's. */
export function budgetDestinations(env: Env, tenantWebhook: string | null): Array<{ destination: Destination; url: string }> {
  const operator = operatorWebhook(env);
  return [
    ...(tenantWebhook ? [{ destination: 'tenant' as const, url: tenantWebhook }] : []),
    ...(operator ? [{ destination: 'operator' as const, url: operator }] : []),
  ];
}

/** A webhook URL as history shows it: scheme and host only, the rest (where tokens live) elided. */
export function redactedUrl(url: string): string {
  try {
    const { origin, pathname, search } = new URL(url);
    return pathname === '/' && !search ? origin : `${origin}/…`;
  } catch {
    return '…';
  }
}

/**
 * A dashboard view's link (`tenants/ten_x`): absolute under PUBLIC_URL, else the path from the
 * proxy's origin (`/dashboard/#/tenants/ten_x`), which the reader prefixes with the host they use.
 */
export function dashboardLink(env: Env, view: string): string {
  const path = `/dashboard/#/${view}`;
  const base = env.PUBLIC_URL?.trim().replace(/\/+$/, '');
  if (!base) return path;
  if (/^https?:\/\/[^/]+/.test(base)) return `${base}${path}`;
  reportOnce(`PUBLIC_URL=${base}`, 'PUBLIC_URL is not an http(s) origin: alert links are relative.');
  return path;
}
