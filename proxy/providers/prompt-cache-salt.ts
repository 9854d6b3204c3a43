/**
 * Prompt-cache isolation: the salt of a tenant whose `prompt_cache` is `isolated`, and where a
 * prompt takes it.
 *
 * Why: providers cache prompt prefixes per organization (OpenAI) or workspace (Anthropic), and
 * the proxy calls them with one key for all its tenants. So a tenant whose call reports
 * cached_tokens for a long prompt has learnt that some tenant sent that same prefix in the last
 * minutes: a cross-tenant oracle. An isolated tenant's prompts begin with its salt, put where
 * each provider's prompt begins (each provider module says where), so every prefix the provider
 * caches for it, and can serve from its cache, starts with that salt. Another tenant would have
 * to send the salt to share one, and cannot know it: it is 96 random bits of the tenant's own,
 * made when the tenant is created (migration 0016 gave existing tenants theirs) and kept in D1,
 * derived from nothing, so seeing it (the tenant does: Responses echo `instructions`) tells
 * nothing about any other tenant's. It is stable, so the isolated tenant still shares its cache
 * with itself.
 *
 * Cost: the salt reads `prompt-cache-scope: ` and 16 base64url characters: 16 tokens on
 * average in OpenAI's o200k and cl100k encodings, 22 at most, and a line break (or about 4
 * tokens more when it needs a message of its own). The upstream bills them as input and reports
 * them in its usage, which is what the proxy meters and prices.
 */
import { ProxyError } from '../core/errors';
import type { TenantContext } from '../tenants/schemas';
import type { ChatRequest } from './types';

const SALT_LABEL = 'prompt-cache-scope: ';
/** 96 bits: far beyond guessing, one upstream call per guess, and short in tokens. */
const SALT_BYTES = 12;
/** How D1 keeps a salt: its bytes in lowercase hex, as migration 0016's `lower(hex(randomblob(12)))` makes them too. */
const STORED_SALT = new RegExp(`^(?:[0-9a-f]{2}){${SALT_BYTES},}$`);

/** A new tenant's salt, as D1 keeps it. */
export function newPromptCacheSalt(): string {
  let hex = '';
  for (const byte of crypto.getRandomValues(new Uint8Array(SALT_BYTES))) hex += byte.toString(16).padStart(2, '0');
  return hex;
}

const isStoredSalt = (value: unknown): value is string => typeof value === 'string' && STORED_SALT.test(value);

/** The salt's bytes in base64url: 16 characters for 12 bytes, where hex would cost about 3 tokens more. */
function base64Url(hex: string): string {
  let binary = '';
  for (let i = 0; i < hex.length; i += 2) binary += String.fromCharCode(parseInt(hex.slice(i, i + 2), 16));
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * The salt of the calling tenant, or undefined when its prompts share the cache (the default).
 * An isolated tenant without a salt (a row whose salt was cleared by hand) is refused rather
 * than served unsalted.
 */
export function promptCacheSalt(caller: Pick<TenantContext, 'tenantId' | 'tenant' | 'promptCacheSalt'>): string | undefined {
  if (caller.tenant.prompt_cache !== 'isolated') return undefined;
  if (!isStoredSalt(caller.promptCacheSalt)) {
    console.error(`prompt cache: tenant ${caller.tenantId} is isolated but has no valid prompt_cache_salt in D1; its calls are refused`);
    throw new ProxyError(
      500,
      "This tenant's prompt cache is isolated, but the proxy has no salt for it, so its calls are refused until the operator sets one.",
      {
        type: 'server_error',
        code: 'prompt_cache_salt_missing',
      },
    );
  }
  return `${SALT_LABEL}${base64Url(caller.promptCacheSalt)}`;
}

/** A text with the salt before it, or the salt alone when there is no text. */
export const saltedText = (salt: string, text: unknown): string => (typeof text === 'string' && text !== '' ? `${salt}\n\n${text}` : salt);

/** The salt as a text block (OpenAI's content parts and Anthropic's blocks alike). */
export const saltBlock = (salt: string) => ({ type: 'text' as const, text: salt });

/**
 * A chat request whose prompt begins with the salt: in its leading system (or developer)
 * message, else in one of its own put first. Merging keeps one leading instruction message,
 * which some OpenAI-compatible servers' chat templates require; tools are rendered after it.
 */
export function saltedChatRequest(body: ChatRequest, salt: string | undefined): ChatRequest {
  if (!salt) return body;
  const [first, ...rest] = body.messages;
  if (first && (first.role === 'system' || first.role === 'developer')) {
    if (typeof first.content === 'string' || first.content == null)
      return { ...body, messages: [{ ...first, content: saltedText(salt, first.content) }, ...rest] };
    if (Array.isArray(first.content)) return { ...body, messages: [{ ...first, content: [saltBlock(salt), ...first.content] }, ...rest] };
  }
  return { ...body, messages: [{ role: 'system', content: salt }, ...body.messages] };
}
