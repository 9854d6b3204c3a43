-- Alerts (issue #17, docs/ALERTS.md): where a tenant's budget alerts go, the alerts raised, and
-- every delivery of each with its outcome.

-- A tenant's own webhook (NULL: none; budget alerts then go to ALERT_WEBHOOK_URL only) and its
-- thresholds as a JSON array of fractions of the budget (NULL: the default [0.5, 0.8, 1.0]).
ALTER TABLE tenants ADD COLUMN alert_webhook_url TEXT;
ALTER TABLE tenants ADD COLUMN alert_thresholds TEXT;

-- One row per alert raised. `dedupe_key` says what it is about, so that it is raised once,
-- whichever isolate or cron run sees it first: the first INSERT wins, every other one is ignored
-- (ON CONFLICT DO NOTHING), and only the one that inserted sends it.
--   budget:{scope}:{YYYY-MM}:{threshold}     a budget threshold crossed (scope: tenant:ten_… or key:key_…)
--   forecast:{scope}:{YYYY-MM}               the month-end forecast first over the budget
--   {error_rate|latency_p95}:{provider/model}:{n}:{firing|resolved}   the n-th episode of an upstream alert
CREATE TABLE alerts (
  id          TEXT PRIMARY KEY,               -- alt_…
  dedupe_key  TEXT NOT NULL UNIQUE,
  kind        TEXT NOT NULL CHECK (kind IN ('budget', 'forecast', 'error_rate', 'latency_p95')),
  state       TEXT NOT NULL CHECK (state IN ('firing', 'resolved')),
  tenant_id   TEXT,                           -- budget and forecast alerts
  key_id      TEXT,                           -- alerts of a key's own budget
  subject     TEXT NOT NULL,                  -- the scope (tenant:…, key:…) or the provider/model
  text        TEXT NOT NULL,                  -- the message's `text`
  payload     TEXT NOT NULL,                  -- the JSON body sent, whole
  created_at  INTEGER NOT NULL                -- epoch ms
);
-- Budget evaluation reads a tenant's alerts of the month; the on-call check counts episodes per subject.
CREATE INDEX alerts_tenant ON alerts (tenant_id, created_at) WHERE tenant_id IS NOT NULL;
CREATE INDEX alerts_subject ON alerts (kind, subject);

-- One row per alert and destination. An attempt is taken by moving next_attempt_at forward
-- (a lease) in the same UPDATE that counts it, so two runs never send the same attempt.
CREATE TABLE alert_deliveries (
  id              TEXT PRIMARY KEY,           -- dlv_…
  alert_id        TEXT NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
  destination     TEXT NOT NULL CHECK (destination IN ('tenant', 'operator')),
  url             TEXT NOT NULL,
  status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  last_http_status INTEGER,                   -- the receiver's answer to the last attempt (NULL: none, e.g. a timeout)
  last_error      TEXT,
  last_attempt_at INTEGER,
  delivered_at    INTEGER,
  next_attempt_at INTEGER,                    -- NULL once delivered or given up
  created_at      INTEGER NOT NULL,
  UNIQUE (alert_id, destination)
);
-- The history, newest first; the cron's retries of deliveries that are due.
CREATE INDEX alert_deliveries_created ON alert_deliveries (created_at, id);
CREATE INDEX alert_deliveries_due ON alert_deliveries (next_attempt_at) WHERE status = 'pending';
