/**
 * Validating request bodies: zod schemas (objects loose, so fields the proxy does not know are
 * forwarded untouched and new API parameters work without a proxy release) turned into
 * OpenAI-shaped 400s. Each endpoint keeps its own schema beside it.
 */
import { z } from 'zod';
import { invalidRequest } from '../core/errors';

/**
 * A model id is echoed in response headers (x-proxy-model) and stored in the request log: it must
 * be printable ASCII without spaces, as every real model id is. A control character (NUL, CR/LF)
 * would make the response unbuildable after the upstream call was paid for; a non-ASCII one
 * would be mangled.
 */
export const modelIdText = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[\x21-\x7e]+$/, 'a model id is printable ASCII without spaces');

export const positiveInt = z.number().int().positive();

/** `messages[0].content` from zod's path array. */
function paramOf(path: PropertyKey[]): string | null {
  if (path.length === 0) return null;
  return path.map((part, i) => (typeof part === 'number' ? `[${part}]` : i === 0 ? String(part) : `.${String(part)}`)).join('');
}

/**
 * Validates a request body with `schema`; the first problem is a 400 naming the field
 * (`messages[0].content`), with OpenAI's missing_required_parameter / invalid_value codes.
 */
export function parseBody<T>(schema: z.ZodType, value: unknown): T {
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
