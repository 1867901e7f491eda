-- Spool schema, version 7 (PostgreSQL): completions find their jobs by key.
--
-- complete_jobs as in migration 6, with the guard written `(j.state = 'active') IS TRUE`. Written
-- plainly, `j.state = 'active'` matches the predicate of the partial index jobs_active_group, and
-- the planner, which counts only the few live active rows, read the batch's jobs through that
-- index: a bitmap over every entry the index still holds for jobs that were active since the last
-- vacuum (thousands while a backlog drains), and their heap pages. `IS TRUE` is the same test for
-- a NOT NULL column but does not prove the index's predicate, so each job is one probe of the
-- primary key. The worker's own round (jobClaim in queries.sql) and the heartbeat are written so.
CREATE OR REPLACE FUNCTION {schema}.complete_jobs(p_ids bigint[], p_tokens integer[], p_results text[], p_now bigint,
                                       p_channel text, p_payload text)
RETURNS TABLE (id bigint, woke text[]) LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
BEGIN
  RETURN QUERY
  WITH done AS (
    UPDATE {schema}.jobs j
    SET state = 'completed', result = c.result, finished_at = p_now, updated_at = p_now,
        lease_expires_at = NULL, worker_id = NULL
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
