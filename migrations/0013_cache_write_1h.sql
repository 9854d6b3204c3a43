-- Anthropic prompt-cache writes come in two lifetimes, priced apart: 5 minutes (1.25x input)
-- and 1 hour (2x input). A row keeps how many of its cache_write_tokens were written for an
-- hour; a price may name the 1-hour rate (else the cache write rate applies to both).
-- Rows logged before this migration read 0: the proxy priced every write at the 5-minute rate.
ALTER TABLE requests ADD COLUMN cache_write_1h_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE price_overrides ADD COLUMN cache_write_1h_per_mtok REAL;
