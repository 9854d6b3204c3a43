-- Tenants, their API keys, and the request log.
-- Money is stored as integer nano-USD (1e-9 USD) so that sums are exact.

CREATE TABLE tenants (
  id                  TEXT PRIMARY KEY,
  name                TEXT NOT NULL,
  rpm                 INTEGER,                  -- requests per minute; NULL = unlimited
  tpm                 INTEGER,                  -- tokens per minute; NULL = unlimited
  monthly_budget_nano INTEGER,                  -- NULL = no budget
  routing             TEXT NOT NULL DEFAULT 'passthrough' CHECK (routing IN ('auto', 'passthrough')),
  cache_ttl_s         INTEGER NOT NULL DEFAULT 3600,
  created_at          INTEGER NOT NULL,         -- epoch ms
  updated_at          INTEGER NOT NULL
);

CREATE TABLE api_keys (
  id          TEXT PRIMARY KEY,
  tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  key_hash    TEXT NOT NULL UNIQUE,             -- hex SHA-256 of the key; the key itself is never stored
  key_prefix  TEXT NOT NULL,                    -- first characters, to tell keys apart in the UI
  created_at  INTEGER NOT NULL,
  revoked_at  INTEGER
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id);

-- One row per proxied call: successes, upstream failures, client errors after
-- authentication, cache hits and abandoned streams.
CREATE TABLE requests (
  id                 TEXT PRIMARY KEY,          -- the x-request-id the client saw
  ts                 INTEGER NOT NULL,          -- epoch ms when the call arrived
  tenant_id          TEXT NOT NULL,
  key_id             TEXT NOT NULL,
  endpoint           TEXT NOT NULL,             -- chat | embeddings
  model_requested    TEXT,                      -- what the client asked for (may be an alias)
  model              TEXT,                      -- provider/model actually used
  provider           TEXT,
  tier               TEXT,                      -- cheap | expensive
  route_reason       TEXT,
  status             INTEGER NOT NULL,          -- HTTP status the client got (499 = client went away)
  error_type         TEXT,
  error_message      TEXT,
  prompt_tokens      INTEGER NOT NULL DEFAULT 0, -- all input tokens, cached ones included
  completion_tokens  INTEGER NOT NULL DEFAULT 0,
  cached_tokens      INTEGER NOT NULL DEFAULT 0, -- input tokens read from the provider's prompt cache
  cache_write_tokens INTEGER NOT NULL DEFAULT 0, -- input tokens written to the provider's prompt cache
  usage_estimated    INTEGER NOT NULL DEFAULT 0, -- 1 when the upstream never reported usage (abandoned stream)
  cost_nano          INTEGER NOT NULL DEFAULT 0,
  saved_nano         INTEGER NOT NULL DEFAULT 0, -- what a response-cache hit would have cost
  latency_ms         INTEGER NOT NULL,
  ttft_ms            INTEGER,                   -- time to first streamed chunk
  stream             INTEGER NOT NULL DEFAULT 0,
  cache              TEXT NOT NULL DEFAULT 'BYPASS' -- HIT | MISS | BYPASS
);
-- The dashboard's queries: a time window, optionally for one tenant.
CREATE INDEX requests_ts ON requests (ts);
CREATE INDEX requests_tenant_ts ON requests (tenant_id, ts);
