-- Spool statements for PostgreSQL, one per name. Parameters are numbered ($n), each named in the
-- comment above its statement; times are epoch ms. Columns are listed, never `*`: the store
-- prepares its statements by name on its connections, and a prepared `SELECT *` fails once a
-- later migration adds a column while older nodes still run. {schema} is replaced by the store's quoted
-- schema name when the file is loaded, so these run whatever the connection's search_path (an
-- application's own client, for enqueue inside its transaction, included).
--
-- Notifications: statements that make work runnable or change what a queue may do (insert,
-- release, retry, promote, pause and resume, failures) call pg_notify in the same statement or
-- transaction, so the hint is delivered on commit and never before. The hot path (claims,
-- completions, progress, log lines) does not: a NOTIFY takes a database-wide lock from commit
-- until the commit is flushed, which would serialise every worker's round; the store sends one
-- coalesced hint for those afterwards (see postgres-store.ts).
--
-- Event ids: every statement below that inserts events writes a row first in the same
-- transaction (a job, a queue, or a row lock), so the transaction has its xid before it draws an
-- event id. The reader's watermark (eventList in postgres-store.ts) relies on that.

-- name: migrationLock
-- $1 lock name (one per schema): migrators of one schema take turns, others are not held up.
SELECT pg_advisory_xact_lock(hashtextextended($1, 0));

-- name: schemaCreate
CREATE SCHEMA IF NOT EXISTS {schema};

-- name: migrationsTable
CREATE TABLE IF NOT EXISTS {schema}.migrations (
  version     integer PRIMARY KEY,
  name        text NOT NULL,
  applied_at  bigint NOT NULL
);

-- name: migrationsApplied
SELECT version FROM {schema}.migrations ORDER BY version;

-- name: migrationRecord
-- $1 version, $2 name, $3 now
INSERT INTO {schema}.migrations (version, name, applied_at) VALUES ($1, $2, $3);

-- ── queues ─────────────────────────────────────────────────────────────────────────────────

-- name: queueEnsure
-- $1 name, $2 now
INSERT INTO {schema}.queues (name, created_at, updated_at) VALUES ($1, $2, $2)
ON CONFLICT (name) DO NOTHING;

-- name: queueGet
-- $1 name
SELECT name, paused, config, created_at, updated_at FROM {schema}.queues WHERE name = $1;

-- name: queueList
SELECT name, paused, config, created_at, updated_at FROM {schema}.queues ORDER BY name;

-- Creates the queue when missing, replaces its config, and reports it.
-- name: queueConfigure
-- $1 name, $2 config (json), $3 now, $4 wake channel, $5 wake payload
WITH q AS (
  INSERT INTO {schema}.queues AS q (name, config, created_at, updated_at) VALUES ($1, $2::jsonb, $3, $3)
  ON CONFLICT (name) DO UPDATE SET config = excluded.config, updated_at = excluded.updated_at
  RETURNING q.name, q.paused, q.config, q.created_at, q.updated_at
), event AS (
  INSERT INTO {schema}.events (at, type, queue, data)
  SELECT $3, 'queue.configured', name, jsonb_build_object('config', config) FROM q
)
SELECT q.*, pg_notify($4, $5) FROM q;

-- name: queuePause
-- $1 name, $2 paused, $3 now, $4 event type (queue.paused or queue.resumed), $5 wake channel,
-- $6 wake payload
WITH q AS (
  INSERT INTO {schema}.queues AS q (name, paused, created_at, updated_at) VALUES ($1, $2, $3, $3)
  ON CONFLICT (name) DO UPDATE SET paused = excluded.paused, updated_at = excluded.updated_at
  RETURNING q.name, q.paused, q.config, q.created_at, q.updated_at
), event AS (
  INSERT INTO {schema}.events (at, type, queue) SELECT $3, $4, name FROM q
)
SELECT q.*, pg_notify($5, $6) FROM q;

-- name: queueCounts
SELECT queue, state, count(*) AS n FROM {schema}.jobs GROUP BY queue, state;

-- name: queueCountsOne
-- $1 queue
SELECT queue, state, count(*) AS n FROM {schema}.jobs WHERE queue = $1 GROUP BY queue, state;

-- ── jobs: the hot path ─────────────────────────────────────────────────────────────────────

-- Inserts a batch in one statement. Ids are drawn first (in input order) so each created row
-- can be matched to its input by id; a row whose (queue, idempotency key) exists, or repeats an
-- earlier row of the batch, is skipped and looked up by the caller (jobByIdempotencyKeys).
-- name: jobInsert
-- $1 queues, $2 states, $3 priorities, $4 run_at, $5 payloads, $6 max attempts, $7 backoffs
-- (json), $8 timeouts (ms), $9 idempotency keys, $10 groups, $11 tags (json), $12 metadata
-- (json): one element per job; $13 now, $14 wake channel, $15 wake payload
WITH input AS (
  SELECT nextval('{schema}.jobs_id_seq') AS id, i.*
  FROM unnest($1::text[], $2::text[], $3::integer[], $4::bigint[], $5::text[], $6::integer[], $7::jsonb[],
              $8::integer[], $9::text[], $10::text[], $11::jsonb[], $12::jsonb[])
       WITH ORDINALITY AS i(queue, state, priority, run_at, payload, max_attempts, backoff, timeout_ms,
                            idempotency_key, grp, tags, metadata, ord)
), inserted AS (
  INSERT INTO {schema}.jobs AS j (id, queue, state, priority, run_at, payload, max_attempts, backoff,
                                  timeout_ms, idempotency_key, grp, tags, metadata, created_at, updated_at)
  SELECT id, queue, state, priority, run_at, payload, max_attempts, backoff, timeout_ms, idempotency_key,
         grp, tags, metadata, $13, $13
  FROM input ORDER BY ord
  ON CONFLICT (queue, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
  RETURNING j.id, j.queue, j.state
), event AS (
  INSERT INTO {schema}.events (at, type, queue, job_id, state)
  SELECT $13, 'job.created', queue, id, state FROM inserted ORDER BY id
), wake AS (
  SELECT pg_notify($14, $15) FROM (SELECT 1 FROM inserted LIMIT 1) AS any_created
)
SELECT input.ord, inserted.id, inserted.state, (SELECT count(*) FROM wake) AS woken
FROM inserted JOIN input USING (id);

-- name: jobByIdempotencyKeys
-- $1 queues, $2 idempotency keys (pairs, one element each); returns each pair's 1-based position
SELECT k.ord, j.id, j.state
FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS k(queue, idempotency_key, ord)
JOIN {schema}.jobs j ON j.queue = k.queue AND j.idempotency_key = k.idempotency_key;

-- A worker's round in one statement: record its finished jobs (guarded by their tokens), lease
-- the best runnable jobs, and write both sets of events and the per-minute stats. Completions
-- and claims touch different rows (active ones, runnable ones), so the one snapshot they share
-- is enough. SKIP LOCKED: workers racing for the same queue take different rows instead of
-- waiting on each other. Rows come back tagged `completed` (id only) or `claimed` (the job).
-- name: jobClaim
-- $1 queue, $2 now, $3 limit, $4 worker id, $5 lease expires at, $6 completed job ids,
-- $7 their lease tokens, $8 their results (one element per completion)
WITH done AS (
  UPDATE {schema}.jobs j
  SET state = 'completed', result = c.result, finished_at = $2, updated_at = $2,
      lease_expires_at = NULL, worker_id = NULL
  FROM unnest($6::bigint[], $7::integer[], $8::text[]) AS c(id, lease_token, result)
  WHERE j.id = c.id AND j.lease_token = c.lease_token AND j.state = 'active'
  RETURNING j.id, j.queue
), next AS (
  SELECT id FROM {schema}.jobs
  WHERE queue = $1 AND state IN ('waiting', 'scheduled') AND run_at <= $2
    AND NOT EXISTS (SELECT 1 FROM {schema}.queues WHERE name = $1 AND paused)
  ORDER BY priority, run_at, id
  LIMIT $3
  FOR UPDATE SKIP LOCKED
), claimed AS (
  UPDATE {schema}.jobs j
  SET state = 'active', attempt = j.attempt + 1, lease_token = j.lease_token + 1, progress = NULL,
      lease_expires_at = $5, worker_id = $4, started_at = $2, updated_at = $2
  FROM next WHERE j.id = next.id
  RETURNING j.id, j.queue, j.priority, j.run_at, j.payload, j.attempt, j.max_attempts, j.backoff, j.timeout_ms,
            j.idempotency_key, j.grp, j.tags, j.metadata, j.lease_token, j.lease_expires_at, j.created_at,
            j.started_at
), event AS (
  INSERT INTO {schema}.events (at, type, queue, job_id, state, data)
  (SELECT $2, 'job.completed', queue, id, 'completed', NULL::jsonb FROM done ORDER BY id)
  UNION ALL
  (SELECT $2, 'job.active', queue, id, 'active', jsonb_build_object('attempt', attempt) FROM claimed ORDER BY id)
), stats AS (
  INSERT INTO {schema}.stats_minute AS s (queue, minute, completed)
  SELECT queue, $2::bigint - $2::bigint % 60000, count(*) FROM done GROUP BY queue
  ON CONFLICT (queue, minute) DO UPDATE SET completed = s.completed + excluded.completed
)
SELECT 'claimed' AS kind, * FROM claimed
UNION ALL
SELECT 'completed', id, queue, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
FROM done;

-- The next time a not-yet-due job of the queue becomes claimable (a worker's idle timer).
-- Waiting jobs are due by definition, so only scheduled ones count (index jobs_due_queue).
-- name: jobNextRunAt
-- $1 queue, $2 now
SELECT min(run_at) AS run_at FROM {schema}.jobs WHERE queue = $1 AND state = 'scheduled' AND run_at > $2;

-- Completes a batch in one statement, each job only if still active under its token.
-- name: jobComplete
-- $1 job ids, $2 their lease tokens, $3 their results (one element per completion), $4 now
WITH done AS (
  UPDATE {schema}.jobs j
  SET state = 'completed', result = c.result, finished_at = $4, updated_at = $4,
      lease_expires_at = NULL, worker_id = NULL
  FROM unnest($1::bigint[], $2::integer[], $3::text[]) AS c(id, lease_token, result)
  WHERE j.id = c.id AND j.lease_token = c.lease_token AND j.state = 'active'
  RETURNING j.id, j.queue
), event AS (
  INSERT INTO {schema}.events (at, type, queue, job_id, state)
  SELECT $4, 'job.completed', queue, id, 'completed' FROM done ORDER BY id
), stats AS (
  INSERT INTO {schema}.stats_minute AS s (queue, minute, completed)
  SELECT queue, $4::bigint - $4::bigint % 60000, count(*) FROM done GROUP BY queue
  ON CONFLICT (queue, minute) DO UPDATE SET completed = s.completed + excluded.completed
)
SELECT id FROM done;

-- A failed attempt, under its lease: to failed, scheduled or waiting; the error joins the job's
-- history (the newest 50 kept); stats count a failure, or a retry unless the attempt is refunded.
-- No row back: the lease was lost, or there is no such job (the caller asks which).
-- name: jobFail
-- $1 id, $2 lease token, $3 new state, $4 run_at, $5 attempts refunded (0 or 1), $6 the attempt
-- error (json, or null to record none), $7 finished_at (or null), $8 now, $9 event data beyond
-- the attempt (json), $10 wake channel, $11 wake payload (null: no wake, the job is failed)
WITH failed AS (
  UPDATE {schema}.jobs j
  SET state = $3, run_at = $4, attempt = j.attempt - $5::integer, finished_at = $7, updated_at = $8,
      lease_expires_at = NULL, worker_id = NULL,
      errors = CASE WHEN $6::jsonb IS NULL THEN j.errors ELSE (
        SELECT jsonb_agg(e.error ORDER BY e.n)
        FROM jsonb_array_elements(j.errors || jsonb_build_array($6::jsonb)) WITH ORDINALITY AS e(error, n)
        WHERE e.n > jsonb_array_length(j.errors) + 1 - 50
      ) END
  WHERE j.id = $1 AND j.state = 'active' AND j.lease_token = $2
  RETURNING j.id, j.queue, j.attempt + $5::integer AS attempt
), event AS (
  INSERT INTO {schema}.events (at, type, queue, job_id, state, data)
  SELECT $8, CASE WHEN $3 = 'failed' THEN 'job.failed' ELSE 'job.retrying' END, queue, id, $3,
         jsonb_build_object('attempt', attempt) || $9::jsonb
  FROM failed
), stats AS (
  INSERT INTO {schema}.stats_minute AS s (queue, minute, failed, retried)
  SELECT queue, $8::bigint - $8::bigint % 60000, (CASE WHEN $3 = 'failed' THEN 1 ELSE 0 END),
         (CASE WHEN $3 <> 'failed' THEN 1 ELSE 0 END)
  FROM failed WHERE $3 = 'failed' OR $5::integer = 0
  ON CONFLICT (queue, minute) DO UPDATE
  SET failed = s.failed + excluded.failed, retried = s.retried + excluded.retried
), wake AS (
  SELECT pg_notify($10, $11::text) FROM failed WHERE $11::text IS NOT NULL
)
SELECT id, (SELECT count(*) FROM wake) AS woken FROM failed;

-- name: jobLeaseGet
-- $1 id
SELECT state, lease_token FROM {schema}.jobs WHERE id = $1;

-- Extends the leases still held, in one statement. Only lease_expires_at changes, and no index
-- covers it, so these updates are HOT (no index writes).
-- name: jobHeartbeat
-- $1 job ids, $2 their lease tokens, $3 new expiry
UPDATE {schema}.jobs j SET lease_expires_at = $3
FROM unnest($1::bigint[], $2::integer[]) AS h(id, lease_token)
WHERE j.id = h.id AND j.state = 'active' AND j.lease_token = h.lease_token
RETURNING j.id;

-- name: jobProgress
-- $1 id, $2 lease token, $3 progress (json), $4 now
WITH updated AS (
  UPDATE {schema}.jobs SET progress = $3::jsonb, updated_at = $4
  WHERE id = $1 AND state = 'active' AND lease_token = $2
  RETURNING id, queue
), event AS (
  INSERT INTO {schema}.events (at, type, queue, job_id, state, data)
  SELECT $4, 'job.progress', queue, id, 'active', $3::jsonb FROM updated
)
SELECT id FROM updated;

-- A log line for a job: any job, or with a lease token only the active job holding it. The row
-- lock (the weakest) keeps a removal from slipping in between, and gives the transaction its
-- xid before the event's id is drawn.
-- name: jobLog
-- $1 id, $2 lease token (or null), $3 now, $4 event data (json)
WITH job AS (
  SELECT id, queue, state FROM {schema}.jobs
  WHERE id = $1 AND ($2::integer IS NULL OR (state = 'active' AND lease_token = $2::integer))
  FOR KEY SHARE
), event AS (
  INSERT INTO {schema}.events (at, type, queue, job_id, state, data)
  SELECT $3, 'job.log', queue, id, state, $4::jsonb FROM job
)
SELECT id FROM job;

-- Hands an active job back unharmed: waiting again, its attempt refunded.
-- name: jobRelease
-- $1 id, $2 lease token, $3 now, $4 wake channel, $5 wake payload
WITH released AS (
  UPDATE {schema}.jobs
  SET state = 'waiting', attempt = greatest(attempt - 1, 0), updated_at = $3,
      lease_expires_at = NULL, worker_id = NULL, started_at = NULL
  WHERE id = $1 AND state = 'active' AND lease_token = $2
  RETURNING id, queue
), event AS (
  INSERT INTO {schema}.events (at, type, queue, job_id, state, data)
  SELECT $3, 'job.waiting', queue, id, 'waiting', '{"reason":"released"}'::jsonb FROM released
)
SELECT id, pg_notify($4, $5) FROM released;

-- ── jobs: management ───────────────────────────────────────────────────────────────────────

-- name: jobGet
-- $1 id
SELECT id, queue, state, priority, run_at, payload, result, attempt, max_attempts, backoff, timeout_ms,
       idempotency_key, grp, tags, metadata, progress, errors, lease_token, lease_expires_at, worker_id,
       created_at, started_at, finished_at, updated_at
FROM {schema}.jobs WHERE id = $1;

-- The read of a read-check-write transition: the row stays locked until the transaction ends.
-- name: jobGetForUpdate
-- $1 id
SELECT id, queue, state, priority, run_at, payload, result, attempt, max_attempts, backoff, timeout_ms,
       idempotency_key, grp, tags, metadata, progress, errors, lease_token, lease_expires_at, worker_id,
       created_at, started_at, finished_at, updated_at
FROM {schema}.jobs WHERE id = $1 FOR UPDATE;

-- name: jobSetState
-- $1 id, $2 state, $3 run_at, $4 attempt, $5 finished_at, $6 progress (json or null), $7 now
UPDATE {schema}.jobs
SET state = $2, run_at = $3, attempt = $4, finished_at = $5, progress = $6::jsonb,
    lease_expires_at = NULL, worker_id = NULL, updated_at = $7
WHERE id = $1
RETURNING id, queue, state, priority, run_at, payload, result, attempt, max_attempts, backoff, timeout_ms,
          idempotency_key, grp, tags, metadata, progress, errors, lease_token, lease_expires_at, worker_id,
          created_at, started_at, finished_at, updated_at;

-- name: jobReprioritize
-- $1 id, $2 priority, $3 now
UPDATE {schema}.jobs SET priority = $2, updated_at = $3 WHERE id = $1 RETURNING id, queue, state, priority, run_at, payload, result, attempt, max_attempts, backoff, timeout_ms,
          idempotency_key, grp, tags, metadata, progress, errors, lease_token, lease_expires_at, worker_id,
          created_at, started_at, finished_at, updated_at;

-- name: jobRemove
-- $1 job ids
DELETE FROM {schema}.jobs WHERE id = ANY($1::bigint[]);

-- name: jobRemoveEvents
-- $1 job ids
DELETE FROM {schema}.events WHERE job_id = ANY($1::bigint[]);

-- Retention: removes the jobs picked, with their events, unless they left the state they were
-- picked in (a failed job retried meanwhile stays).
-- name: jobCleanupRemove
-- $1 job ids, $2 the state they were picked in
WITH removed AS (
  DELETE FROM {schema}.jobs WHERE id = ANY($1::bigint[]) AND state = $2 RETURNING id
)
DELETE FROM {schema}.events WHERE job_id IN (SELECT id FROM removed);

-- An event of a manual transition, with its wake-up hint (both take effect on commit).
-- name: eventInsertWake
-- $1 at, $2 type, $3 queue, $4 job id, $5 state, $6 data (json or null), $7 wake channel,
-- $8 wake payload
WITH event AS (
  INSERT INTO {schema}.events (at, type, queue, job_id, state, data) VALUES ($1, $2, $3, $4, $5, $6::jsonb)
)
SELECT pg_notify($7, $8);

-- A hint on its own, outside any transaction (the hot path's, coalesced).
-- name: wake
-- $1 wake channel, $2 wake payload
SELECT pg_notify($1, $2);

-- name: jobPosition
-- $1 queue, $2 now, $3 priority, $4 run_at, $5 id (of the job asked about)
SELECT count(*) AS n FROM {schema}.jobs
WHERE queue = $1 AND state IN ('waiting', 'scheduled') AND run_at <= $2
  AND (priority, run_at, id) < ($3, $4, $5);

-- ── maintenance ────────────────────────────────────────────────────────────────────────────

-- Active jobs whose lease lapsed go back to waiting at once, or to failed on their last
-- attempt, with a SPOOL_LEASE_EXPIRED error in their history. At most $3 per pass; rows another
-- transaction holds are left for the next pass.
-- name: jobRecoverExpired
-- $1 now, $2 error message, $3 limit, $4 wake channel, $5 wake payload
WITH expired AS (
  SELECT id FROM {schema}.jobs
  WHERE state = 'active' AND lease_expires_at < $1
  LIMIT $3
  FOR UPDATE SKIP LOCKED
), recovered AS (
  UPDATE {schema}.jobs j
  SET state = CASE WHEN j.attempt >= j.max_attempts THEN 'failed' ELSE 'waiting' END,
      run_at = $1, updated_at = $1, lease_expires_at = NULL, worker_id = NULL,
      finished_at = CASE WHEN j.attempt >= j.max_attempts THEN $1 END,
      errors = (
        SELECT jsonb_agg(e.error ORDER BY e.n)
        FROM jsonb_array_elements(j.errors || jsonb_build_array(jsonb_build_object(
               'at', $1::bigint, 'attempt', j.attempt, 'message', $2::text, 'code', 'SPOOL_LEASE_EXPIRED',
               'retryable', true))) WITH ORDINALITY AS e(error, n)
        WHERE e.n > jsonb_array_length(j.errors) + 1 - 50
      )
  FROM expired
  WHERE j.id = expired.id
  RETURNING j.id, j.queue, j.state, j.attempt
), event AS (
  INSERT INTO {schema}.events (at, type, queue, job_id, state, data)
  SELECT $1, CASE WHEN state = 'failed' THEN 'job.failed' ELSE 'job.retrying' END, queue, id, state,
         jsonb_build_object('attempt', attempt, 'error', $2::text)
  FROM recovered ORDER BY id
), stats AS (
  INSERT INTO {schema}.stats_minute AS s (queue, minute, failed, retried)
  SELECT queue, $1::bigint - $1::bigint % 60000, count(*) FILTER (WHERE state = 'failed'),
         count(*) FILTER (WHERE state = 'waiting')
  FROM recovered GROUP BY queue
  ON CONFLICT (queue, minute) DO UPDATE
  SET failed = s.failed + excluded.failed, retried = s.retried + excluded.retried
), wake AS (
  SELECT pg_notify($4, $5) FROM (SELECT 1 FROM recovered WHERE state = 'waiting' LIMIT 1) AS any_waiting
)
SELECT id, state, (SELECT count(*) FROM wake) AS woken FROM recovered;

-- name: jobPromoteDue
-- $1 now, $2 limit, $3 wake channel, $4 wake payload
WITH due AS (
  SELECT id FROM {schema}.jobs
  WHERE state = 'scheduled' AND run_at <= $1
  ORDER BY run_at
  LIMIT $2
  FOR UPDATE SKIP LOCKED
), promoted AS (
  UPDATE {schema}.jobs j SET state = 'waiting', updated_at = $1
  FROM due WHERE j.id = due.id
  RETURNING j.id, j.queue
), event AS (
  INSERT INTO {schema}.events (at, type, queue, job_id, state, data)
  SELECT $1, 'job.waiting', queue, id, 'waiting', '{"reason":"due"}'::jsonb FROM promoted ORDER BY id
), wake AS (
  SELECT pg_notify($3, $4) FROM (SELECT 1 FROM promoted LIMIT 1) AS any_promoted
)
SELECT count(*) AS n, (SELECT count(*) FROM wake) AS woken FROM promoted;

-- name: jobCleanupByAge
-- $1 queue, $2 state, $3 finished before
SELECT id FROM {schema}.jobs
WHERE queue = $1 AND state = $2 AND finished_at IS NOT NULL AND finished_at < $3;

-- name: jobCleanupByCount
-- $1 queue, $2 state, $3 how many of the newest to keep
SELECT id FROM {schema}.jobs
WHERE queue = $1 AND state = $2 AND finished_at IS NOT NULL
ORDER BY finished_at DESC, id DESC
OFFSET $3;

-- ── events and stats ───────────────────────────────────────────────────────────────────────

-- An event-id watermark (see eventList in postgres-store.ts): the last id the sequence handed
-- out, committed or not (sequences are not transactional), then a transaction id drawn after
-- that read: every transaction that drew an event id up to `last` has an older xid. The CTE is
-- materialised, so the sequence is read (and copied) before the xid is assigned. (A snapshot's
-- xmax will not do: it is one past the last *completed* transaction, and a running transaction
-- can have a later xid.) xid8 values are 64-bit: returned as text.
-- name: eventMark
WITH sequence AS MATERIALIZED (
  SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS last FROM {schema}.events_id_seq
)
SELECT last, pg_current_xact_id()::text AS xid FROM sequence;

-- Every transaction with an xid below xmin has ended.
-- name: snapshotXmin
SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin;

-- name: eventListAll
-- $1 after id, $2 settled id (read nothing above it), $3 limit
SELECT id, at, type, queue, job_id, state, data FROM {schema}.events WHERE id > $1 AND id <= $2 ORDER BY id LIMIT $3;

-- name: eventListQueue
-- $1 after id, $2 settled id, $3 limit, $4 queue
SELECT id, at, type, queue, job_id, state, data FROM {schema}.events WHERE queue = $4 AND id > $1 AND id <= $2 ORDER BY id LIMIT $3;

-- name: eventListJob
-- $1 after id, $2 settled id, $3 limit, $4 job id
SELECT id, at, type, queue, job_id, state, data FROM {schema}.events WHERE job_id = $4 AND id > $1 AND id <= $2 ORDER BY id LIMIT $3;

-- name: statsBucketsAll
-- $1 since
SELECT minute, sum(completed)::bigint AS completed, sum(failed)::bigint AS failed, sum(retried)::bigint AS retried
FROM {schema}.stats_minute WHERE minute >= $1 GROUP BY minute ORDER BY minute;

-- name: statsBucketsQueue
-- $1 queue, $2 since
SELECT minute, completed, failed, retried
FROM {schema}.stats_minute WHERE queue = $1 AND minute >= $2 ORDER BY minute;

-- name: statsTimingsAll
-- $1 limit
SELECT started_at - run_at AS wait_ms, finished_at - started_at AS run_ms
FROM {schema}.jobs WHERE state = 'completed' AND finished_at IS NOT NULL
ORDER BY id DESC LIMIT $1;

-- name: statsTimingsQueue
-- $1 queue, $2 limit
SELECT started_at - run_at AS wait_ms, finished_at - started_at AS run_ms
FROM {schema}.jobs WHERE queue = $1 AND state = 'completed' AND finished_at IS NOT NULL
ORDER BY finished_at DESC LIMIT $2;

-- Stats buckets, queue-level events and the last word on removed jobs older than $1; a job's
-- own events go with the job.
-- name: statsPrune
-- $1 before
WITH stats AS (
  DELETE FROM {schema}.stats_minute WHERE minute < $1
)
DELETE FROM {schema}.events WHERE at < $1 AND (job_id IS NULL OR type = 'job.removed');

-- Takes the lease when it is free, expired or already ours.
-- name: leaderAcquire
-- $1 name, $2 node id, $3 expires at, $4 now
INSERT INTO {schema}.leader_leases AS l (name, node_id, expires_at) VALUES ($1, $2, $3)
ON CONFLICT (name) DO UPDATE SET node_id = excluded.node_id, expires_at = excluded.expires_at
WHERE l.node_id = excluded.node_id OR l.expires_at < $4
RETURNING node_id;

-- name: leaderRelease
-- $1 name, $2 node id
DELETE FROM {schema}.leader_leases WHERE name = $1 AND node_id = $2;

-- Newest first; page with the last id of the previous page.
-- name: jobListAll
-- $1 before id, $2 limit
SELECT id, queue, state, priority, run_at, payload, result, attempt, max_attempts, backoff, timeout_ms,
       idempotency_key, grp, tags, metadata, progress, errors, lease_token, lease_expires_at, worker_id,
       created_at, started_at, finished_at, updated_at
FROM {schema}.jobs WHERE id < $1 ORDER BY id DESC LIMIT $2;

-- name: jobListQueue
-- $1 before id, $2 limit, $3 queue
SELECT id, queue, state, priority, run_at, payload, result, attempt, max_attempts, backoff, timeout_ms,
       idempotency_key, grp, tags, metadata, progress, errors, lease_token, lease_expires_at, worker_id,
       created_at, started_at, finished_at, updated_at
FROM {schema}.jobs WHERE queue = $3 AND id < $1 ORDER BY id DESC LIMIT $2;

-- name: jobListState
-- $1 before id, $2 limit, $3 state
SELECT id, queue, state, priority, run_at, payload, result, attempt, max_attempts, backoff, timeout_ms,
       idempotency_key, grp, tags, metadata, progress, errors, lease_token, lease_expires_at, worker_id,
       created_at, started_at, finished_at, updated_at
FROM {schema}.jobs WHERE state = $3 AND id < $1 ORDER BY id DESC LIMIT $2;

-- name: jobListQueueState
-- $1 before id, $2 limit, $3 queue, $4 state
SELECT id, queue, state, priority, run_at, payload, result, attempt, max_attempts, backoff, timeout_ms,
       idempotency_key, grp, tags, metadata, progress, errors, lease_token, lease_expires_at, worker_id,
       created_at, started_at, finished_at, updated_at
FROM {schema}.jobs WHERE queue = $3 AND state = $4 AND id < $1 ORDER BY id DESC LIMIT $2;

-- ── schedules ──────────────────────────────────────────────────────────────────────────────

-- An unchanged cron, time zone and paused flag keep the pending next run (so re-applying a
-- schedule at every deploy neither skips nor repeats a tick); any change takes $10.
-- name: scheduleUpsert
-- $1 name, $2 tenant, $3 cron, $4 timezone, $5 queue, $6 payload, $7 options, $8 catch-up,
-- $9 paused, $10 next run at, $11 now
INSERT INTO {schema}.schedules AS s (name, tenant, cron, timezone, queue, payload, options, catch_up,
  paused, next_run_at, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)
ON CONFLICT (name) DO UPDATE SET
  tenant = excluded.tenant, queue = excluded.queue, payload = excluded.payload,
  options = excluded.options, catch_up = excluded.catch_up,
  next_run_at = CASE
    WHEN s.cron = excluded.cron AND s.timezone = excluded.timezone AND s.paused = excluded.paused
      THEN s.next_run_at
    ELSE excluded.next_run_at END,
  cron = excluded.cron, timezone = excluded.timezone, paused = excluded.paused,
  updated_at = excluded.updated_at
RETURNING *;

-- name: scheduleGet
-- $1 name
SELECT * FROM {schema}.schedules WHERE name = $1;

-- name: scheduleListAll
SELECT * FROM {schema}.schedules ORDER BY name;

-- name: scheduleListTenant
-- $1 tenant
SELECT * FROM {schema}.schedules WHERE tenant = $1 ORDER BY name;

-- name: scheduleDelete
-- $1 name
DELETE FROM {schema}.schedules WHERE name = $1 RETURNING name;

-- Resuming takes $3 (ticks while paused are skipped); pausing keeps the next run.
-- name: scheduleSetPaused
-- $1 name, $2 paused, $3 next run at, $4 now
UPDATE {schema}.schedules SET
  next_run_at = CASE WHEN paused AND NOT $2::boolean THEN $3::bigint ELSE next_run_at END,
  paused = $2, updated_at = $4
WHERE name = $1
RETURNING *;

-- name: scheduleDue
-- $1 now, $2 limit
SELECT * FROM {schema}.schedules WHERE NOT paused AND next_run_at <= $1 ORDER BY next_run_at LIMIT $2;

-- The compare-and-set of a tick: only the node that read this next run moves it on.
-- name: scheduleAdvance
-- $1 name, $2 from, $3 cron, $4 timezone, $5 next run at, $6 last run at
UPDATE {schema}.schedules SET next_run_at = $5, last_run_at = coalesce($6, last_run_at)
WHERE name = $1 AND next_run_at = $2 AND cron = $3 AND timezone = $4 AND NOT paused
RETURNING name;
