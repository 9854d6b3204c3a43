-- Prompt-cache isolation (docs/SECURITY.md): 'shared' (the default, and how every tenant was
-- served before) lets a tenant's prompts share the providers' prompt caches with every other
-- tenant's; 'isolated' makes the proxy start each of its prompts with a salt of its own, so that
-- no other tenant can learn from its own cached_tokens whether this one sent a given prompt.
ALTER TABLE tenants ADD COLUMN prompt_cache TEXT NOT NULL DEFAULT 'shared' CHECK (prompt_cache IN ('shared', 'isolated'));

-- The salt: 12 random bytes in lowercase hex, the tenant's own, never shown by the admin API.
-- Every tenant has one, so switching to 'isolated' writes nothing more. The proxy makes it when
-- it creates a tenant; tenants that exist already get theirs here, and a row inserted by hand
-- without one gets one from the trigger.
ALTER TABLE tenants ADD COLUMN prompt_cache_salt TEXT;

UPDATE tenants SET prompt_cache_salt = lower(hex(randomblob(12))) WHERE prompt_cache_salt IS NULL;

CREATE TRIGGER tenants_prompt_cache_salt AFTER INSERT ON tenants WHEN NEW.prompt_cache_salt IS NULL
BEGIN
  UPDATE tenants SET prompt_cache_salt = lower(hex(randomblob(12))) WHERE id = NEW.id;
END;
