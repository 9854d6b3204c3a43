/** The per-request state shared by the proxy's middleware and routes. */
import type { Context } from 'hono';
import type { Env } from './env';
import type { ProxyError } from './errors';
import type { ResolvedModel } from './models';
import { nanoToUsd, costNano } from './pricing';
import { writeRequestLog, type CacheStatus, type RequestRecord } from './request-log';
import type { TenantContext } from './tenants';
import { ZERO_USAGE, type Usage } from './usage';

/** What is known so far about the call being proxied; filled in as the route proceeds. */
export interface CallInfo {
  endpoint: RequestRecord['endpoint'];
  modelRequested: string | null;
  resolved: ResolvedModel | null;
  stream: boolean;
}

export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    startedAt: number;
    tenant: TenantContext;
    call: CallInfo;
    /** OpenAI's x-ratelimit-* headers, added to whatever response the call gets. */
    rateLimitHeaders: Record<string, string>;
  };
}

export type AppContext = Context<AppEnv>;

export interface CallResult {
  status: number;
  error?: ProxyError | null;
  usage?: Usage;
  usageEstimated?: boolean;
  ttftMs?: number | null;
  cache?: CacheStatus;
}

export const costOfCall = (usage: Usage, resolved: ResolvedModel | null) => (resolved?.price ? costNano(usage, resolved.price) : 0);

export function callRecord(c: AppContext, result: CallResult): RequestRecord {
  const call = c.get('call');
  const tenant = c.get('tenant');
  const resolved = call.resolved;
  const usage = result.usage ?? ZERO_USAGE;
  const cost = costOfCall(usage, resolved);
  // A response-cache hit costs nothing; what it would have cost is what it saved.
  const hit = result.cache === 'HIT';
  return {
    id: c.get('requestId'),
    ts: c.get('startedAt'),
    tenantId: tenant.tenantId,
    keyId: tenant.keyId,
    endpoint: call.endpoint,
    modelRequested: call.modelRequested,
    model: resolved?.id ?? null,
    provider: resolved?.provider ?? null,
    tier: resolved?.tier ?? null,
    routeReason: resolved?.reason ?? null,
    status: result.status,
    errorType: result.error?.code ?? result.error?.type ?? null,
    errorMessage: result.error?.message ?? null,
    usage,
    usageEstimated: result.usageEstimated ?? false,
    costNano: hit ? 0 : cost,
    savedNano: hit ? cost : 0,
    latencyMs: Date.now() - c.get('startedAt'),
    ttftMs: result.ttftMs ?? null,
    stream: call.stream,
    cache: result.cache ?? 'BYPASS',
  };
}

/** Logs the call after the response is sent. */
export function logCall(c: AppContext, result: CallResult): RequestRecord {
  const record = callRecord(c, result);
  c.executionCtx.waitUntil(writeRequestLog(c.env, record));
  return record;
}

/** The x-proxy-* headers that tell the client what the proxy did. */
export function routingHeaders(resolved: ResolvedModel, cache?: CacheStatus): Record<string, string> {
  return {
    'x-proxy-model': resolved.id,
    'x-proxy-tier': resolved.tier,
    'x-proxy-route-reason': resolved.reason,
    ...(cache ? { 'x-proxy-cache': cache } : {}),
  };
}

export const formatUsd = (nano: number) => nanoToUsd(nano).toFixed(9);
