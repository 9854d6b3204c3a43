/**
 * The Worker's bindings and configuration. Written by hand rather than generated because
 * secrets and the optional AI binding are not in wrangler.jsonc; `npm run types` regenerates
 * the runtime types in worker-configuration.d.ts.
 */
import type { RequestRecord } from './request-record';

export interface Env {
  DB: D1Database;
  KV: KVNamespace;
  /** Analytics Engine dataset; optional so a misconfigured deploy still serves traffic. */
  AE?: AnalyticsEngineDataset;
  /** Workers AI; has no local emulation. */
  AI?: Ai;
  /**
   * The request log's R2 bucket: raw rows archived an hour at a time before they are purged
   * (analytics/archive.ts), and the overflow of rows a full D1 refused (request-log/overflow.ts).
   * Unbound, raw rows are purged at the retention without an archive and nothing overflows.
   */
  ARCHIVE?: R2Bucket;
  /** The request-log queue: the path rows take with REQUEST_LOG_SINK=queue, and the fallback when D1 refuses one. */
  LOG_QUEUE?: Queue<RequestRecord>;
  /**
   * Exact per-tenant rate limits, for tenants with rate_limit_store = durable-object. Typed with
   * the class bound to it, as Cloudflare's generated Env types do: core's one reference outward,
   * a type-only one to a module that imports nothing from core.
   */
  RATE_LIMITER: DurableObjectNamespace<import('../limits/stores').TenantRateLimiter>;

  ADMIN_TOKEN?: string;
  /** `development` for local runs (npm start, the tests): the admin API then takes a short token. Unset when deployed. */
  ENVIRONMENT?: string;
  OPENAI_API_KEY?: string;
  OPENAI_BASE_URL?: string;
  /** `native` (default): /v1/responses calls for openai/ models are forwarded; `translate`: the server lacks /responses, so they go through chat. */
  OPENAI_RESPONSES_API?: string;
  ANTHROPIC_API_KEY?: string;
  ANTHROPIC_BASE_URL?: string;
  CHEAP_MODEL?: string;
  EXPENSIVE_MODEL?: string;
  MAX_BODY_BYTES?: string;
  /** `true`: serve models with no price in force, their rows flagged `unpriced`; else they are refused (403 model_not_priced). */
  ALLOW_UNPRICED_MODELS?: string;
  /** With both set, analytics summaries and series come from the Analytics Engine SQL API. */
  CF_ACCOUNT_ID?: string;
  CF_API_TOKEN?: string;
  /** The Analytics Engine dataset (wrangler.jsonc) and, for tests or proxies, the SQL API's URL. */
  AE_DATASET?: string;
  AE_SQL_URL?: string;
  /** Upstream timeouts and retries (failover.ts): milliseconds, and retries per model. */
  UPSTREAM_CONNECT_TIMEOUT_MS?: string;
  UPSTREAM_FIRST_BYTE_TIMEOUT_MS?: string;
  UPSTREAM_MAX_RETRIES?: string;
  UPSTREAM_RETRY_BASE_MS?: string;
  /** Streams: the longest wait for the upstream's next part once the first has arrived. */
  UPSTREAM_IDLE_TIMEOUT_MS?: string;
  /** Streams whose client left: milliseconds the upstream is still metered for its usage before it is cancelled (0 to 25,000). */
  UPSTREAM_ABANDONED_METER_MS?: string;
  /** The chat model tried when the routed one keeps failing: provider/model, or `none`; default the other tier. */
  FALLBACK_MODEL?: string;
  /** The embeddings model tried when the requested one keeps failing: provider/model; unset: none. */
  FALLBACK_EMBEDDINGS_MODEL?: string;
  /** `d1` (default): each call's row is written to D1 directly; `queue`: through LOG_QUEUE, inserted in batches. */
  REQUEST_LOG_SINK?: string;
  /** Origins (comma-separated, or `*`) allowed to call /v1/* and /admin/* from a browser; unset: none. */
  CORS_ALLOWED_ORIGINS?: string;
  ADMIN_CORS_ALLOWED_ORIGINS?: string;
  /** Days of raw request-log rows to keep in D1; older ones live on in the rollups (and, with ARCHIVE, in R2). */
  RETENTION_DAYS?: string;
  /** Days of daily per-user, per-key and per-tag rollups to keep (default 400); never less than the raw rows'. */
  ATTRIBUTE_RETENTION_DAYS?: string;
  /** The D1 database's size limit in bytes (10 GB on Workers Paid): /health warns from 80% of it. */
  D1_MAX_BYTES?: string;
  /** Operator-wide alerts (docs/ALERTS.md): a webhook that receives every tenant's budget alerts and the upstream alerts. */
  ALERT_WEBHOOK_URL?: string;
  /** Upstream alerts: error rate (0..1) and p95 latency (ms) of a provider/model over the last window above which the cron alerts; unset: none. */
  ALERT_ERROR_RATE?: string;
  ALERT_P95_MS?: string;
  /** The proxy's public origin (https://ai.example.com), for absolute dashboard links in alerts. */
  PUBLIC_URL?: string;
  /** Shadow evaluation's judge (provider/model); default the tenant's expensive tier. */
  JUDGE_MODEL?: string;
  /** Shadow evaluation's monthly spend cap in USD, all tenants together; unset: no cap. */
  EVAL_BUDGET_USD?: string;
  /** `true`: tenants may include calls sent with `store: false` in shadow evaluation (shadow_eval_include: unstored). */
  EVAL_ALLOW_UNSTORED?: string;
  /** Mock provider: milliseconds before the first token, and between streamed chunks. */
  MOCK_LATENCY_MS?: string;
  MOCK_CHUNK_DELAY_MS?: string;
  /** Mock provider: fraction (0..1) of calls that fail with a 503, chosen by prompt hash. */
  MOCK_FAILURE_RATE?: string;
}
