-- Spool schema, version 6 (PostgreSQL): migration 5's two functions, revised. Migration 5 is
-- left as it was applied; a database at version 5 gets these here.
--
-- complete_jobs in PL/pgSQL, whose statements keep their plans across calls (PostgreSQL 15 plans
-- a LANGUAGE sql function's body anew on every call: a fifth of each limited claim here).
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

-- claim_limited reads the rate window even when the concurrency cap left no room (migration 5
-- read it only with room left), so a worker learns when to look again; and under a cap, its
-- completions wake the other processes' idle workers, since they free slots.
--
-- The claim of a queue whose only limits are queue-wide (a concurrency cap, a rate limit; no
-- group limits, no breaker), in one call instead of a transaction of several statements. As in
-- the constrained claim (claimConstrained in postgres-store.ts): the completions first, then the
-- queue's row locked, so these claims of one queue take turns across nodes; each statement after
-- the lock reads with a fresh snapshot (a function's statements do, under READ COMMITTED), so it
-- counts what the previous turn committed; the clock is read after the lock, so recorded start
-- times follow commit order. Rows come back as from jobClaim, plus one row of kind `held` with
-- the time a claim may succeed again when limits left nothing to claim.
CREATE OR REPLACE FUNCTION {schema}.claim_limited(
  p_queue text, p_now bigint, p_limit integer, p_worker text, p_lease_ms bigint,
  p_ids bigint[], p_tokens integer[], p_results text[], p_channel text, p_payload text,
  p_concurrency integer, p_rate_key text, p_rate_max bigint, p_rate_window bigint)
RETURNS TABLE (kind text, id bigint, queue text, priority integer, vtime double precision, run_at bigint,
               payload text, attempt integer, max_attempts integer, backoff jsonb, timeout_ms integer,
               idempotency_key text, grp text, tags jsonb, metadata jsonb, tenant text, lease_token integer,
               lease_expires_at bigint, created_at bigint, started_at bigint, woke text[], retry_at bigint)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
  v_paused boolean;
  v_until bigint;
  v_now bigint;
  v_budget bigint := p_limit;
  v_width bigint;
  v_used bigint;
  v_oldest bigint;
  v_retry bigint;
  v_claimed integer;
BEGIN
  IF cardinality(p_ids) > 0 THEN
    RETURN QUERY
      SELECT 'completed', c.id, NULL::text, NULL::integer, NULL::double precision, NULL::bigint, NULL::text,
             NULL::integer, NULL::integer, NULL::jsonb, NULL::integer, NULL::text, NULL::text, NULL::jsonb,
             NULL::jsonb, NULL::text, NULL::integer, NULL::bigint, NULL::bigint, NULL::bigint, c.woke, NULL::bigint
      FROM {schema}.complete_jobs(p_ids, p_tokens, p_results, p_now, p_channel, p_payload) AS c;
    -- Under a cap, a completion frees a slot: wake the idle workers of other processes, which
    -- would otherwise sleep until the rate window frees up while this one takes every slot.
    IF FOUND AND p_concurrency IS NOT NULL THEN
      PERFORM pg_notify(p_channel, p_payload);
    END IF;
  END IF;

  SELECT q.paused, q.paused_until INTO v_paused, v_until FROM {schema}.queues q WHERE q.name = p_queue FOR UPDATE;
  IF NOT FOUND OR v_paused THEN
    RETURN;
  END IF;
  v_now := greatest(p_now, (extract(epoch FROM clock_timestamp()) * 1000)::bigint);
  IF v_until > v_now THEN
    v_retry := v_until;
    v_budget := 0;
  END IF;

  IF v_budget > 0 AND p_concurrency IS NOT NULL THEN
    v_budget := least(v_budget, p_concurrency - (SELECT count(*) FROM {schema}.jobs j
                                                 WHERE j.queue = p_queue AND j.state = 'active'));
  END IF;
  IF v_until <= v_now AND p_rate_key IS NOT NULL THEN
    -- Buckets of a tenth of the window; the oldest that overlaps the window counts whole, so no
    -- window of p_rate_window ever holds more than p_rate_max starts (rateUsed in postgres-store.ts).
    -- Read even when the cap left no room: the time the window frees up is when to look again
    -- (without it the worker would sleep a whole poll interval while another process's own
    -- completions let it claim at once).
    v_width := greatest(1, p_rate_window / 10);
    SELECT coalesce(sum(b.n), 0), min(b.bucket) INTO v_used, v_oldest
    FROM {schema}.rate_buckets b
    WHERE b.key = p_rate_key AND b.bucket >= (v_now - p_rate_window) - (v_now - p_rate_window) % v_width;
    v_budget := least(v_budget, p_rate_max - v_used);
    v_retry := CASE WHEN v_oldest IS NULL THEN v_now ELSE v_oldest + v_width + p_rate_window END;
  END IF;

  IF v_budget > 0 THEN
    RETURN QUERY
      WITH next AS (
        SELECT j.id FROM {schema}.jobs j
        WHERE j.queue = p_queue AND j.state IN ('waiting', 'scheduled') AND j.run_at <= v_now
        ORDER BY j.priority, j.vtime, j.run_at, j.id
        LIMIT v_budget
        FOR NO KEY UPDATE SKIP LOCKED
      ), claimed AS (
        UPDATE {schema}.jobs j
        SET state = 'active', attempt = j.attempt + 1, lease_token = j.lease_token + 1, progress = NULL,
            lease_expires_at = v_now + p_lease_ms, worker_id = p_worker, started_at = v_now, updated_at = v_now
        FROM next WHERE j.id = next.id
        RETURNING j.id, j.queue, j.priority, j.vtime, j.run_at, j.payload, j.attempt, j.max_attempts, j.backoff,
                  j.timeout_ms, j.idempotency_key, j.grp, j.tags, j.metadata, j.tenant, j.lease_token,
                  j.lease_expires_at, j.created_at, j.started_at
      ), event AS (
        INSERT INTO {schema}.events (at, type, queue, job_id, state, data)
        SELECT v_now, 'job.active', c.queue, c.id, 'active', jsonb_build_object('attempt', c.attempt)
        FROM claimed c ORDER BY c.id
      )
      SELECT 'claimed', c.id, c.queue, c.priority, c.vtime, c.run_at, c.payload, c.attempt, c.max_attempts,
             c.backoff, c.timeout_ms, c.idempotency_key, c.grp, c.tags, c.metadata, c.tenant, c.lease_token,
             c.lease_expires_at, c.created_at, c.started_at, NULL::text[], NULL::bigint
      FROM claimed c;
    GET DIAGNOSTICS v_claimed = ROW_COUNT;
    IF v_claimed > 0 THEN
      IF p_rate_key IS NOT NULL THEN
        INSERT INTO {schema}.rate_buckets AS r (key, bucket, n)
        VALUES (p_rate_key, v_now - v_now % v_width, v_claimed)
        ON CONFLICT (key, bucket) DO UPDATE SET n = r.n + excluded.n;
      END IF;
      RETURN;
    END IF;
  END IF;

  IF v_retry IS NOT NULL THEN
    RETURN QUERY
      SELECT 'held', NULL::bigint, NULL::text, NULL::integer, NULL::double precision, NULL::bigint, NULL::text,
             NULL::integer, NULL::integer, NULL::jsonb, NULL::integer, NULL::text, NULL::text, NULL::jsonb,
             NULL::jsonb, NULL::text, NULL::integer, NULL::bigint, NULL::bigint, NULL::bigint, NULL::text[], v_retry;
  END IF;
END
$$;
