/** Tenant API keys: generated from the CSPRNG, stored and looked up only as SHA-256 hashes. */
import { randomToken } from '../core/ids';

export const KEY_PREFIX = 'sk-proxy-';

export const generateApiKey = () => `${KEY_PREFIX}${randomToken(40)}`;

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

/** Every call hashes its key, so this stays a table lookup per byte. */
export async function sha256Hex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
  let hex = '';
  for (const byte of digest) hex += HEX[byte];
  return hex;
}

/** Compares two secrets in constant time: hashing first makes the lengths equal too. */
export async function secretsEqual(given: string, expected: string): Promise<boolean> {
  const encoder = new TextEncoder();
  const [a, b] = await Promise.all([crypto.subtle.digest('SHA-256', encoder.encode(given)), crypto.subtle.digest('SHA-256', encoder.encode(expected))]);
  return crypto.subtle.timingSafeEqual(a, b);
}

/** The token of an `Authorization: Bearer <token>` header, or null. */
export function bearerToken(request: Request): string | null {
  const header = request.headers.get('authorization');
  const match = header ? /^Bearer\s+(.+)$/i.exec(header.trim()) : null;
  return match ? match[1].trim() : null;
}

/** A tenant key as API clients send it: `Authorization: Bearer` (OpenAI's SDKs, Claude Code's auth token) or `x-api-key` (Anthropic's SDK). */
export function clientKey(request: Request): string | null {
  return bearerToken(request) ?? (request.headers.get('x-api-key')?.trim() || null);
}
