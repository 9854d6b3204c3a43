-- The inbound API as a dimension of the reports, and reasoning tokens as a figure.
--
-- A request-log row's `endpoint` is one of chat, embeddings, responses, messages, count_tokens
-- (analytics/endpoints.ts). Reasoning tokens are the hidden reasoning of a call: a part of its
-- completion tokens (as OpenAI counts them), billed once, as output. Rows logged before this
-- migration read 0 for them, which is what they had: the proxy did not record any.
ALTER TABLE requests ADD COLUMN reasoning_tokens INTEGER NOT NULL DEFAULT 0;

-- The rollups keep `endpoint` as a fourth dimension column (after tenant_id, model and tier) and
-- sum reasoning_tokens. Three projections keep it (analytics/aggregate.ts):
--
--   dims                    keeps                      serves
--   endpoint                endpoint                   group_by=endpoint, all tenants
--   tenant+endpoint         tenant_id, endpoint        one tenant by endpoint
--   tenant+model+endpoint   tenant_id, model, endpoint the finance CSV (per day, tenant, model, endpoint)
--
-- Every other projection holds '*' in it. The key gains the column, so the four tables are
-- rebuilt (SQLite cannot change a primary key) with every row they had, endpoint '*'.
CREATE TABLE rollup_hourly_0012 (
  dims               TEXT NOT NULL,          -- the projection (see 0006 and above)
  bucket_start       INTEGER NOT NULL,       -- epoch ms, start of the UTC hour
  tenant_id          TEXT NOT NULL,          -- '*' when not kept
  model              TEXT NOT NULL,          -- '*' when not kept; '' for calls refused before a model was chosen
  tier               TEXT NOT NULL,          -- likewise
  endpoint           TEXT NOT NULL,          -- '*' when not kept; '' when not known (see the backfill below)
  requests           INTEGER NOT NULL,
  errors             INTEGER NOT NULL,       -- status >= 400
  upstream_calls     INTEGER NOT NULL DEFAULT 0, -- see 0011
  upstream_errors    INTEGER NOT NULL DEFAULT 0,
  cache_hits         INTEGER NOT NULL,
  cache_misses       INTEGER NOT NULL,
  prompt_tokens      INTEGER NOT NULL,
  completion_tokens  INTEGER NOT NULL,
  cached_tokens      INTEGER NOT NULL,
  cache_write_tokens INTEGER NOT NULL,
  reasoning_tokens   INTEGER NOT NULL DEFAULT 0, -- a part of completion_tokens
  cheap_tokens       INTEGER NOT NULL,       -- upstream tokens (no response-cache hits) of the cheap tier
  tiered_tokens      INTEGER NOT NULL,       -- upstream tokens of either tier
  cost_nano          INTEGER NOT NULL,
  saved_nano         INTEGER NOT NULL,
  latency_p50        INTEGER,                -- successful calls (status 200): bucket index; NULL when none
  latency_p95        INTEGER,
  latency_p99        INTEGER,
  ttft_p50           INTEGER,                -- streamed calls with a first chunk
  ttft_p95           INTEGER,
  ttft_p99           INTEGER,
  PRIMARY KEY (dims, bucket_start, tenant_id, model, tier, endpoint)
);
INSERT INTO rollup_hourly_0012 (dims, bucket_start, tenant_id, model, tier, endpoint, requests, errors, upstream_calls, upstream_errors,
  cache_hits, cache_misses, prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens, cheap_tokens, tiered_tokens,
  cost_nano, saved_nano, latency_p50, latency_p95, latency_p99, ttft_p50, ttft_p95, ttft_p99)
SELECT dims, bucket_start, tenant_id, model, tier, '*', requests, errors, upstream_calls, upstream_errors,
  cache_hits, cache_misses, prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens, cheap_tokens, tiered_tokens,
  cost_nano, saved_nano, latency_p50, latency_p95, latency_p99, ttft_p50, ttft_p95, ttft_p99
FROM rollup_hourly;
DROP TABLE rollup_hourly;
ALTER TABLE rollup_hourly_0012 RENAME TO rollup_hourly;
CREATE INDEX rollup_hourly_tenant ON rollup_hourly (dims, tenant_id, bucket_start);

CREATE TABLE rollup_daily_0012 (
  dims               TEXT NOT NULL,
  bucket_start       INTEGER NOT NULL,       -- epoch ms, start of the UTC day
  tenant_id          TEXT NOT NULL,
  model              TEXT NOT NULL,
  tier               TEXT NOT NULL,
  endpoint           TEXT NOT NULL,
  requests           INTEGER NOT NULL,
  errors             INTEGER NOT NULL,
  upstream_calls     INTEGER NOT NULL DEFAULT 0,
  upstream_errors    INTEGER NOT NULL DEFAULT 0,
  cache_hits         INTEGER NOT NULL,
  cache_misses       INTEGER NOT NULL,
  prompt_tokens      INTEGER NOT NULL,
  completion_tokens  INTEGER NOT NULL,
  cached_tokens      INTEGER NOT NULL,
  cache_write_tokens INTEGER NOT NULL,
  reasoning_tokens   INTEGER NOT NULL DEFAULT 0,
  cheap_tokens       INTEGER NOT NULL,
  tiered_tokens      INTEGER NOT NULL,
  cost_nano          INTEGER NOT NULL,
  saved_nano         INTEGER NOT NULL,
  latency_p50        INTEGER,
  latency_p95        INTEGER,
  latency_p99        INTEGER,
  ttft_p50           INTEGER,
  ttft_p95           INTEGER,
  ttft_p99           INTEGER,
  PRIMARY KEY (dims, bucket_start, tenant_id, model, tier, endpoint)
);
INSERT INTO rollup_daily_0012 (dims, bucket_start, tenant_id, model, tier, endpoint, requests, errors, upstream_calls, upstream_errors,
  cache_hits, cache_misses, prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens, cheap_tokens, tiered_tokens,
  cost_nano, saved_nano, latency_p50, latency_p95, latency_p99, ttft_p50, ttft_p95, ttft_p99)
SELECT dims, bucket_start, tenant_id, model, tier, '*', requests, errors, upstream_calls, upstream_errors,
  cache_hits, cache_misses, prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens, cheap_tokens, tiered_tokens,
  cost_nano, saved_nano, latency_p50, latency_p95, latency_p99, ttft_p50, ttft_p95, ttft_p99
FROM rollup_daily;
DROP TABLE rollup_daily;
ALTER TABLE rollup_daily_0012 RENAME TO rollup_daily;
CREATE INDEX rollup_daily_tenant ON rollup_daily (dims, tenant_id, bucket_start);

CREATE TABLE rollup_hourly_histograms_0012 (
  dims               TEXT NOT NULL,
  bucket_start       INTEGER NOT NULL,
  tenant_id          TEXT NOT NULL,
  model              TEXT NOT NULL,
  tier               TEXT NOT NULL,
  endpoint           TEXT NOT NULL,
  latency_hist       TEXT NOT NULL,
  ttft_hist          TEXT NOT NULL,
  PRIMARY KEY (dims, bucket_start, tenant_id, model, tier, endpoint)
);
INSERT INTO rollup_hourly_histograms_0012 (dims, bucket_start, tenant_id, model, tier, endpoint, latency_hist, ttft_hist)
SELECT dims, bucket_start, tenant_id, model, tier, '*', latency_hist, ttft_hist FROM rollup_hourly_histograms;
DROP TABLE rollup_hourly_histograms;
ALTER TABLE rollup_hourly_histograms_0012 RENAME TO rollup_hourly_histograms;
CREATE INDEX rollup_hourly_histograms_tenant ON rollup_hourly_histograms (dims, tenant_id, bucket_start);

CREATE TABLE rollup_daily_histograms_0012 (
  dims               TEXT NOT NULL,
  bucket_start       INTEGER NOT NULL,
  tenant_id          TEXT NOT NULL,
  model              TEXT NOT NULL,
  tier               TEXT NOT NULL,
  endpoint           TEXT NOT NULL,
  latency_hist       TEXT NOT NULL,
  ttft_hist          TEXT NOT NULL,
  PRIMARY KEY (dims, bucket_start, tenant_id, model, tier, endpoint)
);
INSERT INTO rollup_daily_histograms_0012 (dims, bucket_start, tenant_id, model, tier, endpoint, latency_hist, ttft_hist)
SELECT dims, bucket_start, tenant_id, model, tier, '*', latency_hist, ttft_hist FROM rollup_daily_histograms;
DROP TABLE rollup_daily_histograms;
ALTER TABLE rollup_daily_histograms_0012 RENAME TO rollup_daily_histograms;
CREATE INDEX rollup_daily_histograms_tenant ON rollup_daily_histograms (dims, tenant_id, bucket_start);

-- The backfill. Rows rolled up before this migration have no endpoint projections, and their
-- reasoning_tokens are 0, which is right (no raw row has any). First, every hour and day already
-- rolled up gets the three new projections as one group whose endpoint is not known (''), copied
-- from the projection that keeps the same other dimensions ('all', 'tenant', 'tenant+model'): the
-- same calls, so the same counters, percentiles and histograms. A report grouped by endpoint thus
-- always adds up to the ungrouped one; the reports name that group '(unknown)'.
INSERT INTO rollup_hourly (dims, bucket_start, tenant_id, model, tier, endpoint, requests, errors, upstream_calls, upstream_errors,
  cache_hits, cache_misses, prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens, reasoning_tokens, cheap_tokens,
  tiered_tokens, cost_nano, saved_nano, latency_p50, latency_p95, latency_p99, ttft_p50, ttft_p95, ttft_p99)
SELECT CASE dims WHEN 'all' THEN 'endpoint' WHEN 'tenant' THEN 'tenant+endpoint' ELSE 'tenant+model+endpoint' END,
  bucket_start, tenant_id, model, tier, '', requests, errors, upstream_calls, upstream_errors,
  cache_hits, cache_misses, prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens, reasoning_tokens, cheap_tokens,
  tiered_tokens, cost_nano, saved_nano, latency_p50, latency_p95, latency_p99, ttft_p50, ttft_p95, ttft_p99
FROM rollup_hourly WHERE dims IN ('all', 'tenant', 'tenant+model');
INSERT INTO rollup_daily (dims, bucket_start, tenant_id, model, tier, endpoint, requests, errors, upstream_calls, upstream_errors,
  cache_hits, cache_misses, prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens, reasoning_tokens, cheap_tokens,
  tiered_tokens, cost_nano, saved_nano, latency_p50, latency_p95, latency_p99, ttft_p50, ttft_p95, ttft_p99)
SELECT CASE dims WHEN 'all' THEN 'endpoint' WHEN 'tenant' THEN 'tenant+endpoint' ELSE 'tenant+model+endpoint' END,
  bucket_start, tenant_id, model, tier, '', requests, errors, upstream_calls, upstream_errors,
  cache_hits, cache_misses, prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens, reasoning_tokens, cheap_tokens,
  tiered_tokens, cost_nano, saved_nano, latency_p50, latency_p95, latency_p99, ttft_p50, ttft_p95, ttft_p99
FROM rollup_daily WHERE dims IN ('all', 'tenant', 'tenant+model');
INSERT INTO rollup_hourly_histograms (dims, bucket_start, tenant_id, model, tier, endpoint, latency_hist, ttft_hist)
SELECT CASE dims WHEN 'all' THEN 'endpoint' WHEN 'tenant' THEN 'tenant+endpoint' ELSE 'tenant+model+endpoint' END,
  bucket_start, tenant_id, model, tier, '', latency_hist, ttft_hist
FROM rollup_hourly_histograms WHERE dims IN ('all', 'tenant', 'tenant+model');
INSERT INTO rollup_daily_histograms (dims, bucket_start, tenant_id, model, tier, endpoint, latency_hist, ttft_hist)
SELECT CASE dims WHEN 'all' THEN 'endpoint' WHEN 'tenant' THEN 'tenant+endpoint' ELSE 'tenant+model+endpoint' END,
  bucket_start, tenant_id, model, tier, '', latency_hist, ttft_hist
FROM rollup_daily_histograms WHERE dims IN ('all', 'tenant', 'tenant+model');

-- Then, as 0011 did, every hour whose raw rows are all still kept (from raw_from on) is marked as
-- if late rows had come for it (migrations/0010): the cron runs rebuild those hours from their raw
-- rows, 24 a run, newest first, with their real endpoints (chat and embeddings: the only two
-- before this migration), and their days from their hours. Raw rows are not purged past an hour
-- still waiting. Hours before raw_from cannot be rebuilt: they, and the days made of them, keep
-- the unknown group; a day raw_from falls in is split by endpoint for its kept hours only.
INSERT OR IGNORE INTO rollup_late_hours (bucket_start)
SELECT bucket_start FROM rollup_hourly
WHERE dims = 'all'
  AND bucket_start >= COALESCE((SELECT value FROM analytics_state WHERE key = 'raw_from'), 0)
  AND bucket_start < (SELECT value FROM analytics_state WHERE key = 'rolled_until');
