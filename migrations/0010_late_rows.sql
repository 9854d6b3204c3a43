-- Rows the request log receives for hours already rolled up: a queue backlog or dead-letter
-- replay, a D1 outage drained late, a stream that ran past the rollup. The trigger records each
-- such row's hour; the next cron run rebuilds that hour from its raw rows (and its day from its
-- hours) and forgets it (analytics/rollup.ts). A row written twice (a retried or redelivered
-- write, skipped on its key) is not inserted the second time, so it marks nothing.
CREATE TABLE rollup_late_hours (
  bucket_start INTEGER PRIMARY KEY          -- epoch ms, start of the UTC hour
);

CREATE TRIGGER requests_mark_late_hour AFTER INSERT ON requests
WHEN NEW.ts < (SELECT value FROM analytics_state WHERE key = 'rolled_until')
BEGIN
  INSERT OR IGNORE INTO rollup_late_hours (bucket_start) VALUES ((NEW.ts / 3600000) * 3600000);
END;

-- analytics_state gains two keys, both set before the rows they describe are deleted:
--   raw_from     raw rows before it may have been purged (whole hours): an hour before it cannot
--                be rebuilt from raw rows, so late rows for it are not rolled up
--   hourly_from  rollup_hourly rows before it may have been pruned (whole days): daily rows
--                answer for those days
-- The purge before this migration cut raw rows at any instant, so the first hour that surely
-- still has all of its rows is the one after the oldest row kept.
INSERT INTO analytics_state (key, value)
SELECT 'raw_from', ((oldest + 3599999) / 3600000) * 3600000
FROM (SELECT MIN(ts) AS oldest FROM requests)
WHERE oldest IS NOT NULL AND EXISTS (SELECT 1 FROM analytics_state WHERE key = 'rolled_until');
