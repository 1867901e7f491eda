-- Spool schema, version 8 (PostgreSQL): idempotency keys are per tenant, and a finished job
-- keeps the id of the worker that ran it.
--
-- An idempotency key was unique per queue, so a tenant that sent another tenant's key on a shared
-- queue was answered with that tenant's job (its id, state and position) and its own job was
-- never created. A key now names a job within (queue, tenant). Every job has a tenant (the
-- column is NOT NULL, 'default' when the caller names none), so no NULL needs folding into the
-- key. Existing rows keep their keys: unique per queue implies unique per (queue, tenant), so
-- building the index cannot fail. It is built in this migration's transaction (no CONCURRENTLY),
-- which holds writes to jobs while it reads the keyed rows once.
DROP INDEX {schema}.jobs_idempotency;
CREATE UNIQUE INDEX jobs_idempotency ON {schema}.jobs (queue, tenant, idempotency_key)
  WHERE idempotency_key IS NOT NULL;

-- complete_jobs as in migration 7, but worker_id stays: a completed or failed job names the
-- worker that ran its last attempt (the job page's "Worker"). A job that goes back to waiting
-- (a retry, a release, an expired lease) still drops it, so a waiting job names no worker.
CREATE OR REPLACE FUNCTION {schema}.complete_jobs(p_ids bigint[], p_tokens integer[], p_results text[], p_now bigint,
                                       p_channel text, p_payload text)
RETURNS TABLE (id bigint, woke text[]) LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
BEGIN
  RETURN QUERY
  WITH done AS (
    UPDATE {schema}.jobs j
    SET state = 'completed', result = c.result, finished_at = p_now, updated_at = p_now,
        lease_expires_at = NULL
    FROM unnest(p_ids, p_tokens, p_results) AS c(id, lease_token, result)
    WHERE j.id = c.id AND j.lease_token = c.lease_token AND (j.state = 'active') IS TRUE
    RETURNING j.id, j.queue
  ), event AS (
    INSERT INTO {schema}.events (at, type, queue, job_id, state)
    SELECT p_now, 'job.completed', d.queue, d.id, 'completed' FROM done d ORDER BY d.id
    RETURNING 1
  ), stats AS (
    INSERT INTO {schema}.stats_minute AS s (queue, minute, completed)
    SELECT d.queue, p_now - p_now % 60000, count(*) FROM done d GROUP BY d.queue
    ON CONFLICT (queue, minute) DO UPDATE SET completed = s.completed + excluded.completed
    RETURNING 1
  ), deps AS (
    SELECT {schema}.resolve_dependents(array_agg(d.id), 'completed', p_now, p_channel, p_payload) AS woke
    FROM done d
    WHERE (SELECT count(*) FROM event) + (SELECT count(*) FROM stats) >= 0
    HAVING count(*) > 0
  )
  SELECT d.id, (SELECT deps.woke FROM deps) FROM done d;
END
$$;
