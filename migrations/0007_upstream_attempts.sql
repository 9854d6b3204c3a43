-- Retries and fallbacks (proxy/routing/failover.ts). A call's row records how many upstream attempts it
-- took (0 when answered from the response cache or refused before any); every attempt that
-- failed and was followed by another is kept here, with the request id and attempt number.
-- Failed attempts bill nothing: the cost of a call is on its own row only, never counted twice.
ALTER TABLE requests ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1;

CREATE TABLE request_attempts (
  request_id    TEXT NOT NULL,          -- requests.id (x-request-id)
  attempt       INTEGER NOT NULL,       -- 1-based, in the order tried
  ts            INTEGER NOT NULL,       -- epoch ms, when the attempt started
  tenant_id     TEXT NOT NULL,
  model         TEXT NOT NULL,          -- provider/model tried
  provider      TEXT NOT NULL,
  tier          TEXT NOT NULL,
  status        INTEGER NOT NULL,       -- what the attempt failed with (429, 5xx, 504 timeout...)
  error_type    TEXT,
  error_message TEXT,
  latency_ms    INTEGER NOT NULL,
  PRIMARY KEY (request_id, attempt)
);
-- Purged with the raw request log.
CREATE INDEX request_attempts_ts ON request_attempts (ts);
