/**
 * The analytics API's response shapes: what the Worker serves and the dashboard reads. No
 * runtime code here, so the browser build can import it.
 */
export type Interval = 'minute' | 'hour' | 'day';
/** What reports may be grouped by. */
export type GroupBy = 'tenant' | 'model' | 'tier' | 'provider';

export interface Summary {
  from: string;
  to: string;
  requests: number;
  /** Calls that failed (status >= 400), the proxy's own refusals (limits, budget, bad requests) included. */
  errors: number;
  /** errors / requests (0 without calls). */
  error_rate: number;
  /** Calls that reached an upstream (at least one attempt): not response-cache hits, nor calls refused before any. */
  upstream_calls: number;
  /** Of those, the ones that failed (status >= 400), client disconnects (499) excepted: the upstreams' errors. */
  upstream_errors: number;
  /** upstream_errors / upstream_calls; null when no call reached an upstream. */
  upstream_error_rate: number | null;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  cost_usd: number;
  /** Exact cost, integer nano-USD: cost_usd is this / 1e9. */
  cost_nano: number;
  saved_usd: number;
  saved_nano: number;
  /** Share of upstream tokens (response-cache hits excluded) served by the cheap tier. */
  cheap_token_share: number | null;
  /** Hits over cacheable calls (hits + misses). */
  cache_hit_rate: number | null;
  /** Successful calls (status 200). */
  latency_ms: { p50: number | null; p95: number | null; p99: number | null };
  /** Streamed calls, to the first chunk. */
  ttft_ms: { p50: number | null; p95: number | null };
}

/** A summary of one group of a breakdown. */
export type GroupSummary = Omit<Summary, 'from' | 'to'> & { key: string };

export interface Breakdown {
  from: string;
  to: string;
  group_by: GroupBy;
  /** Largest spend first. */
  data: GroupSummary[];
}

export interface Point {
  ts: string;
  requests: number;
  errors: number;
  error_rate: number;
  /** As in the summary: calls that reached an upstream, those that failed, and their ratio (null without any). */
  upstream_calls: number;
  upstream_errors: number;
  upstream_error_rate: number | null;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  cost_usd: number;
  saved_usd: number;
  cache_hits: number;
  latency_p50: number | null;
  latency_p95: number | null;
  latency_p99: number | null;
  ttft_p50: number | null;
  ttft_p95: number | null;
}

export interface Series {
  key: string;
  points: Point[];
}

export interface Timeseries {
  interval: Interval;
  group_by: GroupBy | null;
  /** Every bucket of the window in every series, zeros where nothing happened. */
  series: Series[];
}

export interface TenantSpend {
  tenant_id: string;
  name: string;
  month: string;
  month_to_date_usd: number;
  monthly_budget_usd: number | null;
  /** Month to date over budget; null without a budget. */
  budget_used: number | null;
  /** Average spend per day over the last RUN_RATE_DAYS (or the month so far, if shorter). */
  daily_run_rate_usd: number;
  forecast_usd: number;
}

export interface Spend {
  month: string;
  data: TenantSpend[];
}

/** A row of the D1 `requests` table, as stored. */
export interface StoredRequestRow {
  id: string;
  ts: number;
  tenant_id: string;
  key_id: string;
  endpoint: string;
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
  usage_estimated: number;
  cost_nano: number;
  saved_nano: number;
  latency_ms: number;
  ttft_ms: number | null;
  stream: number;
  cache: string;
  /** Upstream attempts the call took (0: answered from the cache, or refused before any). */
  attempts: number;
}

/** A row as the API serves it: ISO time, booleans, and USD beside the exact nano-USD. */
export type RequestLogRow = Omit<StoredRequestRow, 'ts' | 'usage_estimated' | 'stream'> & {
  ts: string;
  usage_estimated: boolean;
  stream: boolean;
  cost_usd: number;
  saved_usd: number;
};

export interface RequestLogPage {
  data: RequestLogRow[];
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  next_cursor: string | null;
}

/** An upstream attempt that failed before the call's last one (proxy/failover.ts). */
export interface RequestAttempt {
  attempt: number;
  ts: string;
  model: string;
  provider: string;
  tier: string;
  status: number;
  error_type: string | null;
  error_message: string | null;
  latency_ms: number;
}

/** A call's request body and answer, kept only for tenants that opted in (store_content). */
export interface StoredContent {
  request: string;
  response: string | null;
  /** Either was cut to the size cap. */
  truncated: boolean;
}

export type RequestDetail = RequestLogRow & { failed_attempts: RequestAttempt[]; content: StoredContent | null };
