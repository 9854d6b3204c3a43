/**
 * Tenants and their keys as the admin API shows and takes them: the zod schemas that validate
 * admin requests and generate the OpenAPI document, and the one TypeScript definition of each,
 * derived from them (the store, the admin API and the dashboard all use these).
 */
import { z } from '@hono/zod-openapi';
import { DEFAULT_ALERT_THRESHOLDS, MAX_ALERT_THRESHOLD, MAX_ALERT_THRESHOLDS } from '../alerts/thresholds';
import { TASK_NAMES } from '../routing/tasks';

// Printable ASCII without spaces: a model id ends up in response headers (x-proxy-model), where a control
// character would make every call on that tier fail after its upstream call.
export const ModelIdSchema = z
  .string()
  .regex(/^(openai|anthropic|workers-ai|mock)\/[\x21-\x7e]+$/, 'expected provider/model in printable ASCII without spaces, e.g. openai/gpt-4o-mini')
  .max(256);

/** Control characters (NUL, newlines...) and unpaired surrogates: unreadable, and D1 cannot store a lone surrogate faithfully. */
const displayable = (value: string) => !/[\p{Cc}\p{Cs}]/u.test(value);

/** Whether a tenant's prompts share the provider's prompt cache with other tenants' (docs/SECURITY.md). */
const PromptCacheSchema = z.enum(['shared', 'isolated']).openapi({
  description:
    "shared (default): this tenant's prompts share the provider's prompt cache with every other tenant's, the cheapest. isolated: the proxy starts this tenant's prompts with a salt of its own (about 20 input tokens a call), so no other tenant's cached_tokens can tell whether it sent a given prompt.",
});
/** A display name: a tenant's, or a key's. */
const NameSchema = z.string().trim().min(1).max(200).refine(displayable, { message: 'use no control characters or unpaired surrogates' });
/** The limits a tenant and each of its keys may have (null: none). */
const PerMinuteSchema = z.number().int().positive();
const BudgetUsdSchema = z.number().nonnegative().max(1e9);

/**
 * Kinds of call shadow evaluation skips unless the tenant includes them: calls that offer tools
 * or carry tool results, calls with images, and calls the client sent with `store: false`
 * (private: `unstored` also needs the operator's EVAL_ALLOW_UNSTORED=true).
 */
export const SHADOW_EVAL_KINDS = ['tools', 'images', 'unstored'] as const;
const ShadowEvalIncludeSchema = z.array(z.enum(SHADOW_EVAL_KINDS)).openapi({
  description:
    'Kinds of call shadow evaluation may sample besides plain text ones: tools (tools offered or tool results), images, unstored (`store: false`; also needs EVAL_ALLOW_UNSTORED=true). Default none: an evaluation sends the call to another model, and perhaps another provider.',
});

const TierSchema = z.enum(['cheap', 'expensive']);
// A strict object of the known tasks, so that an unknown task (a `__proto__` included) is refused by name.
const TaskTiersSchema = z.strictObject(Object.fromEntries(TASK_NAMES.map((task) => [task, TierSchema.optional()]))).openapi({
  description: 'Per-task tier overrides the router obeys wherever an x-task decides the tier, e.g. {"summarize": "expensive"} (docs/ROUTING.md).',
  example: { summarize: 'expensive' },
});

// Strict: a misspelt setting is an error, not silently ignored.
export const TenantSettingsSchema = z.strictObject({
  name: NameSchema.openapi({ example: 'acme-support' }),
  rpm: PerMinuteSchema.nullable().optional().openapi({ description: 'Requests per minute; null for unlimited.' }),
  tpm: PerMinuteSchema.nullable().optional().openapi({ description: 'Tokens per minute; null for unlimited.' }),
  monthly_budget_usd: BudgetUsdSchema.nullable().optional().openapi({ description: 'Monthly spend cap in USD; null for none.' }),
  routing: z.enum(['auto', 'passthrough']).optional().openapi({ description: 'auto: concrete models are re-routed by task, the asked model is the ceiling.' }),
  cache_ttl_s: z.number().int().min(0).max(31_536_000).optional().openapi({ description: 'Response cache lifetime bound; 0 turns caching off.' }),
  cheap_model: ModelIdSchema.nullable().optional().openapi({ description: "This tenant's cheap tier; null = CHEAP_MODEL." }),
  expensive_model: ModelIdSchema.nullable().optional().openapi({ description: "This tenant's expensive tier; null = EXPENSIVE_MODEL." }),
  rate_limit_store: z.enum(['kv', 'durable-object']).optional().openapi({ description: 'kv: approximate across locations; durable-object: exact.' }),
  store_content: z
    .boolean()
    .optional()
    .openapi({ description: "Keep each call's prompt and answer, readable through GET /admin/requests/{id}; off by default." }),
  prompt_cache: PromptCacheSchema.optional(),
  alert_webhook_url: z
    .url({ protocol: /^https?$/, error: 'expected an http or https URL' })
    .max(2048)
    .nullable()
    .optional()
    .openapi({
      description:
        "Receives this tenant's budget alerts (Slack-compatible JSON, docs/ALERTS.md); https when deployed (http only under ENVIRONMENT=development); null for none.",
    }),
  alert_thresholds: z
    .array(z.number().gt(0).max(MAX_ALERT_THRESHOLD))
    .min(1)
    .max(MAX_ALERT_THRESHOLDS)
    // One alert per threshold: duplicates would be the same alert, and the order is the order they fire in.
    .transform((thresholds) => [...new Set(thresholds)].sort((a, b) => a - b))
    .nullable()
    .optional()
    .openapi({
      description: `Fractions of the monthly budget whose crossing sends an alert (1 = 100%), up to ${MAX_ALERT_THRESHOLDS}, each above 0 and at most ${MAX_ALERT_THRESHOLD}; null for the default [${DEFAULT_ALERT_THRESHOLDS.join(', ')}].`,
    }),
  shadow_eval_rate: z
    .number()
    .min(0)
    .max(1)
    .optional()
    .openapi({ description: "Fraction of this tenant's calls evaluated on the other tier and judged (docs/ROUTING.md); 0 (default) for none." }),
  shadow_eval_include: ShadowEvalIncludeSchema.max(SHADOW_EVAL_KINDS.length).optional(),
  task_tiers: TaskTiersSchema.optional(),
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
    prompt_cache: PromptCacheSchema,
    alert_webhook_url: z.string().nullable(),
    alert_thresholds: z
      .array(z.number())
      .nullable()
      .openapi({ description: `Sorted fractions of the budget; null: the default [${DEFAULT_ALERT_THRESHOLDS.join(', ')}].` }),
    shadow_eval_rate: z.number(),
    shadow_eval_include: ShadowEvalIncludeSchema,
    task_tiers: z.partialRecord(z.string(), TierSchema),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi('Tenant');

/** An instant as the admin API takes it (ISO 8601 with a zone), that Date can read. */
const InstantSchema = z.iso.datetime({ offset: true }).refine((value) => !Number.isNaN(Date.parse(value)), { message: 'not a real date and time' });

// Strict, like the tenant's: a misspelt setting is an error. Every setting may be null (none).
export const KeySettingsSchema = z
  .strictObject({
    name: NameSchema.nullable().optional().openapi({ example: 'ci-runner', description: 'What the key is for; null for none.' }),
    rpm: PerMinuteSchema.nullable().optional().openapi({ description: "Requests per minute for this key, on top of its tenant's; null for none." }),
    tpm: PerMinuteSchema.nullable().optional().openapi({ description: "Tokens per minute for this key, on top of its tenant's; null for none." }),
    monthly_budget_usd: BudgetUsdSchema.nullable()
      .optional()
      .openapi({ description: "Monthly spend cap in USD for this key, on top of its tenant's; null for none." }),
    expires_at: InstantSchema.nullable()
      .optional()
      .openapi({ example: '2027-01-01T00:00:00Z', description: 'ISO 8601; from then on the key is refused (401). null: it never expires.' }),
  })
  .openapi('KeySettings');

export const KeyPatchSchema = KeySettingsSchema.refine((patch) => Object.values(patch).some((value) => value !== undefined), {
  message: 'give at least one setting to change',
}).openapi('KeyPatch');

export const KeySummarySchema = z
  .object({
    key_id: z.string(),
    key_prefix: z.string(),
    name: z.string().nullable(),
    rpm: z.number().nullable(),
    tpm: z.number().nullable(),
    monthly_budget_usd: z.number().nullable(),
    expires_at: z.string().nullable(),
    month_to_date_usd: z.number().openapi({ description: "The key's spend in the current UTC month, exact." }),
    created_at: z.string(),
    revoked_at: z.string().nullable(),
  })
  .openapi('KeySummary');

export const IssuedKeySchema = KeySummarySchema.extend({
  api_key: z.string().openapi({ description: 'Shown once; only its SHA-256 hash is stored.' }),
}).openapi('IssuedKey');

export const CreatedTenantSchema = TenantSchema.extend(IssuedKeySchema.pick({ key_id: true, api_key: true, key_prefix: true }).shape).openapi('CreatedTenant');

export const TenantPatchSchema = TenantSettingsSchema.partial()
  .refine((patch) => Object.values(patch).some((value) => value !== undefined), { message: 'give at least one setting to change' })
  .openapi('TenantPatch');

/** A tenant as the admin API shows it. */
export type Tenant = z.infer<typeof TenantSchema>;
/** A tenant's settings in force (every one resolved, defaults included). */
export type TenantSettings = Omit<Tenant, 'id' | 'created_at' | 'updated_at'>;
/** Settings as an admin request gives them: a name, and any others to set. */
export type TenantSettingsInput = z.input<typeof TenantSettingsSchema>;
export type Routing = Tenant['routing'];
export type RateLimitStoreKind = Tenant['rate_limit_store'];
export type PromptCacheScope = Tenant['prompt_cache'];
export type ShadowEvalKind = Tenant['shadow_eval_include'][number];
export type CreatedTenant = z.infer<typeof CreatedTenantSchema>;
export type IssuedKey = z.infer<typeof IssuedKeySchema>;
export type KeySummary = z.infer<typeof KeySummarySchema>;
/** A key's settings in force (null: none). */
export type KeySettings = Pick<KeySummary, 'name' | 'rpm' | 'tpm' | 'monthly_budget_usd' | 'expires_at'>;
/** Key settings as an admin request gives them: any to set. */
export type KeySettingsInput = z.input<typeof KeySettingsSchema>;

/** What an authenticated call knows about its caller: its tenant's settings, and its key's. */
export interface TenantContext {
  tenantId: string;
  keyId: string;
  tenant: TenantSettings;
  key: KeySettings;
  /**
   * The tenant's prompt-cache salt as D1 keeps it (random hex, providers/prompt-cache-salt.ts).
   * Internal: no admin response, and so no schema above, has it.
   */
  promptCacheSalt: string;
}
