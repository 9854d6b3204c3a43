/**
 * What guards the admin token beyond comparing it: deployed, a token too short to resist
 * guessing is refused outright, and an address that keeps presenting wrong tokens is slowed
 * down before its next one is even compared.
 */
import type { Env } from '../core/env';
import { ProxyError } from '../core/errors';

/** The shortest ADMIN_TOKEN a deployment accepts (`openssl rand -hex 32` makes 64). */
export const MIN_ADMIN_TOKEN_CHARS = 32;

/**
 * Whether the Worker runs for local development: `ENVIRONMENT=development`, which `npm start`
 * and the test configuration set and a deployment never should. Its short, well-known tokens
 * (`dev-admin-token`) are accepted there only.
 */
export const isLocalDevelopment = (env: Env) => env.ENVIRONMENT === 'development';

let problemLogged = false;

/**
 * Why the configured ADMIN_TOKEN cannot be used, or null when it can (or is not set: the admin
 * API is then closed). Said once per isolate in the logs; /health and every admin call say it too.
 */
export function adminTokenProblem(env: Env): string | null {
  const token = env.ADMIN_TOKEN;
  if (!token || token.length >= MIN_ADMIN_TOKEN_CHARS || isLocalDevelopment(env)) return null;
  const problem = `ADMIN_TOKEN is shorter than ${MIN_ADMIN_TOKEN_CHARS} characters, so the admin API refuses it: set a longer one (openssl rand -hex 32 | npx wrangler secret put ADMIN_TOKEN).`;
  if (!problemLogged) console.error(problem);
  problemLogged = true;
  return problem;
}

/** The refusal of every admin call while the configured token is too short. */
export const weakAdminToken = (problem: string) => new ProxyError(503, problem, { type: 'server_error', code: 'admin_token_too_short' });

/** Wrong tokens one address may present in a window before it is made to wait. */
export const MAX_FAILED_ADMIN_LOGINS = 10;
/** The window, from the first wrong token: once it is over, the address starts afresh. */
export const FAILED_LOGIN_WINDOW_MS = 10 * 60_000;
/** Addresses remembered at most, so a flood of addresses cannot grow the isolate's memory without end. */
const MAX_TRACKED_ADDRESSES = 10_000;

interface Failures {
  count: number;
  since: number;
}

/**
 * Wrong admin tokens per client address (`cf-connecting-ip`), in this isolate's memory: each
 * isolate counts its own, so an attacker spread over many isolates gets MAX_FAILED_ADMIN_LOGINS
 * tries per window in each (against a token of 32 characters or more, still hopeless). Requests
 * arriving together are compared together, so a burst may get a few tries past the limit.
 */
const failures = new Map<string, Failures>();

/** Seconds the address must wait before its next token is compared; 0 when it may go on. */
export function adminLoginWait(address: string, now = Date.now()): number {
  const entry = failures.get(address);
  if (!entry) return 0;
  const endsAt = entry.since + FAILED_LOGIN_WINDOW_MS;
  if (now >= endsAt) {
    failures.delete(address);
    return 0;
  }
  return entry.count >= MAX_FAILED_ADMIN_LOGINS ? Math.ceil((endsAt - now) / 1000) : 0;
}

/** Counts a wrong token from the address. */
export function failedAdminLogin(address: string, now = Date.now()): void {
  const entry = failures.get(address);
  if (entry && now < entry.since + FAILED_LOGIN_WINDOW_MS) {
    entry.count++;
    return;
  }
  failures.delete(address);
  if (failures.size >= MAX_TRACKED_ADDRESSES) {
    for (const [known, { since }] of failures) if (now >= since + FAILED_LOGIN_WINDOW_MS) failures.delete(known);
    // Still full: the address tracked longest makes room (a Map iterates in insertion order).
    if (failures.size >= MAX_TRACKED_ADDRESSES) failures.delete(failures.keys().next().value!);
  }
  failures.set(address, { count: 1, since: now });
}

/** A right token clears the address's wrong ones: an admin who mistyped is not held to them. */
export function adminLoginSucceeded(address: string): void {
  failures.delete(address);
}

export const tooManyFailedLogins = (waitS: number) =>
  new ProxyError(429, `Too many wrong admin tokens from this address. Try again in ${waitS} s.`, {
    type: 'rate_limit_error',
    code: 'too_many_failed_logins',
    headers: { 'retry-after': String(waitS) },
  });
