/** A call's row as an Analytics Engine data point: cheap at volume, sampled, kept three months. */
import { tagsJson } from '../core/attribution';
import type { RequestRecord } from '../core/request-record';

/**
 * Analytics Engine layout (documented in docs/ANALYTICS.md): the tenant is the index
 * (the sampling key); strings are blobs; numbers are doubles. A point holds at most 20 blobs of
 * 16 KB in all: the user (at most 64 characters) and the tags (at most 10 short pairs, about 1 KB)
 * fit with room to spare.
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
      r.user ?? '',
      tagsJson(r.tags) ?? '',
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
