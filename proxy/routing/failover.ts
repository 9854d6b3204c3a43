/**
 * Upstream calls that survive a bad moment: each attempt under a timeout, retries with
 * exponential backoff and jitter on rate limits, server errors and timeouts (honouring the
 * upstream's retry-after), then the next candidate model (the fallback). Nothing here ever
 * retries once bytes have reached the client: a route's attempt ends when the upstream has
 * answered (a complete response, or a stream's first part), before the route responds.
 */
import type { Env } from '../core/env';
import { clientClosed, ProxyError, toProxyError } from '../core/errors';
import { type ResolvedModel, resolveModel, type Tiers } from './models';
import { rangeVar } from '../core/config';

export interface FailoverPolicy {
  /** Streams: until the upstream's response headers (Workers' fetch shows nothing earlier). */
  connectTimeoutMs: number;
  /** Until the first byte of the answer: a stream's first part, or a non-streamed response. */
  firstByteTimeoutMs: number;
  /** Streams, after the first part: the longest wait for the next one (metered-stream.ts). */
  idleTimeoutMs: number;
  /**
   * Streams whose client left: how long the upstream is still read for the usage it will report
   * (the bill), before it is cancelled and the output estimated. 0: cancelled at once.
   */
  abandonedMeterMs: number;
  /** Retries of one model after its first attempt. */
  maxRetries: number;
  /** The first backoff; each retry doubles it. */
  retryBaseMs: number;
  /** A longer retry-after is not waited for: the next model is tried instead. */
  maxRetryAfterMs: number;
}

export const DEFAULT_POLICY: FailoverPolicy = {
  connectTimeoutMs: 10_000,
  firstByteTimeoutMs: 120_000,
  idleTimeoutMs: 60_000,
  abandonedMeterMs: 20_000,
  maxRetries: 2,
  retryBaseMs: 250,
  maxRetryAfterMs: 10_000,
};

/**
 * Most retries of one model: more only delays the answer (the backoff doubles each time), and
 * keeps a call's record of failed attempts small enough for a queue message.
 */
const MAX_RETRIES = 10;

/** The policy configured; a timeout or backoff must be positive, retries 0 to MAX_RETRIES (else the default). */
export function failoverPolicy(env: Env): FailoverPolicy {
  return {
    connectTimeoutMs: rangeVar('UPSTREAM_CONNECT_TIMEOUT_MS', env.UPSTREAM_CONNECT_TIMEOUT_MS, DEFAULT_POLICY.connectTimeoutMs, 1),
    firstByteTimeoutMs: rangeVar('UPSTREAM_FIRST_BYTE_TIMEOUT_MS', env.UPSTREAM_FIRST_BYTE_TIMEOUT_MS, DEFAULT_POLICY.firstByteTimeoutMs, 1),
    idleTimeoutMs: rangeVar('UPSTREAM_IDLE_TIMEOUT_MS', env.UPSTREAM_IDLE_TIMEOUT_MS, DEFAULT_POLICY.idleTimeoutMs, 1),
    // At most 25 s: a Worker's work after its client left is cut off 30 s later.
    abandonedMeterMs: rangeVar('UPSTREAM_ABANDONED_METER_MS', env.UPSTREAM_ABANDONED_METER_MS, DEFAULT_POLICY.abandonedMeterMs, 0, 25_000),
    maxRetries: Math.floor(rangeVar('UPSTREAM_MAX_RETRIES', env.UPSTREAM_MAX_RETRIES, DEFAULT_POLICY.maxRetries, 0, MAX_RETRIES)),
    retryBaseMs: rangeVar('UPSTREAM_RETRY_BASE_MS', env.UPSTREAM_RETRY_BASE_MS, DEFAULT_POLICY.retryBaseMs, 1),
    maxRetryAfterMs: DEFAULT_POLICY.maxRetryAfterMs,
  };
}

/** `name` as the fallback of `primary`; null when it is the same model, or not one this proxy can serve for `kind`. */
function fallbackModel(env: Env, tiers: Tiers, primary: ResolvedModel, name: string, kind: 'chat' | 'embeddings'): ResolvedModel | null {
  let fallback: ResolvedModel;
  try {
    fallback = resolveModel(env, tiers, name, kind);
  } catch {
    return null;
  }
  return fallback.id === primary.id ? null : { ...fallback, reason: `fallback:${primary.id}` };
}

/**
 * The model to try when a chat call's own model keeps failing: FALLBACK_MODEL when set (`none`
 * turns fallback off), else the other tier's model. Null when there is none to try, or it is
 * the same model, or its provider is not configured here.
 */
export function fallbackFor(env: Env, tiers: Tiers, primary: ResolvedModel): ResolvedModel | null {
  const setting = env.FALLBACK_MODEL?.trim();
  if (setting === 'none') return null;
  return fallbackModel(env, tiers, primary, setting || (primary.tier === 'cheap' ? 'expensive' : 'cheap'), 'chat');
}

/** The model to try when an embeddings call's own model keeps failing: FALLBACK_EMBEDDINGS_MODEL, or none when unset (the tiers are chat models). */
export function embeddingsFallbackFor(env: Env, tiers: Tiers, primary: ResolvedModel): ResolvedModel | null {
  const setting = env.FALLBACK_EMBEDDINGS_MODEL?.trim();
  return setting && setting !== 'none' ? fallbackModel(env, tiers, primary, setting, 'embeddings') : null;
}

/** One try of one model. */
export interface Attempt {
  /** 1-based, counted across models. */
  number: number;
  model: ResolvedModel;
  /** Aborted when the attempt times out or the client goes away: pass it to the upstream fetch. */
  signal: AbortSignal;
  /** `work`, unless `ms` pass first: then the attempt is aborted and fails with a 504. */
  within<T>(ms: number, work: Promise<T>): Promise<T>;
}

/** An attempt that failed and was followed by another. */
export interface FailedAttempt {
  number: number;
  model: ResolvedModel;
  startedAt: number;
  latencyMs: number;
  error: ProxyError;
}

/** Upstream failures another try may cure: rate limits, server errors, overload, timeouts, unreachable. */
const RETRYABLE_STATUS = new Set([429, 500, 502, 503, 504, 529]);

function nextStep(error: ProxyError): 'retry' | 'fallback' | 'stop' {
  if (error.status === 499) return 'stop';
  // Another try with the same credentials fails the same way; another provider may not.
  if (error.code === 'upstream_auth_failed' || error.code === 'provider_not_configured') return 'fallback';
  const fromUpstream = error.type === 'upstream_error' || error.type === 'rate_limit_error';
  return fromUpstream && RETRYABLE_STATUS.has(error.status) ? 'retry' : 'stop';
}

/** The wait the upstream asked for (retry-after-ms, or retry-after in seconds or as an HTTP date), if any. */
export function requestedWaitMs(headers: Record<string, string>, now = Date.now()): number | null {
  const ms = Number(headers['retry-after-ms']);
  if (headers['retry-after-ms'] !== undefined && Number.isFinite(ms) && ms >= 0) return ms;
  const value = headers['retry-after'];
  if (value === undefined) return null;
  const seconds = Number(value);
  if (value.trim() !== '' && Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

/**
 * How long to wait before retry number `retry` (1-based), or null to stop retrying this model:
 * the upstream's own retry-after when it gives one (unless longer than the policy allows),
 * else exponential backoff with equal jitter (half fixed, half random), so that many clients
 * failing together do not come back together.
 */
export function backoffMs(error: ProxyError, retry: number, policy: FailoverPolicy, random = Math.random): number | null {
  const requested = requestedWaitMs(error.headers);
  if (requested !== null) return requested <= policy.maxRetryAfterMs ? requested : null;
  const ceiling = policy.retryBaseMs * 2 ** (retry - 1);
  return ceiling / 2 + random() * (ceiling / 2);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(clientClosed());
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(clientClosed());
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Starts an attempt. `release` unhooks it from the client's signal once it has failed: only the
 * attempt that answers must still be cancelled if the client leaves (its stream is being read).
 */
function startAttempt(number: number, model: ResolvedModel, clientSignal: AbortSignal): Attempt & { release(): void } {
  // The attempt's own signal, aborted by its timeout or by the client going away.
  const controller = new AbortController();
  const onClientGone = () => controller.abort(clientSignal.reason);
  clientSignal.addEventListener('abort', onClientGone, { once: true });
  return {
    number,
    release: () => clientSignal.removeEventListener('abort', onClientGone),
    model,
    signal: controller.signal,
    within<T>(ms: number, work: Promise<T>): Promise<T> {
      let timer = 0;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const error = new ProxyError(504, `The ${model.provider} upstream did not answer within ${ms} ms.`, {
            type: 'upstream_error',
            code: 'upstream_timeout',
          });
          controller.abort(error);
          reject(error);
        }, ms);
      });
      return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
    },
  };
}

/**
 * Runs `run` for the first model, retrying it as the policy allows, then for each later
 * candidate in turn, until one succeeds. `onAttempt` hears of every attempt as it starts (so a
 * failure is logged against the right model and number), `onFailure` of every failed attempt
 * that another follows. The last failure is thrown.
 */
export async function withFailover<T>(
  candidates: ResolvedModel[],
  policy: FailoverPolicy,
  clientSignal: AbortSignal,
  run: (attempt: Attempt) => Promise<T>,
  hooks: { onAttempt(attempt: Attempt): void; onFailure(failed: FailedAttempt): void },
): Promise<T> {
  let number = 0;
  for (const [index, model] of candidates.entries()) {
    for (let retry = 0; ; retry++) {
      // The client's row is written when it leaves: no attempt is started for it after that.
      if (clientSignal.aborted) throw clientClosed();
      const attempt = startAttempt(++number, model, clientSignal);
      hooks.onAttempt(attempt);
      const startedAt = Date.now();
      try {
        const result = await run(attempt);
        // A provider that finished regardless (one that cannot be cancelled) answers no one.
        if (clientSignal.aborted) throw clientClosed();
        return result;
      } catch (thrown) {
        attempt.release();
        if (clientSignal.aborted) throw clientClosed();
        const error = toProxyError(thrown);
        const step = nextStep(error);
        if (step === 'stop') throw error;
        const wait = step === 'retry' && retry < policy.maxRetries ? backoffMs(error, retry + 1, policy) : null;
        if (wait === null && index === candidates.length - 1) throw error;
        hooks.onFailure({ number, model, startedAt, latencyMs: Date.now() - startedAt, error });
        if (wait === null) break;
        await sleep(wait, clientSignal);
      }
    }
  }
  throw new Error('withFailover needs at least one candidate');
}
