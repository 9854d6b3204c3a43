-- Rollups per projection. 0005 kept one row per (bucket, tenant, model, tier), so a 30-day
-- summary merged thousands of rows and their latency histograms on every read. Now each hour
-- and day has one row per group of each projection the reports ask for:
--
--   dims           keeps                  serves
--   all            nothing                the summary and ungrouped series, all tenants
--   tenant         tenant_id              group_by=tenant, and any one tenant's summary and series
--   model          model                  group_by=model or provider
--   tier           tier                   group_by=tier
--   tenant+model   tenant_id, model       one tenant by model or provider; the finance CSV
--   tenant+tier    tenant_id, tier        one tenant by tier
--
-- A dimension a row does not keep holds '*'. Each row also stores the nearest-rank percentiles
-- of its own latency histograms (as bucket indexes of analytics/histogram.ts), so a chart point
-- that is exactly one row is read, not merged; the histograms themselves (*_histograms) are read
-- only where a point spans several rows.
-- The cheap-tier share is kept as two counters, so it needs no per-tier rows.
--
-- The rows of 0005's tables are not converted: rolled_until is reset and the next cron runs
-- rebuild the rollups from the raw request log (as far back as RETENTION_DAYS keeps it).
DROP TABLE rollup_hourly;
DROP TABLE rollup_daily;
DELETE FROM analytics_state WHERE key = 'rolled_until';

CREATE TABLE rollup_hourly (
  dims               TEXT NOT NULL,          -- the projection (see above)
  bucket_start       INTEGER NOT NULL,       -- epoch ms, start of the UTC hour
  tenant_id          TEXT NOT NULL,          -- '*' when not kept
  model              TEXT NOT NULL,          -- '*' when not kept; '' for calls refused before a model was chosen
  tier               TEXT NOT NULL,          -- likewise
  requests           INTEGER NOT NULL,
  errors             INTEGER NOT NULL,       -- status >= 400
  cache_hits         INTEGER NOT NULL,
  cache_misses       INTEGER NOT NULL,
  prompt_tokens      INTEGER NOT NULL,
  completion_tokens  INTEGER NOT NULL,
  cached_tokens      INTEGER NOT NULL,
  cache_write_tokens INTEGER NOT NULL,
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
  PRIMARY KEY (dims, bucket_start, tenant_id, model, tier)
);
-- One tenant's rows without reading every tenant's.
CREATE INDEX rollup_hourly_tenant ON rollup_hourly (dims, tenant_id, bucket_start);

CREATE TABLE rollup_daily (
  dims               TEXT NOT NULL,
  bucket_start       INTEGER NOT NULL,       -- epoch ms, start of the UTC day
  tenant_id          TEXT NOT NULL,
  model              TEXT NOT NULL,
  tier               TEXT NOT NULL,
  requests           INTEGER NOT NULL,
  errors             INTEGER NOT NULL,
  cache_hits         INTEGER NOT NULL,
  cache_misses       INTEGER NOT NULL,
  prompt_tokens      INTEGER NOT NULL,
  completion_tokens  INTEGER NOT NULL,
  cached_tokens      INTEGER NOT NULL,
  cache_write_tokens INTEGER NOT NULL,
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
  PRIMARY KEY (dims, bucket_start, tenant_id, model, tier)
);
CREATE INDEX rollup_daily_tenant ON rollup_daily (dims, tenant_id, bucket_start);

-- The histograms behind each rollup row's percentiles, JSON {bucket: count}: read only where
-- a point spans several rows and they must be merged. Kept apart so the counters and stored
-- percentiles that most reads want sit in short rows.
CREATE TABLE rollup_hourly_histograms (
  dims               TEXT NOT NULL,
  bucket_start       INTEGER NOT NULL,
  tenant_id          TEXT NOT NULL,
  model              TEXT NOT NULL,
  tier               TEXT NOT NULL,
  latency_hist       TEXT NOT NULL,
  ttft_hist          TEXT NOT NULL,
  PRIMARY KEY (dims, bucket_start, tenant_id, model, tier)
);
CREATE INDEX rollup_hourly_histograms_tenant ON rollup_hourly_histograms (dims, tenant_id, bucket_start);

CREATE TABLE rollup_daily_histograms (
  dims               TEXT NOT NULL,
  bucket_start       INTEGER NOT NULL,
  tenant_id          TEXT NOT NULL,
  model              TEXT NOT NULL,
  tier               TEXT NOT NULL,
  latency_hist       TEXT NOT NULL,
  ttft_hist          TEXT NOT NULL,
  PRIMARY KEY (dims, bucket_start, tenant_id, model, tier)
);
CREATE INDEX rollup_daily_histograms_tenant ON rollup_daily_histograms (dims, tenant_id, bucket_start);
