-- Month-to-date spend now moves with the request log by itself: this trigger adds each new
-- row's cost to its tenant's month. One INSERT stores a call (or a whole queued batch of calls)
-- with its spend, and a row written twice (INSERT OR IGNORE of a retried or redelivered write)
-- is ignored, so it is counted once. Months are UTC, as proxy/limits/budget.ts reads them.
CREATE TRIGGER requests_add_spend AFTER INSERT ON requests WHEN NEW.cost_nano > 0
BEGIN
  INSERT INTO tenant_spend (tenant_id, month, spent_nano)
  VALUES (NEW.tenant_id, strftime('%Y-%m', NEW.ts / 1000, 'unixepoch'), NEW.cost_nano)
  ON CONFLICT (tenant_id, month) DO UPDATE SET spent_nano = spent_nano + excluded.spent_nano;
END;
