-- Hourly and daily aggregates of the request log, per tenant, model and tier, so that month
-- views never scan raw rows. Latency and TTFT are kept as histograms (JSON {bucket: count},
-- buckets of analytics/histogram.ts), never as percentiles: histograms add up exactly.
CREATE TABLE rollup_hourly (
  bucket_start       INTEGER NOT NULL,       -- epoch ms, start of the UTC hour
  tenant_id          TEXT NOT NULL,
  model              TEXT NOT NULL,          -- '' for calls refused before a model was chosen
  tier               TEXT NOT NULL,          -- '' likewise
  requests           INTEGER NOT NULL,
  errors             INTEGER NOT NULL,       -- status >= 400
  cache_hits         INTEGER NOT NULL,
  cache_misses       INTEGER NOT NULL,
  prompt_tokens      INTEGER NOT NULL,
  completion_tokens  INTEGER NOT NULL,
  cached_tokens      INTEGER NOT NULL,
  cache_write_tokens INTEGER NOT NULL,
  hit_tokens         INTEGER NOT NULL,       -- tokens of response-cache hits (no upstream call)
  cost_nano          INTEGER NOT NULL,
  saved_nano         INTEGER NOT NULL,
  latency_hist       TEXT NOT NULL,          -- successful calls (status 200)
  ttft_hist          TEXT NOT NULL,          -- streamed calls with a first chunk
  PRIMARY KEY (bucket_start, tenant_id, model, tier)
);

CREATE TABLE rollup_daily (
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
  hit_tokens         INTEGER NOT NULL,
  cost_nano          INTEGER NOT NULL,
  saved_nano         INTEGER NOT NULL,
  latency_hist       TEXT NOT NULL,
  ttft_hist          TEXT NOT NULL,
  PRIMARY KEY (bucket_start, tenant_id, model, tier)
);

-- The rollup job's progress: hours before `rolled_until` are in rollup_hourly.
CREATE TABLE analytics_state (
  key   TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
