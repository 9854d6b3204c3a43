/**
 * The record of one proxied call, written to D1 (exact, queryable) and Analytics Engine
 * (cheap at volume). Callers hand the write to ctx.waitUntil so the response never waits.
 */
import { noteSpend, spendStatement } from './budget';
import type { Env } from './env';
import type { Usage } from './usage';

export type CacheStatus = 'HIT' | 'MISS' | 'BYPASS';

export interface RequestRecord {
  id: string;
  ts: number;
  tenantId: string;
  keyId: string;
  endpoint: 'chat' | 'embeddings';
  modelRequested: string | null;
  model: string | null;
  provider: string | null;
  tier: string | null;
  routeReason: string | null;
  status: number;
  errorType: string | null;
  errorMessage: string | null;
  usage: Usage;
  usageEstimated: boolean;
  costNano: number;
  savedNano: number;
  latencyMs: number;
  ttftMs: number | null;
  stream: boolean;
  cache: CacheStatus;
  /** Upstream attempts made; the last one's outcome is this row's. */
  attempts: number;
  /** The attempts before the last, each of which failed. They cost nothing: no usage was billed. */
  failedAttempts: AttemptRecord[];
}

export interface AttemptRecord {
  attempt: number;
  ts: number;
  model: string;
  provider: string;
  tier: string;
  status: number;
  errorType: string | null;
  errorMessage: string;
  latencyMs: number;
}

// OR IGNORE: a retried write whose first attempt did land must not fail or duplicate.
const INSERT = `INSERT OR IGNORE INTO requests (
  id, ts, tenant_id, key_id, endpoint, model_requested, model, provider, tier, route_reason,
  status, error_type, error_message, prompt_tokens, completion_tokens, cached_tokens,
  cache_write_tokens, usage_estimated, cost_nano, saved_nano, latency_ms, ttft_ms, stream, cache, attempts
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

const INSERT_ATTEMPT = `INSERT OR IGNORE INTO request_attempts (
  request_id, attempt, ts, tenant_id, model, provider, tier, status, error_type, error_message, latency_ms
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

/** Error texts are kept short: they are for people, and a hostile upstream could send megabytes. */
const MAX_ERROR_CHARS = 1000;

const D1_ATTEMPTS = 3;

/**
 * Analytics Engine layout (documented in the README, "The request log"): the tenant is the index
 * (the sampling key); strings are blobs; numbers are doubles.
 */
export function toDataPoint(r: RequestRecord): AnalyticsEngineDataPoint {
  return {
    indexes: [r.tenantId],
    blobs: [r.tenantId, r.model ?? '', r.provider ?? '', r.tier ?? '', String(r.status), r.cache, r.endpoint, r.errorType ?? '', r.routeReason ?? '', r.keyId, r.id],
    doubles: [
      r.usage.promptTokens, r.usage.completionTokens, r.usage.cachedTokens, r.usage.cacheWriteTokens,
      r.costNano, r.savedNano, r.latencyMs, r.ttftMs ?? -1, r.stream ? 1 : 0, r.status, r.attempts,
    ],
  };
}

export async function writeRequestLog(env: Env, r: RequestRecord): Promise<void> {
  try {
    env.AE?.writeDataPoint(toDataPoint(r));
  } catch (error) {
    // Analytics Engine is the secondary copy: its failure must not cost us the D1 row.
    console.error('analytics engine write failed', r.id, error);
  }
  const statement = env.DB.prepare(INSERT).bind(
    r.id, r.ts, r.tenantId, r.keyId, r.endpoint, r.modelRequested, r.model, r.provider, r.tier, r.routeReason,
    r.status, r.errorType, r.errorMessage?.slice(0, MAX_ERROR_CHARS) ?? null, r.usage.promptTokens, r.usage.completionTokens,
    r.usage.cachedTokens, r.usage.cacheWriteTokens, r.usageEstimated ? 1 : 0, r.costNano, r.savedNano,
    r.latencyMs, r.ttftMs, r.stream ? 1 : 0, r.cache, r.attempts,
  );
  // The month-to-date spend moves in the same batch (one transaction) as the row it counts,
  // right after it (it counts only if the row was new), and the failed attempts go with them.
  const statements = [
    statement,
    ...(r.costNano > 0 ? [spendStatement(env.DB, r.tenantId, r.ts, r.costNano)] : []),
    ...r.failedAttempts.map((a) =>
      env.DB.prepare(INSERT_ATTEMPT).bind(r.id, a.attempt, a.ts, r.tenantId, a.model, a.provider, a.tier, a.status, a.errorType, a.errorMessage.slice(0, MAX_ERROR_CHARS), a.latencyMs),
    ),
  ];
  for (let attempt = 1; ; attempt++) {
    try {
      const [inserted] = await env.DB.batch(statements);
      if (inserted.meta.changes > 0) noteSpend(r.tenantId, r.ts, r.costNano);
      return;
    } catch (error) {
      if (attempt >= D1_ATTEMPTS) {
        console.error('request log write failed', r.id, error);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
    }
  }
}
