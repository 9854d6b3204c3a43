-- Hourly and daily aggregates of the request log per end user, API key and tag value, so reports
-- grouped or filtered by one of them (docs/ANALYTICS.md, "Users, keys and tags") answer for any
-- window the rollups cover, not just the raw retention. Built by the cron as raw rows leave the
-- retention (analytics/attribute-rollup.ts): whole hours from raw rows, whole days from hours;
-- hourly rows kept 2 days before raw_from, daily rows ATTRIBUTE_RETENTION_DAYS (analytics/rollup.ts).
--
-- One row per hour (or day), tenant, dimension and value, for the calls that have that value:
--   dimension   value
--   'user'      the end user (calls with no user have no row)
--   'key'       the API key id
--   'tag:<k>'   the value of tag <k> (calls without the tag have no row)
-- A call has one user, one key and at most one value per tag key, so each dimension's rows are a
-- partition of the calls that have it; the calls without it (the null group of a report) are the
-- tenant's rollup_hourly/rollup_daily row less the dimension's rows, exactly.
-- The counters are analytics/aggregate.ts's COUNTERS; no latency histograms are kept.
-- Keyed by time first: a report reads a window, and the cron prunes by time, each a range of the key.
CREATE TABLE rollup_attribute_hourly (
  dimension          TEXT NOT NULL,
  bucket_start       INTEGER NOT NULL,       -- epoch ms, start of the UTC hour
  tenant_id          TEXT NOT NULL,
  value              TEXT NOT NULL,
  requests           INTEGER NOT NULL,
  errors             INTEGER NOT NULL,
  upstream_calls     INTEGER NOT NULL,
  upstream_errors    INTEGER NOT NULL,
  cache_hits         INTEGER NOT NULL,
  cache_misses       INTEGER NOT NULL,
  prompt_tokens      INTEGER NOT NULL,
  completion_tokens  INTEGER NOT NULL,
  cached_tokens      INTEGER NOT NULL,
  cache_write_tokens INTEGER NOT NULL,
  reasoning_tokens   INTEGER NOT NULL,
  cheap_tokens       INTEGER NOT NULL,
  tiered_tokens      INTEGER NOT NULL,
  cost_nano          INTEGER NOT NULL,
  saved_nano         INTEGER NOT NULL,
  PRIMARY KEY (bucket_start, dimension, tenant_id, value)
);
-- One user's or tag value's rows (the user and tag filters) without reading the dimension's others.
CREATE INDEX rollup_attribute_hourly_value ON rollup_attribute_hourly (dimension, value, bucket_start);

CREATE TABLE rollup_attribute_daily (
  dimension          TEXT NOT NULL,
  bucket_start       INTEGER NOT NULL,       -- epoch ms, start of the UTC day
  tenant_id          TEXT NOT NULL,
  value              TEXT NOT NULL,
  requests           INTEGER NOT NULL,
  errors             INTEGER NOT NULL,
  upstream_calls     INTEGER NOT NULL,
  upstream_errors    INTEGER NOT NULL,
  cache_hits         INTEGER NOT NULL,
  cache_misses       INTEGER NOT NULL,
  prompt_tokens      INTEGER NOT NULL,
  completion_tokens  INTEGER NOT NULL,
  cached_tokens      INTEGER NOT NULL,
  cache_write_tokens INTEGER NOT NULL,
  reasoning_tokens   INTEGER NOT NULL,
  cheap_tokens       INTEGER NOT NULL,
  tiered_tokens      INTEGER NOT NULL,
  cost_nano          INTEGER NOT NULL,
  saved_nano         INTEGER NOT NULL,
  PRIMARY KEY (bucket_start, dimension, tenant_id, value)
);
CREATE INDEX rollup_attribute_daily_value ON rollup_attribute_daily (dimension, value, bucket_start);

-- attributes_from: the attribute rollups are complete from this instant (an hour boundary) on.
-- Hours already purged cannot be rolled up, so it is raw_from now; the hours after it are rolled
-- up as their raw rows leave the retention.
INSERT INTO analytics_state (key, value)
SELECT 'attributes_from', value FROM analytics_state WHERE key = 'raw_from';
