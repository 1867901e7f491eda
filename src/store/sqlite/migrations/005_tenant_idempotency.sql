-- Spool schema, version 5 (SQLite): idempotency keys are per tenant.
--
-- An idempotency key was unique per queue, so a tenant that sent another tenant's key on a shared
-- queue was answered with that tenant's job and its own was never created. A key now names a job
-- within (queue, tenant). Every job has a tenant (NOT NULL, 'default' when the caller names
-- none), so no NULL needs folding into the key; existing keys stay, and since they were unique
-- per queue they are unique per (queue, tenant) too.
DROP INDEX jobs_idempotency;
CREATE UNIQUE INDEX jobs_idempotency ON jobs (queue, tenant, idempotency_key) WHERE idempotency_key IS NOT NULL;
