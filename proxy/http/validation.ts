/**
 * Request-body schemas for the OpenAI endpoints. Objects are loose: fields the proxy does not
 * know are forwarded untouched, so new OpenAI parameters work without a proxy release.
 */
import { z } from 'zod';
import { invalidRequest } from '../core/errors';
import type { ChatRequest, EmbeddingsRequest } from '../providers/types';

const contentPart = z.looseObject({ type: z.string() });

const message = z.looseObject({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool', 'function']),
  content: z.union([z.string(), z.array(contentPart), z.null()]).optional(),
  name: z.string().optional(),
  tool_call_id: z.string().optional(),
  tool_calls: z
    .array(z.looseObject({ id: z.string(), type: z.literal('function'), function: z.looseObject({ name: z.string(), arguments: z.string() }) }))
    .optional(),
});

const tool = z.looseObject({
  type: z.literal('function'),
  function: z.looseObject({
    name: z.string().min(1).max(64),
    description: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
  }),
});

const positiveInt = z.number().int().positive();

/**
 * A model id is echoed in response headers (x-proxy-model) and stored in the request log: it must
 * be printable ASCII without spaces, as every real model id is. A control character (NUL, CR/LF)
 * would make the response unbuildable after the upstream call was paid for; a non-ASCII one
 * would be mangled.
 */
export const modelIdText = z.string().min(1).max(256).regex(/^[\x21-\x7e]+$/, 'a model id is printable ASCII without spaces');

export const chatRequestSchema = z.looseObject({
  model: modelIdText,
  messages: z.array(message).min(1),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullish(),
  max_tokens: positiveInt.nullish(),
  max_completion_tokens: positiveInt.nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  n: z.number().int().min(1).max(128).nullish(),
  stop: z.union([z.string(), z.array(z.string()).max(4)]).nullish(),
  tools: z.array(tool).max(128).optional(),
  user: z.string().optional(),
});

export const embeddingsRequestSchema = z.looseObject({
  model: modelIdText,
  input: z.union([
    z.string(),
    z.array(z.string()).min(1).max(2048),
    z.array(z.number().int()).min(1),
    z.array(z.array(z.number().int()).min(1)).min(1).max(2048),
  ]),
  encoding_format: z.enum(['float', 'base64']).optional(),
  dimensions: positiveInt.max(8192).optional(),
  user: z.string().optional(),
});

/** `messages[0].content` from zod's path array. */
function paramOf(path: PropertyKey[]): string | null {
  if (path.length === 0) return null;
  return path.map((part, i) => (typeof part === 'number' ? `[${part}]` : i === 0 ? String(part) : `.${String(part)}`)).join('');
}

function parse<T>(schema: z.ZodType, value: unknown): T {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidRequest('The request body must be a JSON object.', null, 'invalid_json');
  }
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return result.data as T;
  const issue = result.error.issues[0];
  const param = paramOf(issue.path);
  // Absent, whatever the field's kind (a missing enum or union is not an invalid value).
  const missing = issue.input === undefined && (issue.code === 'invalid_type' || issue.code === 'invalid_value' || issue.code === 'invalid_union');
  const message = missing ? `Missing required parameter: '${param}'.` : `Invalid value for '${param ?? 'body'}': ${issue.message}.`;
  throw invalidRequest(message, param, missing ? 'missing_required_parameter' : 'invalid_value');
}

export const parseChatRequest = (value: unknown) => parse<ChatRequest>(chatRequestSchema, value);
export const parseEmbeddingsRequest = (value: unknown) => parse<EmbeddingsRequest>(embeddingsRequestSchema, value);
