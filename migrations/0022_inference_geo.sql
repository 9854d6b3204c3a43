-- The one region a call was processed in under data-residency rules, which the provider bills
-- 10% more for on newer models: Anthropic's `usage.inference_geo` when it is not `global` (`us`),
-- or the region of an OpenAI data-residency endpoint (`eu` for eu.api.openai.com). NULL: the
-- provider processed the call wherever it chose (and every row logged before this migration).
ALTER TABLE requests ADD COLUMN region TEXT;
