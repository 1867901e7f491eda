-- Spool schema, version 9 (PostgreSQL): the claim comes off the job row (issue 14, step 1; see
-- docs/performance.md and docs/stores.md).
--
-- Two narrow tables hold the jobs a claim looks at, so no index of `jobs` needs its state:
-- - `ready`: one row per waiting or scheduled job, in claim order (queue, priority, virtual time,
--   run_at, id), with its group. A claim locks the best rows with SKIP LOCKED and deletes them.
--   A DELETE writes no index entry, so taking a job costs no index work here; the index entries
--   are written once, at enqueue.
-- - `leases`: one row per active job (id, queue, group): what concurrency caps, group limits and
--   lease recovery count and scan, a few rows per worker slot.
-- `jobs.state` stays the truth for every reader (listings, counts, the API); the two tables are
-- kept equal to it:
-- - on the hot path by the statements themselves: the inserts (jobInsert, jobInsertPlain) add
--   `ready` rows, the claims (jobClaim, claim_limited, jobClaimIds) move a job from `ready` to
--   `leases`, the completions (jobClaim, complete_jobs) delete its `leases` row;
-- - everywhere else (failures, retries, releases, fan-out, flows unblocking a parent, lease
--   recovery, promotion, manual transitions, reprioritising, removal) by the trigger
--   `jobs_sync` below, which fires only when a job's state or claim order changes, and is left
--   out (by its WHEN clause, evaluated without calling PL/pgSQL) for exactly the two transitions
--   the hot path writes itself: waiting/scheduled -> active, and active -> completed. A new
--   statement making either of those two transitions must maintain the tables as those do.
--
-- Lock order: a statement that changes a job row holds it before it touches the job's `ready`
-- or `leases` row (the trigger runs after the row change). The claims lock `ready` rows first,
-- but then take the job rows with SKIP LOCKED and never wait, so the two orders cannot
-- deadlock: a job whose row another transaction holds (a cancel, a promotion, a dependency's
-- share lock) is left in `ready` for the next round.

CREATE TABLE {schema}.ready (
  id         bigint PRIMARY KEY,
  queue      text NOT NULL,
  priority   integer NOT NULL,
  vtime      double precision NOT NULL,
  run_at     bigint NOT NULL,
  grp        text,
  -- The job's state is 'scheduled' (run_at was ahead when it got there): promotion and a
  -- worker's idle timer read these through the two small partial indexes below.
  scheduled  boolean NOT NULL
);
CREATE INDEX ready_claim ON {schema}.ready (queue, priority, vtime, run_at, id);
CREATE INDEX ready_due ON {schema}.ready (run_at) WHERE scheduled;
CREATE INDEX ready_due_queue ON {schema}.ready (queue, run_at) WHERE scheduled;

CREATE TABLE {schema}.leases (
  id     bigint PRIMARY KEY,
  queue  text NOT NULL,
  grp    text
);
CREATE INDEX leases_queue ON {schema}.leases (queue, grp);

-- Every job of the old layout, whatever its state, has its row here (nothing moves out of jobs).
INSERT INTO {schema}.ready (id, queue, priority, vtime, run_at, grp, scheduled)
SELECT id, queue, priority, vtime, run_at, grp, state = 'scheduled' FROM {schema}.jobs
WHERE state IN ('waiting', 'scheduled');
INSERT INTO {schema}.leases (id, queue, grp)
SELECT id, queue, grp FROM {schema}.jobs WHERE state = 'active';

-- The claim path's indexes on jobs are replaced by the tables above.
DROP INDEX {schema}.jobs_claim;
DROP INDEX {schema}.jobs_due;
DROP INDEX {schema}.jobs_due_queue;
DROP INDEX {schema}.jobs_active_group;

CREATE FUNCTION {schema}.jobs_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    IF OLD.state IN ('waiting', 'scheduled') THEN
      DELETE FROM {schema}.ready WHERE id = OLD.id;
    ELSIF OLD.state = 'active' THEN
      DELETE FROM {schema}.leases WHERE id = OLD.id;
    END IF;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    IF NEW.state IN ('waiting', 'scheduled') THEN
      INSERT INTO {schema}.ready (id, queue, priority, vtime, run_at, grp, scheduled)
      VALUES (NEW.id, NEW.queue, NEW.priority, NEW.vtime, NEW.run_at, NEW.grp, NEW.state = 'scheduled');
    ELSIF NEW.state = 'active' THEN
      INSERT INTO {schema}.leases (id, queue, grp) VALUES (NEW.id, NEW.queue, NEW.grp);
    END IF;
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER jobs_sync_update AFTER UPDATE ON {schema}.jobs FOR EACH ROW
WHEN ((OLD.state, OLD.queue, OLD.priority, OLD.vtime, OLD.run_at, OLD.grp)
      IS DISTINCT FROM (NEW.state, NEW.queue, NEW.priority, NEW.vtime, NEW.run_at, NEW.grp)
      AND NOT (OLD.state IN ('waiting', 'scheduled') AND NEW.state = 'active')
      AND NOT (OLD.state = 'active' AND NEW.state = 'completed'))
EXECUTE FUNCTION {schema}.jobs_sync();

CREATE TRIGGER jobs_sync_delete AFTER DELETE ON {schema}.jobs FOR EACH ROW
WHEN (OLD.state IN ('waiting', 'scheduled', 'active'))
EXECUTE FUNCTION {schema}.jobs_sync();

-- complete_jobs as in migration 8 (worker_id stays on the finished job), also deleting the finished jobs' leases.
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
  ), unleased AS (
    DELETE FROM {schema}.leases l USING done d WHERE l.id = d.id
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

-- claim_limited as in migration 6, claiming from `ready` (as jobClaim does) and counting active
-- jobs in `leases`.
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
    v_budget := least(v_budget, p_concurrency - (SELECT count(*) FROM {schema}.leases l WHERE l.queue = p_queue));
  END IF;
  IF v_until <= v_now AND p_rate_key IS NOT NULL THEN
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
        SELECT r.id FROM {schema}.ready r
        WHERE r.queue = p_queue AND r.run_at <= v_now
        ORDER BY r.priority, r.vtime, r.run_at, r.id
        LIMIT v_budget
        FOR UPDATE SKIP LOCKED
      ), locked AS (
        SELECT j.id, j.state FROM {schema}.jobs j JOIN next ON j.id = next.id
        FOR NO KEY UPDATE OF j SKIP LOCKED
      ), taken AS (
        DELETE FROM {schema}.ready r USING locked WHERE r.id = locked.id
        RETURNING r.id
      ), claimed AS (
        UPDATE {schema}.jobs j
        SET state = 'active', attempt = j.attempt + 1, lease_token = j.lease_token + 1, progress = NULL,
            lease_expires_at = v_now + p_lease_ms, worker_id = p_worker, started_at = v_now, updated_at = v_now
        FROM taken WHERE j.id = taken.id AND j.state IN ('waiting', 'scheduled')
        RETURNING j.id, j.queue, j.priority, j.vtime, j.run_at, j.payload, j.attempt, j.max_attempts, j.backoff,
                  j.timeout_ms, j.idempotency_key, j.grp, j.tags, j.metadata, j.tenant, j.lease_token,
                  j.lease_expires_at, j.created_at, j.started_at
      ), leased AS (
        INSERT INTO {schema}.leases (id, queue, grp) SELECT c.id, c.queue, c.grp FROM claimed c
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
