/**
 * Anthropic Messages request bodies, validated. Loose like the other endpoints' schemas: what
 * the proxy does not read (thinking, cache_control, server tools, betas' fields) is forwarded
 * untouched to an Anthropic upstream; content blocks are checked where they are translated.
 */
import { z } from 'zod';
import { modelIdText, parseBody, positiveInt } from '../../http/validation';

const block = z.looseObject({ type: z.string() });

const message = z.looseObject({
  role: z.enum(['user', 'assistant']),
  content: z.union([z.string(), z.array(block)]),
});

const fields = {
  model: modelIdText,
  messages: z.array(message).min(1),
  system: z.union([z.string(), z.array(block)]).optional(),
  tools: z
    .array(z.looseObject({ name: z.string().min(1).max(128), type: z.string().optional() }))
    .max(512)
    .optional(),
  tool_choice: z
    .looseObject({ type: z.enum(['auto', 'any', 'tool', 'none']), name: z.string().optional(), disable_parallel_tool_use: z.boolean().optional() })
    .optional(),
  thinking: z.looseObject({ type: z.string() }).optional(),
};

export const messagesRequestSchema = z.looseObject({
  ...fields,
  max_tokens: positiveInt,
  stream: z.boolean().optional(),
  temperature: z.number().min(0).max(1).optional(),
  top_p: z.number().min(0).max(1).optional(),
  top_k: z.number().int().min(0).optional(),
  stop_sequences: z.array(z.string()).optional(),
  metadata: z.looseObject({ user_id: z.string().nullish() }).optional(),
});

/** count_tokens takes the request without its sampling settings. */
export const countTokensRequestSchema = z.looseObject(fields);

export type MessagesRequest = z.infer<typeof messagesRequestSchema>;
export type CountTokensRequest = z.infer<typeof countTokensRequestSchema>;
export type ContentBlock = z.infer<typeof block>;

export const parseMessagesRequest = (value: unknown) => parseBody<MessagesRequest>(messagesRequestSchema, value);
export const parseCountTokensRequest = (value: unknown) => parseBody<CountTokensRequest>(countTokensRequestSchema, value);
