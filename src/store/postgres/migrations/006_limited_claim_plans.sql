-- Spool schema, version 6 (PostgreSQL): complete_jobs in PL/pgSQL, whose statements keep their
-- plans across calls (PostgreSQL 15 plans a LANGUAGE sql function's body anew on every call: a
-- fifth of each limited claim here).
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
    WHERE j.id = c.id AND j.lease_token = c.lease_token AND j.state = 'active'
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
