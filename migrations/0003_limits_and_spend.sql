-- Where a tenant's rate-limit buckets live: 'kv' (approximate across locations, cheap) or
-- 'durable-object' (exact, one object per tenant).
ALTER TABLE tenants ADD COLUMN rate_limit_store TEXT NOT NULL DEFAULT 'kv' CHECK (rate_limit_store IN ('kv', 'durable-object'));

-- Month-to-date spend per tenant, kept exact by the request-log write itself (same batch),
-- so a budget check is one indexed read instead of a scan of the month's requests.
CREATE TABLE tenant_spend (
  tenant_id  TEXT NOT NULL,
  month      TEXT NOT NULL,               -- 'YYYY-MM' in UTC
  spent_nano INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, month)
);
