-- Attribution (proxy/core/attribution.ts): the end user a call was made for (x-proxy-user, else
-- the user id its body carries) and its tags (x-proxy-tags), as canonical JSON: an object with its
-- keys in order, at most 10 of them. NULL when the call had none; rows logged before this
-- migration read NULL for both.
ALTER TABLE requests ADD COLUMN user TEXT;
ALTER TABLE requests ADD COLUMN tags TEXT;

-- Reports by user, key or tag read the raw rows of their window (the rollups keep none of the
-- three; see docs/ANALYTICS.md): by time through requests_ts and requests_tenant_ts, each row
-- counted once (a call has one user, one key and at most one value per tag key), so the groups add
-- up to the rows exactly. One user's calls (the `user` filter of the reports and of the request
-- log) are found by this index instead of reading the whole window; calls with no user are not in it.
CREATE INDEX requests_user_ts ON requests (user, ts) WHERE user IS NOT NULL;
