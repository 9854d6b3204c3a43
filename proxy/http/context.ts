/**
 * The state a request carries through Hono's middleware and the endpoints: the Worker's
 * bindings, the authenticated tenant, and what is known so far about the call being proxied.
 */
import type { Context } from 'hono';
import type { Tags } from '../core/attribution';
import type { Env } from '../core/env';
import type { EvaluationSubject } from '../evaluation/sampling';
import type { RequestRecord } from '../core/request-record';
import type { Admission } from '../limits/admission';
import type { FailedAttempt } from '../routing/failover';
import type { ResolvedModel } from '../routing/models';
import type { TenantContext } from '../tenants/schemas';

/** What is known so far about the call being proxied; filled in as the route proceeds. */
export interface CallInfo {
  endpoint: RequestRecord['endpoint'];
  /** The end user: x-proxy-user, else the body's user id (core/attribution.ts). */
  user: string | null;
  /** The x-proxy-tags of the call. */
  tags: Tags | null;
  modelRequested: string | null;
  /** The model of the current (finally: the last) upstream attempt. */
  resolved: ResolvedModel | null;
  /** The model the call was routed to, before any fallback. */
  routed: ResolvedModel | null;
  stream: boolean;
  /** Upstream attempts made (0: answered from the cache, or refused before any). */
  attempts: number;
  /** Attempts that failed and were followed by another; logged with the call. */
  failedAttempts: FailedAttempt[];
  /** Estimated prompt tokens, billed if the client goes away before the upstream answers. */
  promptTokens: number;
  /**
   * Prompt tokens of attempts that timed out after the upstream had the request: providers bill
   * the prompt they processed, so the call's row does too (estimated).
   */
  timedOutPromptTokens: number;
  /** The request asks for hidden reasoning (reasoning effort, extended thinking): an estimate of its output has a floor. */
  reasoning: boolean;
  /** The call's rate-limit reservation, once admitted. */
  admission: Admission | null;
  /** Aborted when the client goes away: cancels the upstream call. */
  controller: AbortController;
  /** The call's row is written, or is the metered stream's to write: it must not be written again. */
  logged: boolean;
  /** The request body, kept only for tenants that store content. */
  requestText: string | null;
  /** Set when the call is sampled for shadow evaluation (evaluation/): its answer is then assembled and judged after the response. */
  evaluation: EvaluationSubject | null;
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
