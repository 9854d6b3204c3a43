/** Admin API schemas of its own (errors, prices; tenants' are in tenants/, analytics' in analytics/): they validate requests and generate the OpenAPI document. */
import { z } from '@hono/zod-openapi';

export const ErrorSchema = z
  .object({
    error: z.object({ message: z.string(), type: z.string(), param: z.string().nullable(), code: z.string().nullable() }),
  })
  .openapi('Error');

/** USD per million tokens; six decimals at most, so each converts exactly to integer pico-USD per token. */
const usdPerMtok = z
  .number()
  .nonnegative()
  .max(100_000)
  .refine((v) => Math.abs(Math.round(v * 1e6) - v * 1e6) < 1e-6, { message: 'use at most 6 decimal places' });

/** An override is flat: its rates apply at every service tier, context length and region. */
export const PriceSchema = z
  .strictObject({
    input_per_mtok: usdPerMtok,
    output_per_mtok: usdPerMtok,
    cached_input_per_mtok: usdPerMtok.optional(),
    cache_write_per_mtok: usdPerMtok.optional(),
    cache_write_1h_per_mtok: usdPerMtok.optional().openapi({ description: 'Cache writes kept for an hour (Anthropic); default cache_write_per_mtok.' }),
  })
  .openapi('Price', { description: 'A flat price: its rates apply at every service tier, context length and region.' });

const rates = {
  input_per_mtok: z.number(),
  output_per_mtok: z.number(),
  cached_input_per_mtok: z.number(),
  cache_write_per_mtok: z.number(),
  cache_write_1h_per_mtok: z.number(),
};

export const PriceEntrySchema = z
  .object({
    model: z.string(),
    provider: z.string(),
    kind: z.enum(['chat', 'embeddings']).nullable(),
    tier: z.enum(['cheap', 'expensive']).nullable(),
    ...rates,
    long_context: z
      .object({ above_input_tokens: z.number().int(), ...rates })
      .nullable()
      .openapi({
        description:
          'The rates of a whole request with more input tokens (cache reads and writes included) than above_input_tokens; null: the same rates at any length, as for every override.',
      }),
    regional_uplift_percent: z
      .number()
      .openapi({ description: 'Percent added to every rate of a call processed in one region (data residency); 0 for an override.' }),
    source: z.enum(['built-in', 'override']),
    as_of: z.string(),
  })
  .openapi('PriceEntry');
