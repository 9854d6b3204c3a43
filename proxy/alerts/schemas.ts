/**
 * Alerts as they are sent and as GET /admin/alerts shows them: the zod schemas that generate the
 * OpenAPI document and validate its query, and the one TypeScript definition of each, derived
 * from them (the senders, the admin API and the dashboard all use these).
 */
import { z } from '@hono/zod-openapi';
import { PageLimitQuery } from '../../analytics/schemas';

export const ALERT_KINDS = ['budget', 'forecast', 'error_rate', 'latency_p95'] as const;
export const AlertKindSchema = z.enum(ALERT_KINDS).openapi({
  description:
    '`budget`: month-to-date spend crossed a threshold of a budget; `forecast`: the month-end forecast first exceeded it; `error_rate`, `latency_p95`: an upstream (provider/model) over ALERT_ERROR_RATE or ALERT_P95_MS, or back under.',
});

const BudgetAlertSchema = z
  .object({
    id: z.string(),
    kind: z.enum(['budget', 'forecast']),
    state: z.literal('firing'),
    tenant_id: z.string(),
    tenant_name: z.string(),
    key_id: z.string().nullable().openapi({ description: "The key whose own budget this is; null for the tenant's budget." }),
    key_name: z.string().nullable(),
    month: z.string().openapi({ description: 'YYYY-MM, UTC.' }),
    threshold: z.number().nullable().openapi({ description: 'The fraction of the budget crossed (budget alerts); null for forecast alerts.' }),
    spend_usd: z.number().openapi({ description: 'Month-to-date spend when the alert was raised.' }),
    budget_usd: z.number(),
    forecast_usd: z.number().nullable().openapi({ description: 'Month-end forecast: spend / elapsed fraction of the month; null in its first 3 days.' }),
    dashboard_url: z.string(),
    created_at: z.string(),
  })
  .openapi('BudgetAlert');

const UpstreamAlertSchema = z
  .object({
    id: z.string(),
    kind: z.enum(['error_rate', 'latency_p95']),
    state: z.enum(['firing', 'resolved']),
    provider: z.string(),
    model: z.string().openapi({ description: 'provider/model' }),
    value: z.number().openapi({ description: 'The error rate (0..1) or p95 latency (ms) over the window.' }),
    threshold: z.number().openapi({ description: 'ALERT_ERROR_RATE or ALERT_P95_MS.' }),
    samples: z.number().openapi({ description: 'Upstream attempts (error rate) or successful calls (p95) in the window.' }),
    window_start: z.string(),
    window_end: z.string(),
    dashboard_url: z.string(),
    created_at: z.string(),
  })
  .openapi('UpstreamAlert');

/** The JSON body POSTed to a webhook: Slack's `text`, and the same facts as fields. */
export const AlertPayloadSchema = z
  .object({
    text: z.string().openapi({ description: 'A one-line message (Slack mrkdwn).' }),
    alert: z.union([BudgetAlertSchema, UpstreamAlertSchema]),
  })
  .openapi('AlertPayload');

export const AlertsQuery = PageLimitQuery.extend({
  tenant: z.string().max(100).optional(),
  kind: AlertKindSchema.optional(),
});

export const AlertDeliverySchema = z
  .object({
    id: z.string(),
    alert_id: z.string(),
    kind: AlertKindSchema,
    state: z.enum(['firing', 'resolved']),
    tenant_id: z.string().nullable(),
    key_id: z.string().nullable(),
    subject: z.string().openapi({ description: 'What the alert is about: tenant:<id>, key:<id>, or a provider/model.' }),
    text: z.string(),
    payload: AlertPayloadSchema,
    created_at: z.string().openapi({ description: 'When the alert was raised.' }),
    destination: z.enum(['tenant', 'operator']).openapi({ description: "The tenant's alert_webhook_url, or ALERT_WEBHOOK_URL." }),
    url: z.string().openapi({ description: 'The webhook, scheme and host only (its path and query often hold a token).' }),
    status: z.enum(['pending', 'delivered', 'failed']).openapi({ description: 'pending: not delivered yet, retried at next_attempt_at; failed: given up.' }),
    attempts: z.number(),
    last_http_status: z.number().nullable().openapi({ description: "The receiver's answer to the last attempt; null when it gave none (timeout, refused)." }),
    last_error: z.string().nullable(),
    last_attempt_at: z.string().nullable(),
    delivered_at: z.string().nullable(),
    next_attempt_at: z.string().nullable(),
  })
  .openapi('AlertDelivery');

export const AlertDeliveryPageSchema = z
  .object({
    data: z.array(AlertDeliverySchema),
    next_cursor: z.string().nullable().openapi({ description: 'Pass as `cursor` for the next (older) page; null on the last page.' }),
  })
  .openapi('AlertDeliveryPage');

export type AlertKind = z.infer<typeof AlertKindSchema>;
export type AlertPayload = z.infer<typeof AlertPayloadSchema>;
export type BudgetAlert = z.infer<typeof BudgetAlertSchema>;
export type UpstreamAlert = z.infer<typeof UpstreamAlertSchema>;
export type AlertDelivery = z.infer<typeof AlertDeliverySchema>;
export type AlertDeliveryPage = z.infer<typeof AlertDeliveryPageSchema>;
export type AlertsFilter = z.infer<typeof AlertsQuery>;
