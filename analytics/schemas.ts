/**
 * The analytics and request-log API's shapes as zod schemas: they validate the admin API's
 * queries, generate its OpenAPI document, and are the one definition the TypeScript types in
 * types.ts are derived from (the Worker and the dashboard both use those).
 */
import { z } from '@hono/zod-openapi';
import { MAX_TAG_KEY_CHARS, MAX_TAG_VALUE_CHARS, MAX_USER_CHARS, TAG_KEY_PATTERN, TAG_VALUE_PATTERN } from '../proxy/core/attribution';
import { TENANT_ID_PATTERN, TENANT_ID_RULE } from '../proxy/core/ids';
import { ENDPOINTS } from './endpoints';

/** An instant: an ISO 8601 date-time with an offset, or a plain date for finance users, meaning its UTC midnight. */
const Instant = z.union([z.iso.datetime({ offset: true }), z.iso.date()], {
  error: 'expected an ISO 8601 date-time with an offset (2026-11-01T09:30:00Z) or a date (2026-11-01, its UTC midnight)',
});

/** The inbound API a call came through (endpoints.ts). */
export const EndpointSchema = z.enum(ENDPOINTS).openapi({
  description:
    'The inbound API: `chat` (/v1/chat/completions), `embeddings` (/v1/embeddings), `responses` (/v1/responses), `messages` (/v1/messages), `count_tokens` (/v1/messages/count_tokens).',
});

/** Reasoning tokens, as every figure that has them describes them. */
const REASONING = 'Hidden reasoning tokens: part of completion_tokens (as OpenAI counts them), billed once, as output';

export const TimeWindowQuery = z.strictObject({
  from: Instant.optional().openapi({ description: 'ISO 8601 date-time with an offset, or a date (its UTC midnight); default 24 hours before `to`.' }),
  to: Instant.optional().openapi({ description: 'Exclusive, in the same forms (`to=2026-12-01` ends with November 30); default now.' }),
});

/** A tag's key, as x-proxy-tags takes it. */
const TagKeySchema = z.string().regex(TAG_KEY_PATTERN, `expected a tag key: 1 to ${MAX_TAG_KEY_CHARS} characters of a-z, 0-9, _ . and -`);

/** The calls of one end user, and of one tag value: filters of the reports and of the request log. */
const attributionFilters = {
  user: z
    .string()
    .min(1)
    .max(MAX_USER_CHARS)
    .optional()
    .openapi({ description: 'Only the calls of this end user (x-proxy-user, or the user id of the request body).' }),
  tag: z
    .string()
    .transform((text, ctx) => {
      const equals = text.indexOf('=');
      const tag = { key: text.slice(0, equals), value: text.slice(equals + 1) };
      if (equals > 0 && TAG_KEY_PATTERN.test(tag.key) && TAG_VALUE_PATTERN.test(tag.value)) return tag;
      ctx.addIssue({ code: 'custom', message: `expected key=value: a tag key, then 1 to ${MAX_TAG_VALUE_CHARS} printable characters (no comma)` });
      return z.NEVER;
    })
    .optional()
    .openapi({
      type: 'string',
      pattern: `^${TAG_KEY_PATTERN.source.slice(1, -1)}=${TAG_VALUE_PATTERN.source.slice(1, -1)}$`,
      description: 'Only the calls tagged so (x-proxy-tags), as `key=value`: `team=search`.',
      example: 'team=search',
    }),
};

/** A page of a keyset-paginated list: its size, and where the previous page ended. */
export const PageLimitQuery = z.strictObject({
  // Digits only: a coerced number would take 1e2, 0x10 or 5.0 as well.
  limit: z
    .string()
    .regex(/^\d{1,3}$/, 'expected a whole number from 1 to 500')
    .transform(Number)
    .pipe(z.number().min(1, 'expected a whole number from 1 to 500').max(500, 'expected a whole number from 1 to 500'))
    .default(50)
    .openapi({ type: 'integer', minimum: 1, maximum: 500, default: 50 }),
  cursor: z.string().max(200).optional(),
});

export const RequestLogQuery = TimeWindowQuery.extend({
  tenant: z.string().optional(),
  model: z.string().optional(),
  status: z
    .string()
    .regex(/^(\d{3}|error|ok)$/)
    .optional()
    .openapi({ description: 'An HTTP status, `error` or `ok`.' }),
  tier: z.enum(['cheap', 'expensive']).optional(),
  cache: z.enum(['HIT', 'MISS', 'BYPASS', 'hit', 'miss', 'bypass']).optional(),
  endpoint: EndpointSchema.optional(),
  ...attributionFilters,
}).extend(PageLimitQuery.shape);

export const RequestLogRowSchema = z
  .object({
    id: z.string(),
    ts: z.string(),
    tenant_id: z.string(),
    key_id: z.string(),
    endpoint: EndpointSchema,
    user: z.string().nullable().openapi({ description: 'The end user: x-proxy-user, else the user id of the request body; null when none.' }),
    tags: z
      .record(z.string(), z.string())
      .openapi({ description: 'The x-proxy-tags of the call, keys in order; {} when none.', example: { feature: 'rag', team: 'search' } }),
    model_requested: z.string().nullable(),
    model: z.string().nullable(),
    provider: z.string().nullable(),
    tier: z.string().nullable(),
    route_reason: z.string().nullable(),
    status: z.number(),
    error_type: z.string().nullable(),
    error_message: z.string().nullable(),
    prompt_tokens: z.number(),
    completion_tokens: z.number(),
    cached_tokens: z.number(),
    cache_write_tokens: z.number(),
    reasoning_tokens: z.number().openapi({ description: REASONING }),
    usage_estimated: z.boolean(),
    cost_nano: z.number().openapi({ description: 'Exact cost in nano-USD (1e-9 USD).' }),
    cost_usd: z.number(),
    saved_nano: z.number(),
    saved_usd: z.number().openapi({ description: 'What a response-cache hit saved, in USD.' }),
    latency_ms: z.number(),
    ttft_ms: z.number().nullable(),
    stream: z.boolean(),
    cache: z.string(),
    attempts: z.number().openapi({ description: 'Upstream attempts made (retries and fallbacks included); 0 for a cache hit or a call refused before any.' }),
  })
  .openapi('RequestLogRow');

export const RequestAttemptSchema = z
  .object({
    attempt: z.number(),
    ts: z.string(),
    model: z.string(),
    provider: z.string(),
    tier: z.string(),
    status: z.number(),
    error_type: z.string().nullable(),
    error_message: z.string().nullable(),
    latency_ms: z.number(),
  })
  .openapi('RequestAttempt');

export const RequestDetailSchema = RequestLogRowSchema.extend({
  failed_attempts: z.array(RequestAttemptSchema).openapi({ description: 'The attempts before the last, each of which failed (the last is the call itself).' }),
  content: z
    .object({ request: z.string(), response: z.string().nullable(), truncated: z.boolean() })
    .nullable()
    .openapi({ description: "The call's request body and answer, for tenants with store_content; null otherwise." }),
}).openapi('RequestDetail');

export const RequestLogPageSchema = z
  .object({
    data: z.array(RequestLogRowSchema),
    next_cursor: z.string().nullable().openapi({ description: 'Pass as `cursor` for the next (older) page; null on the last page.' }),
  })
  .openapi('RequestLogPage');

// The same rule whichever source answers (D1 or the Analytics Engine SQL API, which gets the id inside its SQL).
export const AnalyticsQuery = TimeWindowQuery.extend({ tenant: z.string().regex(TENANT_ID_PATTERN, TENANT_ID_RULE).optional() });

/** The calls of one end user or tag value, for the reports that take filters. */
export const FilteredAnalyticsQuery = AnalyticsQuery.extend(attributionFilters);

/** What reports may be grouped by: a dimension of every call, or a tag's key (`tag:team`). */
export const GroupBySchema = z
  .union([
    z.enum(['tenant', 'model', 'tier', 'provider', 'endpoint', 'user', 'key']),
    z.templateLiteral(['tag:', TagKeySchema]).openapi({ pattern: `^tag:${TAG_KEY_PATTERN.source.slice(1, -1)}$` }),
  ])
  .openapi({
    description:
      '`tenant`, `model`, `tier`, `provider`, `endpoint`, `user` (the end user), `key` (the API key) or `tag:<key>` (the value of that tag). Calls with no user, or no tag of that key, group under null.',
    example: 'tag:team',
  });
export const IntervalSchema = z.enum(['minute', 'hour', 'day']);

/**
 * A latency percentile: null over no calls, and where a report by user, key or tag reads calls of
 * the attribute rollups (before the raw retention), which keep no latencies.
 */
const nullableMs = z.number().nullable().openapi({
  description:
    'Milliseconds; null when no call counts (no successful call, or no stream), and for reports by user, key or tag (or filtered by one) whose point includes calls older than the raw retention',
});

/** A group's value of what the report is grouped by; null for the calls with no user, or no tag of that key. */
const GroupKeySchema = z.string().nullable();

/** The upstreams' own failures, apart from the proxy's refusals (analytics/aggregate.ts). */
const upstreamErrorFields = {
  upstream_calls: z
    .number()
    .openapi({ description: 'Calls that reached an upstream (at least one attempt): not response-cache hits, nor calls the proxy refused' }),
  upstream_errors: z.number().openapi({
    description: 'Of those, the calls that failed (status >= 400), client disconnects (499) excepted; a call rescued by a retry or fallback is not one',
  }),
  upstream_error_rate: z.number().nullable().openapi({ description: 'upstream_errors / upstream_calls; null when no call reached an upstream' }),
};

export const SummarySchema = z
  .object({
    from: z.string(),
    to: z.string(),
    requests: z.number(),
    errors: z.number().openapi({ description: "Calls that failed (status >= 400), the proxy's own refusals (rate limits, budget, bad requests) included" }),
    error_rate: z.number(),
    ...upstreamErrorFields,
    prompt_tokens: z.number(),
    completion_tokens: z.number(),
    reasoning_tokens: z.number().openapi({ description: REASONING }),
    cached_tokens: z.number(),
    cost_usd: z.number(),
    cost_nano: z.number().openapi({ description: 'Exact cost in nano-USD' }),
    saved_usd: z.number(),
    saved_nano: z.number(),
    cheap_token_share: z.number().nullable().openapi({ description: 'Upstream tokens on the cheap tier over all upstream tokens' }),
    cache_hit_rate: z.number().nullable(),
    latency_ms: z.object({ p50: nullableMs, p95: nullableMs, p99: nullableMs }),
    ttft_ms: z.object({ p50: nullableMs, p95: nullableMs }),
  })
  .openapi('Summary');

/** The finance CSV: per day, tenant, model and endpoint, or per day, tenant and what `group_by` names. */
export const ExportQuery = TimeWindowQuery.extend({
  group_by: GroupBySchema.optional().openapi({
    description: 'Rows per day, tenant and this instead of per day, tenant, model and endpoint: `group_by=user`, `group_by=tag:team`.',
  }),
});

export const BreakdownQuery = FilteredAnalyticsQuery.extend({ group_by: GroupBySchema });

export const TimeseriesQuery = FilteredAnalyticsQuery.extend({
  interval: IntervalSchema.default('hour'),
  group_by: GroupBySchema.optional(),
});

export const BreakdownSchema = z
  .object({
    from: z.string(),
    to: z.string(),
    group_by: GroupBySchema,
    data: z.array(SummarySchema.omit({ from: true, to: true }).extend({ key: GroupKeySchema })),
  })
  .openapi('Breakdown');

export const PointSchema = z.object({
  ts: z.string(),
  requests: z.number(),
  errors: z.number(),
  error_rate: z.number(),
  ...upstreamErrorFields,
  prompt_tokens: z.number(),
  completion_tokens: z.number(),
  reasoning_tokens: z.number(),
  cached_tokens: z.number(),
  cost_usd: z.number(),
  saved_usd: z.number(),
  cache_hits: z.number(),
  latency_p50: nullableMs,
  latency_p95: nullableMs,
  latency_p99: nullableMs,
  ttft_p50: nullableMs,
  ttft_p95: nullableMs,
});

export const TimeseriesSchema = z
  .object({
    interval: IntervalSchema,
    group_by: GroupBySchema.nullable(),
    series: z.array(z.object({ key: GroupKeySchema, points: z.array(PointSchema) })),
  })
  .openapi('Timeseries');

export const SpendSchema = z
  .object({
    month: z.string(),
    data: z.array(
      z.object({
        tenant_id: z.string(),
        name: z.string(),
        month: z.string(),
        month_to_date_usd: z.number(),
        monthly_budget_usd: z.number().nullable(),
        budget_used: z.number().nullable(),
        daily_run_rate_usd: z.number(),
        forecast_usd: z.number(),
      }),
    ),
  })
  .openapi('TenantSpend');

export const UnpricedSchema = z
  .object({
    from: z.string(),
    to: z.string(),
    requests: z.number().openapi({ description: 'Calls served with no price in force (ALLOW_UNPRICED_MODELS): their cost is missing from every figure' }),
    models: z
      .array(z.object({ model: z.string(), requests: z.number(), last_seen: z.string() }))
      .openapi({ description: 'The models to price (PUT /admin/prices/{model}), most called first' }),
  })
  .openapi('Unpriced');

/** Shadow evaluation's results (GET /admin/analytics/routing-quality; docs/ROUTING.md#shadow-evaluation). */
const RecommendationSchema = z.enum(['keep', 'move_to_cheap', 'move_to_expensive', 'undecided']).nullable().openapi({
  description:
    'From 50 judged samples on: keep (the cheap tier is good enough, or the expensive one is needed), move_to_cheap, move_to_expensive, or undecided (the 95% interval straddles the 90% target); null below 50 samples.',
});

export const RoutingQualityRowSchema = z.object({
  task: z.string().openapi({ description: 'The x-task, or rule:<id> when the router read the request' }),
  tier: z.enum(['cheap', 'expensive']).openapi({ description: 'The tier the evaluated calls were served on' }),
  samples: z.number().openapi({ description: 'Evaluations with a valid verdict' }),
  same: z.number(),
  cheap_worse: z.number(),
  cheap_better: z.number(),
  invalid: z.number().openapi({ description: 'The judge answered, but not with a valid verdict: not counted in the samples' }),
  failed: z.number().openapi({ description: 'The shadow call or the judge failed: not counted in the samples' }),
  agreement_rate: z.number().nullable().openapi({ description: 'Share of samples where the cheap answer was the same or better; null without samples' }),
  agreement_low: z.number().nullable().openapi({ description: 'Wilson 95% interval of agreement_rate, lower bound' }),
  agreement_high: z.number().nullable().openapi({ description: 'Upper bound' }),
  cost_usd: z
    .number()
    .openapi({ description: "Estimated cost of the task's calls on this tier in the window: each sampled call's cost over its sampling rate" }),
  move_cost_delta_usd: z.number().openapi({
    description: 'Estimated change of that cost had those calls been on the other tier, from the paired costs (negative: a saving; positive: the extra cost)',
  }),
  sampled_cost_usd: z.number().openapi({ description: 'What the sampled calls cost' }),
  sampled_other_tier_cost_usd: z.number().openapi({ description: 'What their shadow calls on the other tier cost' }),
  eval_cost_usd: z.number().openapi({ description: 'Evaluation spend for these samples (shadow calls and judge)' }),
  recommendation: RecommendationSchema,
});

export const RoutingQualitySchema = z
  .object({
    from: z.string(),
    to: z.string(),
    data: z.array(RoutingQualityRowSchema),
    interval: IntervalSchema.openapi({ description: 'The buckets of `series`: hours for windows of up to 3 days, else days' }),
    series: z
      .array(
        z.object({
          task: z.string(),
          tier: z.enum(['cheap', 'expensive']),
          points: z.array(z.object({ ts: z.string(), samples: z.number(), agreement_rate: z.number().nullable() })),
        }),
      )
      .openapi({ description: 'Agreement over time per task and tier, every bucket of the window present' }),
    eval_spend: z
      .object({
        window_usd: z.number().openapi({ description: 'Evaluation spend of the evaluations in the window (and tenant, if given)' }),
        month_to_date_usd: z.number().openapi({ description: 'Evaluation spend this UTC month, all tenants: what EVAL_BUDGET_USD caps' }),
        monthly_cap_usd: z.number().nullable().openapi({ description: 'EVAL_BUDGET_USD; null for no cap' }),
      })
      .openapi({ description: "Evaluation spend is the operator's: never part of a tenant's spend, budget or limits" }),
  })
  .openapi('RoutingQuality');
/** Where the request log's storage stands: D1's size against its limit, the archive, the overflow (GET /admin/storage, /health). */
export const StorageSchema = z
  .object({
    d1: z.object({
      size_bytes: z.number().nullable().openapi({ description: "The database's size (D1's size_after); null when D1 does not say." }),
      max_bytes: z.number().openapi({ description: 'D1_MAX_BYTES: the size limit (10 GB on Workers Paid).' }),
      used: z.number().nullable().openapi({ description: 'size_bytes / max_bytes.' }),
      warn_at: z.number().openapi({ description: 'The share of max_bytes from which a warning is given.' }),
    }),
    archive: z.object({
      enabled: z.boolean().openapi({ description: 'The ARCHIVE bucket is bound: raw rows are archived to R2 before they are purged.' }),
      archived_until: z.string().nullable().openapi({ description: 'Every finished hour before this is archived; null before the first.' }),
      backlog_hours: z.number().openapi({ description: 'Hours rolled up and not archived yet, stale ones included.' }),
      stale_hours: z.number().openapi({ description: 'Archived hours that received rows since, to be archived again.' }),
    }),
    overflow: z
      .object({
        objects: z.number(),
        rows: z.number().openapi({ description: 'Calls D1 refused, kept in R2 until the cron inserts them.' }),
        more: z.boolean().openapi({ description: 'More objects than were counted.' }),
      })
      .nullable()
      .openapi({ description: 'What waits in the overflow (R2, overflow/); null without the ARCHIVE bucket.' }),
    warnings: z
      .array(z.string())
      .openapi({ description: 'What needs attention before it becomes a failure: D1 nearly full, rows in the overflow, the archive behind.' }),
  })
  .openapi('Storage');

/** The archive checked against the daily rollups, one row per day. */
export const ArchiveCheckSchema = z
  .object({
    data: z.array(
      z.object({
        day: z.string(),
        archived_hours: z.number().openapi({ description: 'Hours of the day archived and not stale (24: the whole day).' }),
        archived_requests: z.number(),
        archived_cost_nano: z.number(),
        rollup_requests: z.number(),
        rollup_cost_nano: z.number(),
        matches: z.boolean().openapi({ description: 'The whole day is archived with the same calls and cost as its rollup.' }),
      }),
    ),
  })
  .openapi('ArchiveCheck');
