/**
 * Who a call is for and what it is part of, so spend can be broken down per end user and per
 * tag: the rules for the `x-proxy-user` and `x-proxy-tags` headers and for the user ids that
 * API bodies carry (Chat's and Embeddings' `user`, Responses' `user` / `safety_identifier`,
 * Anthropic's `metadata.user_id`). In core because the request path, the request log and the
 * analytics API (which validates tag filters) all read the same rules.
 *
 * Limits: a user is at most MAX_USER_CHARS characters (OpenAI's cap on `user`, so the id the
 * proxy stores is the one it can pass on); at most MAX_TAGS tags, keys TAG_KEY_PATTERN, values
 * MAX_TAG_VALUE_CHARS printable ASCII characters without a comma. A header is the operator's own
 * and is refused when it breaks them (400 naming it); a body's user id is the end user's
 * application's, so it is cleaned up instead (control characters dropped, cut to length).
 */
import { invalidRequest } from './errors';

export const MAX_USER_CHARS = 64;
const MAX_TAGS = 10;
export const MAX_TAG_KEY_CHARS = 32;
export const MAX_TAG_VALUE_CHARS = 64;
export const TAG_KEY_PATTERN = new RegExp(`^[a-z0-9_.-]{1,${MAX_TAG_KEY_CHARS}}$`);
/** Printable ASCII without a comma (the header's separator). */
export const TAG_VALUE_PATTERN = new RegExp(`^[\\x20-\\x2b\\x2d-\\x7e]{1,${MAX_TAG_VALUE_CHARS}}$`);
/** Printable ASCII: what an HTTP header can carry reliably. */
const HEADER_USER_PATTERN = new RegExp(`^[\\x20-\\x7e]{1,${MAX_USER_CHARS}}$`);

/** A call's tags: key → value, at most MAX_TAGS. */
export type Tags = Record<string, string>;

/** Control, format, private-use and unassigned characters, and lone surrogates. */
const UNPRINTABLE = /\p{C}/gu;

/** A user id from a request body, cleaned up: unprintable characters dropped, trimmed, cut to MAX_USER_CHARS characters; null when nothing is left. */
export function bodyUser(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const cleaned = Array.from(value.replace(UNPRINTABLE, '').trim()).slice(0, MAX_USER_CHARS).join('').trim();
  return cleaned === '' ? null : cleaned;
}

/** Older Claude Code versions' user_id: `user_<device hash>_account_<account uuid, or nothing>_session_<session uuid>`. */
const CLAUDE_CODE_LEGACY_ID = /^user_([0-9a-f]+)_account_([0-9a-f-]*)_session_[0-9a-f-]+$/;

/**
 * The end user of an Anthropic `metadata.user_id`. Claude Code sends JSON
 * (`{"device_id","account_uuid","session_id"}`; older versions the legacy text above): its stable
 * account id, else its device id, so that one person stays one user across sessions. The session
 * id never is one: a JSON object with neither id names no user. Anything else is the id itself.
 */
export function anthropicUser(userId: string | null | undefined): string | null {
  if (!userId) return null;
  const legacy = CLAUDE_CODE_LEGACY_ID.exec(userId);
  if (legacy) return bodyUser(legacy[2] || legacy[1]);
  let parsed: unknown;
  try {
    parsed = userId.trimStart().startsWith('{') ? JSON.parse(userId) : undefined;
  } catch {
    // Not JSON after all: the value itself.
  }
  if (typeof parsed !== 'object' || parsed === null) return bodyUser(userId);
  const ids = parsed as { account_uuid?: unknown; device_id?: unknown };
  return bodyUser(ids.account_uuid) ?? bodyUser(ids.device_id);
}

/** The `x-proxy-user` header: null when absent or blank; a 400 naming it when it is too long or not printable ASCII. */
export function headerUser(header: string | null | undefined): string | null {
  const value = header?.trim() ?? '';
  if (value === '') return null;
  if (!HEADER_USER_PATTERN.test(value))
    throw invalidRequest(`x-proxy-user must be at most ${MAX_USER_CHARS} printable ASCII characters.`, 'x-proxy-user', 'invalid_value');
  return value;
}

const badTags = (why: string) =>
  invalidRequest(
    `x-proxy-tags ${why} It takes up to ${MAX_TAGS} key=value pairs separated by commas: team=search,feature=rag.`,
    'x-proxy-tags',
    'invalid_value',
  );

/**
 * The `x-proxy-tags` header (`team=search,feature=rag`): null when absent or blank. Each pair is
 * trimmed, blank items are skipped; a key may appear once. Anything else that breaks the limits
 * is a 400 naming the header.
 */
export function parseTags(header: string | null | undefined): Tags | null {
  const items = (header ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  if (items.length === 0) return null;
  if (items.length > MAX_TAGS) throw badTags(`has ${items.length} pairs, more than ${MAX_TAGS}.`);
  // A Map, then fromEntries: a key like `__proto__` stays a tag, not the object's prototype.
  const tags = new Map<string, string>();
  for (const item of items) {
    const equals = item.indexOf('=');
    if (equals < 0) throw badTags(`has \`${item.slice(0, 100)}\`, which is not a key=value pair.`);
    const key = item.slice(0, equals).trim();
    const value = item.slice(equals + 1).trim();
    if (!TAG_KEY_PATTERN.test(key))
      throw badTags(`has the key \`${key.slice(0, 100)}\`: keys are 1 to ${MAX_TAG_KEY_CHARS} characters of a-z, 0-9, _ . and -.`);
    if (!TAG_VALUE_PATTERN.test(value)) throw badTags(`has a bad value for \`${key}\`: values are 1 to ${MAX_TAG_VALUE_CHARS} printable ASCII characters.`);
    if (tags.has(key)) throw badTags(`names \`${key}\` twice.`);
    tags.set(key, value);
  }
  return Object.fromEntries([...tags].sort(([a], [b]) => (a < b ? -1 : 1)));
}

/**
 * Tags as canonical JSON: keys in code-unit order, whatever order they came in (an object would
 * put integer-like keys first), so equal tags are equal text. Null for no tags.
 */
export function tagsJson(tags: Tags | null | undefined): string | null {
  if (!tags) return null;
  const keys = Object.keys(tags).sort();
  if (keys.length === 0) return null;
  return `{${keys.map((key) => `${JSON.stringify(key)}:${JSON.stringify(tags[key])}`).join(',')}}`;
}

/** The JSON path of a tag's value (for SQLite's json_extract); the key must be a valid tag key, so the path needs no escaping. */
export function tagPath(key: string): string {
  if (!TAG_KEY_PATTERN.test(key)) throw new Error(`not a tag key: ${key.slice(0, 100)}`);
  return `$."${key}"`;
}
