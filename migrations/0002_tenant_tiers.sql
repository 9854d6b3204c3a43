-- Per-tenant overrides of the two tiers (`provider/model`); NULL = the deployment's
-- CHEAP_MODEL / EXPENSIVE_MODEL.
ALTER TABLE tenants ADD COLUMN cheap_model TEXT;
ALTER TABLE tenants ADD COLUMN expensive_model TEXT;
