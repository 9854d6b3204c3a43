-- Prices set at run time with PUT /admin/prices/{model}: they win over the built-in table,
-- and can price models the table does not know (a fine-tune, a self-hosted model).
-- USD per million tokens; at most six decimals, so they convert exactly to pico-USD per token.
CREATE TABLE price_overrides (
  model                 TEXT PRIMARY KEY,    -- provider/model
  input_per_mtok        REAL NOT NULL,
  output_per_mtok       REAL NOT NULL,
  cached_input_per_mtok REAL,
  cache_write_per_mtok  REAL,
  updated_at            INTEGER NOT NULL     -- epoch ms
);
