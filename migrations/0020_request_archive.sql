-- The request log's raw rows, archived to R2 (the ARCHIVE bucket) an hour at a time before they
-- are purged (analytics/archive.ts): one gzipped NDJSON object per hour with rows, at
-- requests/v1/YYYY/MM/DD/HH.ndjson.gz. A row here says an hour is archived, and holds what the
-- object holds, so the archive can be checked against the rollups (the same calls and cost) and
-- read back without listing the bucket. Hours with no calls are recorded too (no object), so the
-- archive's progress has no gaps.
CREATE TABLE request_archive (
  hour        INTEGER PRIMARY KEY,          -- epoch ms, start of the UTC hour
  object_key  TEXT,                         -- NULL when the hour had no calls
  rows        INTEGER NOT NULL,             -- calls (requests rows) in the object
  cost_nano   INTEGER NOT NULL,             -- their cost_nano, summed
  bytes       INTEGER NOT NULL,             -- the object's size, gzipped
  archived_at INTEGER NOT NULL,             -- epoch ms
  stale       INTEGER NOT NULL DEFAULT 0    -- 1: rows came for the hour after it was archived; archived again once rebuilt
);
-- The hours to archive again, found without a scan.
CREATE INDEX request_archive_stale ON request_archive (hour) WHERE stale = 1;
