/**
 * A proxied call from start to row: tracking it from authentication on (a client that leaves is
 * logged at once), its one row in the request log, and the x-proxy-* headers that tell the
 * client what the proxy did. Every endpoint logs through here, so a call is logged once.
 */
import type { MiddlewareHandler } from 'hono';
import { clientClosed, ProxyError } from '../core/errors';
import type { Attempt, FailedAttempt } from '../routing/failover';
import type { AppContext, AppEnv, CallInfo } from '../http/context';
import type { ResolvedModel } from '../routing/models';
import { costNano, nanoToUsd } from '../pricing/catalog';
import { PROVIDERS } from '../providers';
import { writeRequestLog } from '../request-log/writer';
import { ZERO_USAGE, type Usage } from '../core/usage';
import type { CacheStatus, RequestRecord } from '../core/request-record';
import { evaluateCall } from '../evaluation/shadow';
import { evaluationSubject, type Evaluable } from '../evaluation/sampling';

export interface CallResult {
  status: number;
  error?: ProxyError | null;
  usage?: Usage;
  usageEstimated?: boolean;
  ttftMs?: number | null;
  cache?: CacheStatus;
  /** The answer as sent (JSON), for tenants that store content. */
  responseText?: string | null;
  /** The id under which the upstream keeps the answer, when it does. */
  responseId?: string | null;
}

/** Each of a call's stored request and answer is cut to this many characters. */
export const MAX_STORED_CHARS = 256 * 1024;

/** The prompt and answer to keep with the call's row: only when its tenant opted in. */
function storedContent(call: CallInfo, responseText: string | null | undefined): RequestRecord['content'] {
  if (call.requestText === null) return undefined;
  const response = responseText ?? null;
  return {
    request: call.requestText.slice(0, MAX_STORED_CHARS),
    response: response?.slice(0, MAX_STORED_CHARS) ?? null,
    truncated: call.requestText.length > MAX_STORED_CHARS || (response?.length ?? 0) > MAX_STORED_CHARS,
  };
}

/** A call's cost: its usage at its model's prices (those of its context length, its service tier and its region). */
/** Tokens used by a call, as the tpm bucket counts them. */
const tokensOf = (usage: Usage) => usage.promptTokens + usage.completionTokens;

export const costOfCall = (usage: Usage, resolved: ResolvedModel | null) => (resolved?.price ? costNano(usage, resolved.price) : 0);

/** The usage with the region of a provider whose every call is processed in one (an OpenAI data-residency endpoint). */
function withDeploymentRegion(usage: Usage, resolved: ResolvedModel | null, env: AppContext['env']): Usage {
  const region = resolved && !usage.region ? PROVIDERS[resolved.provider].dataResidencyRegion?.(env) : undefined;
  return region ? { ...usage, region } : usage;
}

export function callRecord(c: AppContext, result: CallResult): RequestRecord {
  const call = c.get('call');
  const tenant = c.get('tenant');
  const resolved = call.resolved;
  // Attempts that timed out were billed their prompt upstream: the row counts them, as an estimate.
  const timedOut = call.timedOutPromptTokens;
  const reported =
    timedOut > 0 ? { ...(result.usage ?? ZERO_USAGE), promptTokens: (result.usage?.promptTokens ?? 0) + timedOut } : (result.usage ?? ZERO_USAGE);
  const usage = withDeploymentRegion(reported, resolved, c.env);
  const cost = costOfCall(usage, resolved);
  // A response-cache hit costs nothing; what it would have cost is what it saved.
  const hit = result.cache === 'HIT';
  return {
    id: c.get('requestId'),
    ts: c.get('startedAt'),
    tenantId: tenant.tenantId,
    keyId: tenant.keyId,
    endpoint: call.endpoint,
    user: call.user,
    tags: call.tags,
    modelRequested: call.modelRequested,
    model: resolved?.id ?? null,
    provider: resolved?.provider ?? null,
    tier: resolved?.tier ?? null,
    routeReason: resolved?.reason ?? null,
    status: result.status,
    errorType: result.error?.code ?? result.error?.type ?? null,
    errorMessage: result.error?.message ?? null,
    usage,
    usageEstimated: (result.usageEstimated ?? false) || timedOut > 0,
    unpriced: resolved !== null && resolved.price === null && result.status < 400,
    costNano: hit ? 0 : cost,
    savedNano: hit ? cost : 0,
    latencyMs: Date.now() - c.get('startedAt'),
    ttftMs: result.ttftMs ?? null,
    stream: call.stream,
    cache: result.cache ?? 'BYPASS',
    attempts: call.attempts,
    failedAttempts: call.failedAttempts.map((f) => ({
      attempt: f.number,
      ts: f.startedAt,
      model: f.model.id,
      provider: f.model.provider,
      tier: f.model.tier,
      status: f.error.status,
      errorType: f.error.code ?? f.error.type,
      errorMessage: f.error.message,
      latencyMs: f.latencyMs,
    })),
    responseId: result.responseId ?? null,
    content: storedContent(call, result.responseText),
  };
}

/** withFailover's hooks for a call: its row names the latest attempt's model and number, and keeps the failed ones. */
export const attemptHooks = (call: CallInfo) => ({
  onAttempt(attempt: Attempt) {
    call.attempts = attempt.number;
    call.resolved = attempt.model;
  },
  onFailure(failed: FailedAttempt) {
    call.failedAttempts.push(failed);
    noteTimeout(call, failed.error);
  },
});

/** An attempt that timed out had reached the upstream, which bills the prompt it processed. */
export function noteTimeout(call: CallInfo, error: ProxyError): void {
  if (error.code === 'upstream_timeout') call.timedOutPromptTokens += call.promptTokens;
}

/**
 * Samples the call for shadow evaluation (evaluation/sampling.ts), whatever API it came in by:
 * `evaluable` gives the call in the internal form and reads its answer, and is asked only when
 * the call is sampled. Called once the call is routed and before the upstream, so that a streamed
 * answer is assembled for the judge; recordCall evaluates it once its row is written.
 */
export function sampleForEvaluation(c: AppContext, evaluable: () => Evaluable): void {
  c.get('call').evaluation = evaluationSubject(c.env, c.get('tenant').tenant, c.get('requestId'), evaluable, c.req.header('x-task') ?? null);
}

/**
 * The call's row, made and written; the call's hold on the budget gives way to the row's cost. A
 * call sampled for shadow evaluation is evaluated once its row is written: `written` then
 * settles when the evaluation has, and the caller's waitUntil covers both.
 */
export function recordCall(c: AppContext, result: CallResult): { record: RequestRecord; written: Promise<void> } {
  const record = callRecord(c, result);
  const call = c.get('call');
  // The call's holds give way to what its row bills: tokens (a timed-out attempt's prompt
  // included, a cache hit none) and cost.
  call.admission?.settle(record.cache === 'HIT' ? 0 : tokensOf(record.usage));
  call.admission?.settleCost(record.costNano);
  const written = writeRequestLog(c.env, record);
  const subject = call.evaluation;
  if (!subject) return { record, written };
  const answerJson = result.responseText ?? null;
  return { record, written: written.then(() => evaluateCall({ env: c.env, tenant: c.get('tenant'), record, subject, answerJson })) };
}

/** Logs the call after the response is sent; a call is logged once, whatever else tries. */
export function logCall(c: AppContext, result: CallResult): RequestRecord {
  const call = c.get('call');
  if (call.logged) return callRecord(c, result);
  call.logged = true;
  const { record, written } = recordCall(c, result);
  c.executionCtx.waitUntil(written);
  return record;
}

/**
 * Starts the call record of an authenticated /v1 request and watches for the client going
 * away (request.signal, with the `enable_request_signal` compatibility flag): the upstream is
 * cancelled and, unless the call is already logged or streaming (the metered stream logs its
 * own end), the row is written at once with status 499 and the prompt billed as estimated. A
 * Worker's pending work may be cancelled with its client, so the row cannot wait for it.
 */
export const trackCall: MiddlewareHandler<AppEnv> = async (c, next) => {
  const call: CallInfo = {
    endpoint: 'chat',
    user: null,
    tags: null,
    modelRequested: null,
    resolved: null,
    routed: null,
    stream: false,
    attempts: 0,
    failedAttempts: [],
    promptTokens: 0,
    timedOutPromptTokens: 0,
    reasoning: false,
    admission: null,
    controller: new AbortController(),
    logged: false,
    requestText: null,
    evaluation: null,
  };
  c.set('call', call);
  const signal = c.req.raw.signal;
  const onClientGone = () => {
    call.controller.abort(clientClosed());
    if (call.logged) return;
    logCall(c, { status: 499, error: clientClosed(), usage: { ...ZERO_USAGE, promptTokens: call.promptTokens }, usageEstimated: true });
  };
  // A client that left while the key was being checked gets the same treatment at once.
  if (signal.aborted) onClientGone();
  else signal.addEventListener('abort', onClientGone, { once: true });
  try {
    await next();
  } finally {
    signal.removeEventListener('abort', onClientGone);
  }
};

/** The x-proxy-* headers that tell the client what the proxy did. */
export function routingHeaders(call: CallInfo, cache?: CacheStatus): Record<string, string> {
  const resolved = call.resolved!;
  return {
    'x-proxy-model': resolved.id,
    'x-proxy-tier': resolved.tier,
    'x-proxy-route-reason': resolved.reason,
    ...(cache ? { 'x-proxy-cache': cache } : {}),
    ...(call.attempts > 0 ? { 'x-proxy-attempts': String(call.attempts) } : {}),
    ...(call.routed && call.routed.id !== resolved.id ? { 'x-proxy-fallback-from': call.routed.id } : {}),
  };
}

export const formatUsd = (nano: number) => nanoToUsd(nano).toFixed(9);
