/**
 * The analytics API's types, derived from its schemas (schemas.ts): what the Worker serves and
 * the dashboard reads. Type-only imports, so the browser build takes no runtime code from here.
 */
import type { z } from '@hono/zod-openapi';
import type {
  BreakdownSchema,
  EndpointSchema,
  FilteredAnalyticsQuery,
  GroupBySchema,
  IntervalSchema,
  PointSchema,
  RequestAttemptSchema,
  RequestDetailSchema,
  RequestLogPageSchema,
  RequestLogRowSchema,
  RoutingQualitySchema,
  SpendSchema,
  StorageSchema,
  ArchiveCheckSchema,
  SummarySchema,
  TimeseriesSchema,
  UnpricedSchema,
} from './schemas';

export type Interval = z.infer<typeof IntervalSchema>;
/** The inbound API of a call: chat, embeddings, responses, messages or count_tokens. */
export type Endpoint = z.infer<typeof EndpointSchema>;
/** tenant, model, tier, provider, endpoint, user, key, or `tag:<key>`. */
export type GroupBy = z.infer<typeof GroupBySchema>;
/** What Analytics Engine can group by too: the dimensions, not a user, key or tag (D1 answers those). */
export type DimensionGroupBy = Exclude<GroupBy, 'user' | 'key' | `tag:${string}`>;
/** The `tag` filter, parsed: the calls whose tag `key` is `value`. */
export type TagFilter = NonNullable<z.output<typeof FilteredAnalyticsQuery>['tag']>;
export type Summary = z.infer<typeof SummarySchema>;
/** A summary of one group of a breakdown. */
export type GroupSummary = Breakdown['data'][number];
/** Largest spend first. */
export type Breakdown = z.infer<typeof BreakdownSchema>;
export type Point = z.infer<typeof PointSchema>;
/** Every bucket of the window in every series, zeros where nothing happened. */
export type Timeseries = z.infer<typeof TimeseriesSchema>;
export type Series = Timeseries['series'][number];
export type Spend = z.infer<typeof SpendSchema>;
/** Calls served unpriced in a window, and the models to price. */
export type Unpriced = z.infer<typeof UnpricedSchema>;
export type TenantSpend = Spend['data'][number];
/** D1's size against its limit, the archive and the overflow, with what needs attention. */
export type Storage = z.infer<typeof StorageSchema>;
export type ArchiveCheck = z.infer<typeof ArchiveCheckSchema>;
/** A row as the API serves it: ISO time, booleans, and USD beside the exact nano-USD. */
export type RequestLogRow = z.infer<typeof RequestLogRowSchema>;
/** Shadow evaluation's results per task and tier, agreement over time, and evaluation spend. */
export type RoutingQuality = z.infer<typeof RoutingQualitySchema>;
export type RoutingQualityRow = RoutingQuality['data'][number];
export type RequestLogPage = z.infer<typeof RequestLogPageSchema>;
/** An upstream attempt that failed before the call's last one (proxy/routing/failover.ts). */
export type RequestAttempt = z.infer<typeof RequestAttemptSchema>;
export type RequestDetail = z.infer<typeof RequestDetailSchema>;
/** A call's request body and answer, kept only for tenants that opted in (store_content). */
export type StoredContent = NonNullable<RequestDetail['content']>;

/** A row of the D1 `requests` table, as stored. */
export interface StoredRequestRow {
  id: string;
  ts: number;
  tenant_id: string;
  key_id: string;
  endpoint: Endpoint;
  /** NULL when the call named no end user, and for rows logged before migration 0017. */
  user: string | null;
  /** Canonical JSON of the call's tags; NULL when it had none. */
  tags: string | null;
  model_requested: string | null;
  model: string | null;
  provider: string | null;
  tier: string | null;
  route_reason: string | null;
  status: number;
  error_type: string | null;
  error_message: string | null;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  cache_write_tokens: number;
  /** Hidden reasoning tokens, a part of completion_tokens (0 for rows logged before migration 0012). */
  reasoning_tokens: number;
  usage_estimated: number;
  cost_nano: number;
  saved_nano: number;
  latency_ms: number;
  ttft_ms: number | null;
  stream: number;
  cache: string;
  /** Upstream attempts the call took (0: answered from the cache, or refused before any). */
  attempts: number;
  /** The id under which the upstream keeps the answer (a stored native Responses response), else null. */
  response_id: string | null;
  /** The service tier the upstream reports serving the call at, which set its rates (null before migration 0014). */
  service_tier: string | null;
  /** The one region the call was processed in (data residency), which costs an uplift; null: anywhere (and before migration 0022). */
  region: string | null;
}

/** A failed upstream attempt as request_attempts stores it (migrations/0007). */
export type StoredAttemptRow = Omit<RequestAttempt, 'ts'> & { ts: number; request_id: string; tenant_id: string };

/** A call's stored content as request_content keeps it (migrations/0008). */
export interface StoredContentRow {
  request: string;
  response: string | null;
  truncated: number;
}

/**
 * One line of an hourly archive object (analytics/archive.ts): a call's row with every column
 * as D1 stored it, its failed attempts and its stored content. A column a migration adds is
 * archived with no change here; the API still serves only the fields its schema names.
 */
export type ArchivedCall = StoredRequestRow & { failed_attempts: StoredAttemptRow[]; content: StoredContentRow | null };
