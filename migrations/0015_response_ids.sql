-- The id under which an upstream keeps a call's answer: a Responses response stored at OpenAI
-- (`store` not false). The row already says whose call it was and which model made it, which is
-- all the proxy must know to let that tenant, and no other, continue, read or delete the response
-- (previous_response_id, GET and DELETE /v1/responses/{id}). Kept here rather than in a KV entry
-- of its own: the row is written anyway, a KV write per call is not (it cost more CPU than the
-- rest of the call's path, and $5 per million calls).
ALTER TABLE requests ADD COLUMN response_id TEXT;

-- Looked up by id, for the few rows that have one.
CREATE INDEX requests_response_id ON requests (response_id) WHERE response_id IS NOT NULL;
