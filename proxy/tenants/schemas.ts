/**
 * Tenants and their keys as the admin API shows and takes them: the zod schemas that validate
 * admin requests and generate the OpenAPI document, and the one TypeScript definition of each,
 * derived from them (the store, the admin API and the dashboard all use these).
 */
import { z } from '@hono/zod-openapi';

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

// Strict: a misspelt setting is an error, not silently ignored.
export const TenantSettingsSchema = z.strictObject({
  name: z
    .string()
    .trim()
    .min(1)
    .max(200)
    .refine(displayable, { message: 'use no control characters or unpaired surrogates' })
    .openapi({ example: 'acme-support' }),
  rpm: z.number().int().positive().nullable().optional().openapi({ description: 'Requests per minute; null for unlimited.' }),
  tpm: z.number().int().positive().nullable().optional().openapi({ description: 'Tokens per minute; null for unlimited.' }),
  monthly_budget_usd: z.number().nonnegative().max(1e9).nullable().optional().openapi({ description: 'Monthly spend cap in USD; null for none.' }),
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

export const TenantPatchSchema = TenantSettingsSchema.partial()
  .refine((patch) => Object.values(patch).some((value) => value !== undefined), { message: 'give at least one setting to change' })
  .openapi('TenantPatch');

export const KeySummarySchema = z
  .object({ key_id: z.string(), key_prefix: z.string(), created_at: z.string(), revoked_at: z.string().nullable() })
  .openapi('KeySummary');

/** A tenant as the admin API shows it. */
export type Tenant = z.infer<typeof TenantSchema>;
/** A tenant's settings in force (every one resolved, defaults included). */
export type TenantSettings = Omit<Tenant, 'id' | 'created_at' | 'updated_at'>;
/** Settings as an admin request gives them: a name, and any others to set. */
export type TenantSettingsInput = z.input<typeof TenantSettingsSchema>;
export type Routing = Tenant['routing'];
export type RateLimitStoreKind = Tenant['rate_limit_store'];
export type PromptCacheScope = Tenant['prompt_cache'];
export type CreatedTenant = z.infer<typeof CreatedTenantSchema>;
export type IssuedKey = z.infer<typeof IssuedKeySchema>;
export type KeySummary = z.infer<typeof KeySummarySchema>;

/** What an authenticated call knows about its caller. */
export interface TenantContext {
  tenantId: string;
  keyId: string;
  tenant: TenantSettings;
}
