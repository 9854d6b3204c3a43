-- Per-key settings (issue #17): a key's own name, limits, budget and expiry. They apply on top
-- of its tenant's: a call must pass both. NULL = none (only the tenant's apply).
ALTER TABLE api_keys ADD COLUMN name TEXT;
ALTER TABLE api_keys ADD COLUMN rpm INTEGER;                  -- requests per minute
ALTER TABLE api_keys ADD COLUMN tpm INTEGER;                  -- tokens per minute
ALTER TABLE api_keys ADD COLUMN monthly_budget_nano INTEGER;
ALTER TABLE api_keys ADD COLUMN expires_at INTEGER;           -- epoch ms; refused from then on

-- Month-to-date spend per key, kept exact the way tenant_spend is (0009_spend_trigger.sql): a
-- trigger adds each new request-log row's cost to its key's month, so a row written twice
-- (INSERT OR IGNORE of a retried write) is counted once. Months are UTC.
CREATE TABLE key_spend (
  key_id     TEXT NOT NULL,
  month      TEXT NOT NULL,               -- 'YYYY-MM' in UTC
  spent_nano INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (key_id, month)
);

CREATE TRIGGER requests_add_key_spend AFTER INSERT ON requests WHEN NEW.cost_nano > 0
BEGIN
  INSERT INTO key_spend (key_id, month, spent_nano)
  VALUES (NEW.key_id, strftime('%Y-%m', NEW.ts / 1000, 'unixepoch'), NEW.cost_nano)
  ON CONFLICT (key_id, month) DO UPDATE SET spent_nano = spent_nano + excluded.spent_nano;
END;

-- The current month's calls logged before this migration, so that a key's month to date is
-- exact from the start (earlier months are read by nothing; requests_ts bounds the scan).
INSERT INTO key_spend (key_id, month, spent_nano)
SELECT key_id, strftime('%Y-%m', ts / 1000, 'unixepoch'), SUM(cost_nano)
FROM requests
WHERE ts >= CAST(strftime('%s', 'now', 'start of month') AS INTEGER) * 1000 AND cost_nano > 0
GROUP BY key_id, strftime('%Y-%m', ts / 1000, 'unixepoch');
