-- Prompts and completions are not stored unless a tenant opts in (store_content = 1): then each
-- call's request body and answer are kept here, beside its request-log row, for as long as raw
-- rows are (RETENTION_DAYS), and shown by GET /admin/requests/{id}.
ALTER TABLE tenants ADD COLUMN store_content INTEGER NOT NULL DEFAULT 0 CHECK (store_content IN (0, 1));

CREATE TABLE request_content (
  request_id TEXT PRIMARY KEY,          -- requests.id
  ts         INTEGER NOT NULL,          -- epoch ms, the call's start (for the purge)
  tenant_id  TEXT NOT NULL,
  request    TEXT NOT NULL,             -- the request body as received (JSON)
  response   TEXT,                      -- the answer (OpenAI JSON; a stream's assembled completion); NULL when there was none
  truncated  INTEGER NOT NULL DEFAULT 0 -- 1 when either was cut to the size cap
);
CREATE INDEX request_content_ts ON request_content (ts);
