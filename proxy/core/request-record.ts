/**
 * The one row every proxied call produces, whatever its API or outcome: what the request log
 * writes (D1, the queue, Analytics Engine), what analytics reads and what the bill is made of.
 * Kept in core so that the Env type (the queue's message type) depends on nothing above it.
 */
import type { Tags } from './attribution';
import type { Usage } from './usage';

export type CacheStatus = 'HIT' | 'MISS' | 'BYPASS';

export interface RequestRecord {
  id: string;
  ts: number;
  tenantId: string;
  keyId: string;
  /** The inbound API: one of the proxy's endpoints. */
  endpoint: 'chat' | 'embeddings' | 'responses' | 'messages' | 'count_tokens';
  /** The end user the call was made for (core/attribution.ts); absent from records queued before there was one. */
  user?: string | null;
  /** The call's `x-proxy-tags`; absent likewise. */
  tags?: Tags | null;
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
  /** Served with no price in force (ALLOW_UNPRICED_MODELS): its cost is 0 because nobody could price it, not because it was free. */
  unpriced?: boolean;
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
  /**
   * The id under which the upstream keeps the answer (a Responses response stored at OpenAI):
   * the row is what says whose it is and which model made it (endpoints/responses/store.ts).
   */
  responseId?: string | null;
  /** The prompt and answer, only for tenants that opted in (store_content). */
  content?: { request: string; response: string | null; truncated: boolean };
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
