-- Shadow evaluation of routing (docs/ROUTING.md#shadow-evaluation): a sample of each tenant's calls
-- is run again on the other tier's model, and a judge model compares the two answers.
--
-- Tenant settings: the fraction of calls sampled, which kinds of call may be sampled besides
-- plain text ones (tools, images, `store: false`), and per-task tier overrides the router obeys.
ALTER TABLE tenants ADD COLUMN shadow_eval_rate REAL NOT NULL DEFAULT 0 CHECK (shadow_eval_rate >= 0 AND shadow_eval_rate <= 1);
ALTER TABLE tenants ADD COLUMN shadow_eval_include TEXT NOT NULL DEFAULT '[]';  -- JSON array: tools, images, unstored
ALTER TABLE tenants ADD COLUMN task_tiers TEXT NOT NULL DEFAULT '{}';           -- JSON object: {"summarize": "expensive"}

-- One row per evaluation, linked to the call it evaluates (requests.id). Evaluation calls are not
-- request-log rows: every report, rollup, Analytics Engine point, the finance CSV and the spend
-- trigger (0009) read `requests` as the tenants' own traffic, and an evaluation is the operator's
-- spend, never the tenant's. Money in integer nano-USD, as everywhere.
CREATE TABLE evaluations (
  id                      TEXT PRIMARY KEY,          -- eval_…
  request_id              TEXT NOT NULL,             -- the evaluated call
  ts                      INTEGER NOT NULL,          -- epoch ms when the evaluated call arrived
  evaluated_at            INTEGER NOT NULL,          -- epoch ms when the verdict was stored
  tenant_id               TEXT NOT NULL,
  task                    TEXT NOT NULL,             -- the x-task, or rule:<id> when the router's rules decided
  served_tier             TEXT NOT NULL CHECK (served_tier IN ('cheap', 'expensive')),
  sample_rate             REAL NOT NULL,             -- the tenant's shadow_eval_rate when sampled (estimates scale by 1/rate)
  cheap_model             TEXT NOT NULL,
  expensive_model         TEXT NOT NULL,
  cheap_cost_nano         INTEGER NOT NULL,          -- the cheap answer's cost (the call's own, or the shadow's)
  expensive_cost_nano     INTEGER NOT NULL,
  shadow_cost_nano        INTEGER NOT NULL,          -- the shadow call: evaluation spend
  shadow_prompt_tokens    INTEGER NOT NULL DEFAULT 0,
  shadow_completion_tokens INTEGER NOT NULL DEFAULT 0,
  judge_model             TEXT NOT NULL,
  judge_cost_nano         INTEGER NOT NULL,          -- the judge call: evaluation spend
  judge_prompt_tokens     INTEGER NOT NULL DEFAULT 0,
  judge_completion_tokens INTEGER NOT NULL DEFAULT 0,
  cheap_position          TEXT NOT NULL CHECK (cheap_position IN ('A', 'B')), -- where the judge saw the cheap answer
  verdict                 TEXT NOT NULL CHECK (verdict IN ('same', 'cheap_worse', 'cheap_better', 'invalid', 'failed')),
  reason                  TEXT                       -- the judge's, or what was wrong (invalid, failed)
);
CREATE INDEX evaluations_tenant_ts ON evaluations (tenant_id, ts);
CREATE INDEX evaluations_ts ON evaluations (ts);
CREATE INDEX evaluations_request ON evaluations (request_id);

-- Evaluation spend per UTC month, all tenants together (EVAL_BUDGET_USD caps it): kept exact by
-- the insert itself, as tenant_spend is by 0009, so the check before each evaluation is one read.
CREATE TABLE eval_spend (
  month      TEXT PRIMARY KEY,                      -- 'YYYY-MM' in UTC
  spent_nano INTEGER NOT NULL DEFAULT 0
);
CREATE TRIGGER evaluations_add_spend AFTER INSERT ON evaluations WHEN NEW.shadow_cost_nano + NEW.judge_cost_nano > 0
BEGIN
  INSERT INTO eval_spend (month, spent_nano)
  VALUES (strftime('%Y-%m', NEW.evaluated_at / 1000, 'unixepoch'), NEW.shadow_cost_nano + NEW.judge_cost_nano)
  ON CONFLICT (month) DO UPDATE SET spent_nano = spent_nano + excluded.spent_nano;
END;
