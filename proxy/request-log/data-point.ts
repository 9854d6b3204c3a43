/** A call's row as an Analytics Engine data point: cheap at volume, sampled, kept three months. */
import type { RequestRecord } from '../core/request-record';

/**
 * Analytics Engine layout (documented in docs/ANALYTICS.md): the tenant is the index
 * (the sampling key); strings are blobs; numbers are doubles.
 */
export function toDataPoint(r: RequestRecord): AnalyticsEngineDataPoint {
  return {
    indexes: [r.tenantId],
    blobs: [
      r.tenantId,
      r.model ?? '',
      r.provider ?? '',
      r.tier ?? '',
      String(r.status),
      r.cache,
      r.endpoint,
      r.errorType ?? '',
      r.routeReason ?? '',
      r.keyId,
      r.id,
    ],
    doubles: [
      r.usage.promptTokens,
      r.usage.completionTokens,
      r.usage.cachedTokens,
      r.usage.cacheWriteTokens,
      r.costNano,
      r.savedNano,
      r.latencyMs,
      r.ttftMs ?? -1,
      r.stream ? 1 : 0,
      r.status,
      r.attempts,
      r.usage.reasoningTokens ?? 0,
    ],
  };
}
