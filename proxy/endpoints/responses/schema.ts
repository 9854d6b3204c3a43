/**
 * The Responses API request body, validated. Loose like the other endpoints' schemas: fields
 * the proxy does not know are forwarded untouched to an upstream that speaks the API, and new
 * OpenAI parameters work without a proxy release. Input items are checked item by item where
 * they are translated (translate.ts), which names the item at fault.
 */
import { z } from 'zod';
import { modelIdText, parseBody, positiveInt } from '../../http/validation';

const item = z.looseObject({ type: z.string().optional(), role: z.string().optional() });

export const responsesRequestSchema = z.looseObject({
  model: modelIdText,
  input: z.union([z.string(), z.array(item).min(1)]),
  instructions: z.string().nullish(),
  stream: z.boolean().nullish(),
  tools: z
    .array(z.looseObject({ type: z.string() }))
    .max(128)
    .optional(),
  tool_choice: z.union([z.enum(['auto', 'none', 'required']), z.looseObject({ type: z.string() })]).optional(),
  text: z.looseObject({ format: z.looseObject({ type: z.string() }).optional() }).nullish(),
  max_output_tokens: positiveInt.nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  reasoning: z.looseObject({ effort: z.string().nullish() }).nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  metadata: z.record(z.string(), z.string()).nullish(),
  user: z.string().optional(),
  safety_identifier: z.string().optional(),
  prompt_cache_key: z.string().optional(),
  service_tier: z.string().nullish(),
  store: z.boolean().nullish(),
  background: z.boolean().nullish(),
  previous_response_id: z.string().min(1).max(256).nullish(),
  include: z.array(z.string()).nullish(),
});

/** A validated Responses request; unknown fields are kept as sent. */
export type ResponsesRequest = z.infer<typeof responsesRequestSchema>;

/** One input item, as loosely as it is validated here. */
export type InputItem = z.infer<typeof item>;

export const parseResponsesRequest = (value: unknown) => parseBody<ResponsesRequest>(responsesRequestSchema, value);
