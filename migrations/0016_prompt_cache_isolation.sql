-- Prompt-cache isolation (docs/SECURITY.md): 'shared' (the default, and how every tenant was
-- served before) lets a tenant's prompts share the providers' prompt caches with every other
-- tenant's; 'isolated' makes the proxy start each of its prompts with a salt of its own, so that
-- no other tenant can learn from its own cached_tokens whether this one sent a given prompt.
ALTER TABLE tenants ADD COLUMN prompt_cache TEXT NOT NULL DEFAULT 'shared' CHECK (prompt_cache IN ('shared', 'isolated'));
