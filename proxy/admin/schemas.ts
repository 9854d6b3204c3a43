/** Admin API schemas: they validate requests and generate the OpenAPI document. */
import { z } from '@hono/zod-openapi';

export const ErrorSchema = z
  .object({
    error: z.object({ message: z.string(), type: z.string(), param: z.string().nullable(), code: z.string().nullable() }),
  })
  .openapi('Error');

// Printable ASCII without spaces: a model id ends up in response headers (x-proxy-model), where a control
// character would make every call on that tier fail after its upstream call.
export const ModelIdSchema = z.string().regex(/^(openai|anthropic|workers-ai|mock)\/[\x21-\x7e]+$/, 'expected provider/model in printable ASCII without spaces, e.g. openai/gpt-4o-mini').max(256);

/** Control characters (NUL, newlines...) and unpaired surrogates: unreadable, and D1 cannot store a lone surrogate faithfully. */
const displayable = (value: string) => !/[\p{Cc}\p{Cs}]/u.test(value);
const ModelId = ModelIdSchema;

// Strict: a misspelt setting is an error, not silently ignored.
export const TenantSettingsSchema = z.strictObject({
  name: z.string().trim().min(1).max(200).refine(displayable, { message: 'use no control characters or unpaired surrogates' }).openapi({ example: 'acme-support' }),
  rpm: z.number().int().positive().nullable().optional().openapi({ description: 'Requests per minute; null for unlimited.' }),
  tpm: z.number().int().positive().nullable().optional().openapi({ description: 'Tokens per minute; null for unlimited.' }),
  monthly_budget_usd: z.number().nonnegative().max(1e9).nullable().optional().openapi({ description: 'Monthly spend cap in USD; null for none.' }),
  routing: z.enum(['auto', 'passthrough']).optional().openapi({ description: 'auto: concrete models are re-routed by task, the asked model is the ceiling.' }),
  cache_ttl_s: z.number().int().min(0).max(31_536_000).optional().openapi({ description: 'Response cache lifetime bound; 0 turns caching off.' }),
  cheap_model: ModelId.nullable().optional().openapi({ description: "This tenant's cheap tier; null = CHEAP_MODEL." }),
  expensive_model: ModelId.nullable().optional().openapi({ description: "This tenant's expensive tier; null = EXPENSIVE_MODEL." }),
  rate_limit_store: z.enum(['kv', 'durable-object']).optional().openapi({ description: 'kv: approximate across locations; durable-object: exact.' }),
  store_content: z.boolean().optional().openapi({ description: "Keep each call's prompt and answer, readable through GET /admin/requests/{id}; off by default." }),
});

export const TenantSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    rpm: z.number().nullable(),
    tpm: z.number().nullable(),
    monthly_budget_usd: z.number().nullable(),
    routing: z.enum(['auto', 'passthrough']),
    cache_ttl_s: z.number(),
    cheap_model: z.string().nullable(),
    expensive_model: z.string().nullable(),
    rate_limit_store: z.enum(['kv', 'durable-object']),
    store_content: z.boolean(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi('Tenant');

export const IssuedKeySchema = z
  .object({
    key_id: z.string(),
    api_key: z.string().openapi({ description: 'Shown once; only its SHA-256 hash is stored.' }),
    key_prefix: z.string(),
    created_at: z.string(),
  })
  .openapi('IssuedKey');

export const CreatedTenantSchema = TenantSchema.extend(IssuedKeySchema.omit({ created_at: true }).shape).openapi('CreatedTenant');

/** An instant: an ISO 8601 date-time with an offset, or a plain date for finance users, meaning its UTC midnight. */
const Instant = z.union([z.iso.datetime({ offset: true }), z.iso.date()], {
  error: 'expected an ISO 8601 date-time with an offset (2026-11-01T09:30:00Z) or a date (2026-11-01, its UTC midnight)',
});

export const TimeWindowQuery = z.strictObject({
  from: Instant.optional().openapi({ description: 'ISO 8601 date-time with an offset, or a date (its UTC midnight); default 24 hours before `to`.' }),
  to: Instant.optional().openapi({ description: 'Exclusive, in the same forms (`to=2026-12-01` ends with November 30); default now.' }),
});

export const RequestLogQuery = TimeWindowQuery.extend({
  tenant: z.string().optional(),
  model: z.string().optional(),
  status: z.string().regex(/^(\d{3}|error|ok)$/).optional().openapi({ description: 'An HTTP status, `error` or `ok`.' }),
  tier: z.enum(['cheap', 'expensive']).optional(),
  cache: z.enum(['HIT', 'MISS', 'BYPASS', 'hit', 'miss', 'bypass']).optional(),
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

export const RequestLogRowSchema = z
  .object({
    id: z.string(),
    ts: z.string(),
    tenant_id: z.string(),
    key_id: z.string(),
    endpoint: z.string(),
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

export const TenantPatchSchema = TenantSettingsSchema.partial()
  .refine((patch) => Object.values(patch).some((value) => value !== undefined), { message: 'give at least one setting to change' })
  .openapi('TenantPatch');

export const KeySummarySchema = z
  .object({ key_id: z.string(), key_prefix: z.string(), created_at: z.string(), revoked_at: z.string().nullable() })
  .openapi('KeySummary');

/** USD per million tokens; six decimals at most, so each converts exactly to integer pico-USD per token. */
const usdPerMtok = z
  .number()
  .nonnegative()
  .max(100_000)
  .refine((v) => Math.abs(Math.round(v * 1e6) - v * 1e6) < 1e-6, { message: 'use at most 6 decimal places' });

export const PriceSchema = z
  .strictObject({
    input_per_mtok: usdPerMtok,
    output_per_mtok: usdPerMtok,
    cached_input_per_mtok: usdPerMtok.optional(),
    cache_write_per_mtok: usdPerMtok.optional(),
  })
  .openapi('Price');

export const PriceEntrySchema = z
  .object({
    model: z.string(),
    provider: z.string(),
    kind: z.enum(['chat', 'embeddings']).nullable(),
    tier: z.enum(['cheap', 'expensive']).nullable(),
    input_per_mtok: z.number(),
    output_per_mtok: z.number(),
    cached_input_per_mtok: z.number(),
    cache_write_per_mtok: z.number(),
    source: z.enum(['built-in', 'override']),
    as_of: z.string(),
  })
  .openapi('PriceEntry');

/** Tenant ids as proxy/ids.ts makes them: `ten_` and base62 (16 characters there; fixtures use shorter ones). */
export const TENANT_ID_PATTERN = /^ten_[A-Za-z0-9]{1,64}$/;
export const TENANT_ID_RULE = 'expected a tenant id: ten_ followed by letters and digits';

// The same rule whichever source answers (D1 or the Analytics Engine SQL API, which gets the id inside its SQL).
export const AnalyticsQuery = TimeWindowQuery.extend({ tenant: z.string().regex(TENANT_ID_PATTERN, TENANT_ID_RULE).optional() });

export const TimeseriesQuery = AnalyticsQuery.extend({
  interval: z.enum(['minute', 'hour', 'day']).default('hour'),
  group_by: z.enum(['tenant', 'model', 'tier', 'provider']).optional(),
});

const nullableMs = z.number().nullable();

/** The upstreams' own failures, apart from the proxy's refusals (analytics/aggregate.ts). */
const upstreamErrorFields = {
  upstream_calls: z.number().openapi({ description: 'Calls that reached an upstream (at least one attempt): not response-cache hits, nor calls the proxy refused' }),
  upstream_errors: z.number().openapi({ description: 'Of those, the calls that failed (status >= 400), client disconnects (499) excepted; a call rescued by a retry or fallback is not one' }),
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

export const BreakdownQuery = AnalyticsQuery.extend({
  group_by: z.enum(['tenant', 'model', 'tier', 'provider']),
});

export const BreakdownSchema = z
  .object({
    from: z.string(),
    to: z.string(),
    group_by: z.enum(['tenant', 'model', 'tier', 'provider']),
    data: z.array(SummarySchema.omit({ from: true, to: true }).extend({ key: z.string() })),
  })
  .openapi('Breakdown');

const PointSchema = z.object({
  ts: z.string(),
  requests: z.number(),
  errors: z.number(),
  error_rate: z.number(),
  ...upstreamErrorFields,
  prompt_tokens: z.number(),
  completion_tokens: z.number(),
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
    interval: z.enum(['minute', 'hour', 'day']),
    group_by: z.enum(['tenant', 'model', 'tier', 'provider']).nullable(),
    series: z.array(z.object({ key: z.string(), points: z.array(PointSchema) })),
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

// The shapes clients (the dashboard) import as types.
export type Tenant = z.infer<typeof TenantSchema>;
export type TenantSettings = z.input<typeof TenantSettingsSchema>;
export type CreatedTenant = z.infer<typeof CreatedTenantSchema>;
export type IssuedKey = z.infer<typeof IssuedKeySchema>;
export type KeySummary = z.infer<typeof KeySummarySchema>;
