-- Errors of the upstreams, apart from the proxy's own refusals. `errors` (status >= 400) counts a
-- tenant over its rpm, tpm or budget, or an invalid request, against the model it was routed to,
-- though no upstream saw it. The rollups now also count, per row of the request log:
--   upstream_calls   calls that reached an upstream: attempts > 0 (0 is a response-cache hit,
--                    or a call refused before any attempt)
--   upstream_errors  of those, the ones that failed: status >= 400 and not 499 (the client
--                    went away), whatever the upstream answered, a timeout or a cut stream
-- (analytics/aggregate.ts). A call rescued by a retry or a fallback is a 200: not an error.
ALTER TABLE rollup_hourly ADD COLUMN upstream_calls INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_hourly ADD COLUMN upstream_errors INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_daily ADD COLUMN upstream_calls INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_daily ADD COLUMN upstream_errors INTEGER NOT NULL DEFAULT 0;

-- Rows rolled up before this migration hold 0 for both. Every hour whose raw rows are all still
-- kept (from raw_from on) is marked as if late rows had come for it (migrations/0010): the cron
-- runs rebuild them from their raw rows, 24 hours a run, newest first, and their days from their
-- hours. Every other counter in them is rebuilt to the value it has, so reports stay right
-- meanwhile. Raw rows are not purged past an hour still waiting. Hours before raw_from cannot be
-- rebuilt: their hourly and daily rows keep 0 calls and 0 errors upstream (no rate), and the
-- day raw_from falls in counts its kept hours only.
INSERT OR IGNORE INTO rollup_late_hours (bucket_start)
SELECT bucket_start FROM rollup_hourly
WHERE dims = 'all'
  AND bucket_start >= COALESCE((SELECT value FROM analytics_state WHERE key = 'raw_from'), 0)
  AND bucket_start < (SELECT value FROM analytics_state WHERE key = 'rolled_until');
