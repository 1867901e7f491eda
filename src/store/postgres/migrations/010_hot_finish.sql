-- Spool schema, version 10 (PostgreSQL): a claim and a finish are HOT updates of the job row
-- (issue 14, step 2; see docs/performance.md).
--
-- PostgreSQL writes no index entry for an update (a HOT update) when no column any index of the
-- table covers changes, including the columns of a partial index's predicate, and the new row
-- version fits on the same page (the table's fillfactor, 75, leaves room). A claim changes
-- state, attempt, lease token, lease expiry, worker and start time; a finish changes state,
-- result, finish time and lease. So after this migration no index of `jobs` covers any of them:
-- - `jobs_queue_state` (queue, state, id) becomes `jobs_queue` (queue, id): listings and counts
--   of a queue read the job rows for their state;
-- - `jobs_finished` (retention by finish time) and `jobs_blocked` go: retention reads a queue's
--   finished jobs through `jobs_queue` (and `job_states` for failed and cancelled ones);
-- - listings by state find their jobs in the narrow tables: `ready` (waiting, scheduled),
--   `leases` (active) and the new `job_states` below (blocked, failed, cancelled); only
--   completed jobs are listed by reading the job rows, where they are the many.
-- The indexes left on jobs: the primary key, jobs_tenant (tenant, id), jobs_queue (queue, id)
-- and jobs_idempotency (queue, idempotency key): none of their columns changes after insert.
--
-- The claims (jobClaim, jobClaimIds, claim_limited below) now lock the chosen job rows with
-- SKIP LOCKED, walking `ready` in claim order, instead of locking the `ready` rows and then the
-- job rows: one row lock a job fewer. Every statement now takes a job's row before its narrow
-- rows, and the claims never wait, so nothing can deadlock; a `ready` row is only deleted by
-- the transaction holding its job's row.

-- The jobs that are blocked (waiting for dependencies), failed or cancelled: few next to the
-- completed ones, listed and counted from here. Kept by jobs_sync (none of these states is
-- reached or left on the hot path), and at insert for jobs that start blocked.
CREATE TABLE {schema}.job_states (
  id     bigint PRIMARY KEY,
  queue  text NOT NULL,
  state  text NOT NULL,
  grp    text
);
CREATE INDEX job_states_state ON {schema}.job_states (state, id);
CREATE INDEX job_states_queue ON {schema}.job_states (queue, state, id);

INSERT INTO {schema}.job_states (id, queue, state, grp)
SELECT id, queue, state, grp FROM {schema}.jobs WHERE state IN ('blocked', 'failed', 'cancelled');

DROP INDEX {schema}.jobs_queue_state;
DROP INDEX {schema}.jobs_finished;
DROP INDEX {schema}.jobs_blocked;
CREATE INDEX jobs_queue ON {schema}.jobs (queue, id);

-- Room on each page for a new version of every row on it (a claim and a finish each write one
-- before the old one can be pruned): with 75 a page filled by a bulk insert had room for about a
-- third of its rows' updates, the rest went to other pages, not HOT. Pages written from now on.
ALTER TABLE {schema}.jobs SET (fillfactor = 50);

-- jobs_sync as in migration 9, keeping job_states as well.
CREATE OR REPLACE FUNCTION {schema}.jobs_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    IF OLD.state IN ('waiting', 'scheduled') THEN
      DELETE FROM {schema}.ready WHERE id = OLD.id;
    ELSIF OLD.state = 'active' THEN
      DELETE FROM {schema}.leases WHERE id = OLD.id;
    ELSIF OLD.state IN ('blocked', 'failed', 'cancelled') THEN
      DELETE FROM {schema}.job_states WHERE id = OLD.id;
    END IF;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    IF NEW.state IN ('waiting', 'scheduled') THEN
      INSERT INTO {schema}.ready (id, queue, priority, vtime, run_at, grp, scheduled)
      VALUES (NEW.id, NEW.queue, NEW.priority, NEW.vtime, NEW.run_at, NEW.grp, NEW.state = 'scheduled');
    ELSIF NEW.state = 'active' THEN
      INSERT INTO {schema}.leases (id, queue, grp) VALUES (NEW.id, NEW.queue, NEW.grp);
    ELSIF NEW.state IN ('blocked', 'failed', 'cancelled') THEN
      INSERT INTO {schema}.job_states (id, queue, state, grp) VALUES (NEW.id, NEW.queue, NEW.state, NEW.grp);
    END IF;
  END IF;
  RETURN NULL;
END
$$;

-- Removing a job of any state but completed has a narrow row to remove too.
DROP TRIGGER jobs_sync_delete ON {schema}.jobs;
CREATE TRIGGER jobs_sync_delete AFTER DELETE ON {schema}.jobs FOR EACH ROW
WHEN (OLD.state <> 'completed')
EXECUTE FUNCTION {schema}.jobs_sync();

-- The head of a queue: the best runnable jobs, their rows locked, in claim order. The claims
-- call this rather than writing the query out: a function can carry planner settings, and these
-- keep it on the one good plan, walking ready_claim in order and stopping after p_limit rows.
-- Left to itself, the planner estimates a `ready` table it has no statistics for yet (a new
-- schema, or one whose backlog just grew) at a few rows, and then reads every runnable row of
-- the queue and sorts them: 18,000 rows and 54,000 buffer reads a round in a drain of 20,000
-- jobs, against 50 rows and about 300 buffer reads. PL/pgSQL keeps the plan across calls. Its
-- query reads a snapshot of its own, taken after the calling statement's: a job that became
-- runnable in between can be locked here and left alone by the caller (its row is not visible
-- to the caller's update), which only means one job fewer this round. ROWS 10 (a round's size,
-- roughly; the default is 1,000): the caller then deletes and updates the rows it returns by
-- their keys, not by hashing the whole of `ready` and `jobs`.
CREATE FUNCTION {schema}.ready_head(p_queue text, p_now bigint, p_limit integer)
RETURNS TABLE (id bigint) LANGUAGE plpgsql VOLATILE ROWS 10
SET enable_sort = off SET enable_bitmapscan = off SET enable_seqscan = off SET enable_hashjoin = off
SET enable_mergejoin = off AS $$
#variable_conflict use_column
BEGIN
  RETURN QUERY
    SELECT j.id FROM {schema}.ready r JOIN {schema}.jobs j ON j.id = r.id
    WHERE r.queue = p_queue AND r.run_at <= p_now AND j.state IN ('waiting', 'scheduled')
    ORDER BY r.priority, r.vtime, r.run_at, r.id
    LIMIT p_limit
    FOR NO KEY UPDATE OF j SKIP LOCKED;
END
$$;

-- claim_limited as in migration 9, taking the queue's head from ready_head (as jobClaim does).
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
        SELECT h.id FROM {schema}.ready_head(p_queue, v_now, v_budget::integer) AS h
      ), taken AS (
        DELETE FROM {schema}.ready r USING next WHERE r.id = next.id
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

-- complete_jobs and claim_limited find every row they touch by its key. PL/pgSQL keeps their plans
-- from the first calls, which on a new schema come while its tables hold a few rows, when a
-- sequential scan is the cheaper plan; kept, it scans whole tables once they fill up (the round
-- of jobClaim did, see ready_head). These settings keep them on their indexes whatever the
-- tables' sizes were when they were planned.
ALTER FUNCTION {schema}.complete_jobs(bigint[], integer[], text[], bigint, text, text)
  SET enable_seqscan = off SET enable_bitmapscan = off SET enable_hashjoin = off SET enable_mergejoin = off;
ALTER FUNCTION {schema}.claim_limited(text, bigint, integer, text, bigint, bigint[], integer[], text[], text, text,
                                      integer, text, bigint, bigint)
  SET enable_seqscan = off SET enable_bitmapscan = off SET enable_hashjoin = off SET enable_mergejoin = off;

-- A worker's round (jobClaim) as one call: the completions (complete_jobs: their events, stats
-- and the parents they unblock), then, unless the queue is paused, held back or constrained,
-- the claim of the queue's head (ready_head) moved from `ready` to `leases` with its events. As
-- a statement of its own the round had to be planned at every call (0.33 ms, about 7 µs a job
-- in rounds of 50): a plan kept from the first rounds of a new schema, when its tables held a
-- few rows, scanned them whole once they filled. A function keeps its plans, and these settings
-- keep them on the indexes. Rows come back as from claim_limited (kind `completed` or `claimed`).
CREATE FUNCTION {schema}.claim_round(
  p_queue text, p_now bigint, p_limit integer, p_worker text, p_lease_expires bigint,
  p_ids bigint[], p_tokens integer[], p_results text[], p_channel text, p_payload text)
RETURNS TABLE (kind text, id bigint, queue text, priority integer, vtime double precision, run_at bigint,
               payload text, attempt integer, max_attempts integer, backoff jsonb, timeout_ms integer,
               idempotency_key text, grp text, tags jsonb, metadata jsonb, tenant text, lease_token integer,
               lease_expires_at bigint, created_at bigint, started_at bigint, woke text[], retry_at bigint)
LANGUAGE plpgsql VOLATILE
SET enable_seqscan = off SET enable_bitmapscan = off SET enable_hashjoin = off SET enable_mergejoin = off AS $$
#variable_conflict use_column
BEGIN
  IF cardinality(p_ids) > 0 THEN
    RETURN QUERY
      SELECT 'completed', c.id, NULL::text, NULL::integer, NULL::double precision, NULL::bigint, NULL::text,
             NULL::integer, NULL::integer, NULL::jsonb, NULL::integer, NULL::text, NULL::text, NULL::jsonb,
             NULL::jsonb, NULL::text, NULL::integer, NULL::bigint, NULL::bigint, NULL::bigint, c.woke, NULL::bigint
      FROM {schema}.complete_jobs(p_ids, p_tokens, p_results, p_now, p_channel, p_payload) AS c;
  END IF;
  IF p_limit <= 0 OR EXISTS (SELECT 1 FROM {schema}.queues q
                             WHERE q.name = p_queue AND (q.paused OR q.paused_until > p_now OR q.constrained)) THEN
    RETURN;
  END IF;
  RETURN QUERY
    WITH next AS (
      SELECT h.id FROM {schema}.ready_head(p_queue, p_now, p_limit) AS h
    ), taken AS (
      DELETE FROM {schema}.ready r USING next WHERE r.id = next.id
      RETURNING r.id
    ), claimed AS (
      UPDATE {schema}.jobs j
      SET state = 'active', attempt = j.attempt + 1, lease_token = j.lease_token + 1, progress = NULL,
          lease_expires_at = p_lease_expires, worker_id = p_worker, started_at = p_now, updated_at = p_now
      FROM taken WHERE j.id = taken.id AND j.state IN ('waiting', 'scheduled')
      RETURNING j.id, j.queue, j.priority, j.vtime, j.run_at, j.payload, j.attempt, j.max_attempts, j.backoff,
                j.timeout_ms, j.idempotency_key, j.grp, j.tags, j.metadata, j.tenant, j.lease_token,
                j.lease_expires_at, j.created_at, j.started_at
    ), leased AS (
      INSERT INTO {schema}.leases (id, queue, grp) SELECT c.id, c.queue, c.grp FROM claimed c
    ), event AS (
      INSERT INTO {schema}.events (at, type, queue, job_id, state, data)
      SELECT p_now, 'job.active', c.queue, c.id, 'active', jsonb_build_object('attempt', c.attempt)
      FROM claimed c ORDER BY c.id
    )
    SELECT 'claimed', c.id, c.queue, c.priority, c.vtime, c.run_at, c.payload, c.attempt, c.max_attempts,
           c.backoff, c.timeout_ms, c.idempotency_key, c.grp, c.tags, c.metadata, c.tenant, c.lease_token,
           c.lease_expires_at, c.created_at, c.started_at, NULL::text[], NULL::bigint
    FROM claimed c;
END
$$;
