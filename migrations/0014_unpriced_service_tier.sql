-- Every served call has a price: a call served at no price in force (ALLOW_UNPRICED_MODELS=true)
-- is flagged, so that finance can see how much of the bill is missing. And the service tier the
-- upstream reports having served (OpenAI's default, priority, flex, batch; Anthropic's standard,
-- priority, batch), which decides the rates the call was priced at. Rows logged before this
-- migration read 0 and NULL: the proxy priced every call at standard rates then.
ALTER TABLE requests ADD COLUMN unpriced INTEGER NOT NULL DEFAULT 0;
ALTER TABLE requests ADD COLUMN service_tier TEXT;

-- The unpriced calls of a window, for the admin API and the dashboard: few rows, read by time.
CREATE INDEX requests_unpriced ON requests (ts) WHERE unpriced = 1;
