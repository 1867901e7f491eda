-- Spool statements for PostgreSQL, one per name. Parameters are numbered ($n), each named in the
-- comment above its statement; times are epoch ms. Columns are listed, never `*`: the store
-- prepares its statements by name on its connections, and a prepared `SELECT *` fails once a
-- later migration adds a column while older nodes still run. {schema} is replaced by the store's quoted
-- schema name when the file is loaded, so these run whatever the connection's search_path (an
-- application's own client, for enqueue inside its transaction, included). {jobColumns} is
-- replaced by the full list of a job row's columns (JOB_COLUMNS in postgres-store.ts).
--
-- Notifications: statements that make work runnable or change what a queue may do (insert,
-- release, retry, promote, pause and resume, failures) call pg_notify in the same statement or
-- transaction, so the hint is delivered on commit and never before. The hot path (claims,
-- completions, progress, log lines) does not: a NOTIFY takes a database-wide lock from commit
-- until the commit is flushed, which would serialise every worker's round; the store sends one
-- coalesced hint for those afterwards (see postgres-store.ts). The exception is a completion
-- that makes a waiting parent runnable (flows): resolve_dependents notifies then, and only then.
--
-- Event ids: every statement below that inserts events writes a row first in the same
-- transaction (a job, a queue, or a row lock), so the transaction has its xid before it draws an
-- event id. The reader's watermark (eventList in postgres-store.ts) relies on that.
--
-- Flows: statements that finish jobs call {schema}.resolve_dependents (migration 003, which says
-- why it is a function) on the jobs they finished. They reference their own event and stats CTEs
-- first, so those run before it (events in causal order, and no row written by both).

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
SELECT name, paused, paused_until, config, created_at, updated_at FROM {schema}.queues WHERE name = $1;

-- name: queueList
SELECT name, paused, paused_until, config, created_at, updated_at FROM {schema}.queues ORDER BY name;

-- Creates the queue when missing, replaces its config, and reports it.
-- name: queueConfigure
-- $1 name, $2 config (json), $3 now, $4 wake channel, $5 wake payload
WITH q AS (
  INSERT INTO {schema}.queues AS q (name, config, created_at, updated_at) VALUES ($1, $2::jsonb, $3, $3)
  ON CONFLICT (name) DO UPDATE SET config = excluded.config, updated_at = excluded.updated_at
  RETURNING q.name, q.paused, q.paused_until, q.config, q.created_at, q.updated_at
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
  RETURNING q.name, q.paused, q.paused_until, q.config, q.created_at, q.updated_at
), event AS (
  INSERT INTO {schema}.events (at, type, queue) SELECT $3, $4, name FROM q
)
SELECT q.*, pg_notify($5, $6) FROM q;

-- Whether the queue's claims must take the constrained path (the fast claim refuses it).
-- name: queueConstrain
-- $1 name, $2 constrained, $3 now, $4 wake channel, $5 wake payload
WITH q AS (
  INSERT INTO {schema}.queues AS q (name, constrained, created_at, updated_at) VALUES ($1, $2, $3, $3)
  ON CONFLICT (name) DO UPDATE SET constrained = excluded.constrained, updated_at = excluded.updated_at
  WHERE q.constrained IS DISTINCT FROM excluded.constrained
  RETURNING q.name
)
SELECT pg_notify($4, $5) FROM q;

-- name: queueCounts
SELECT queue, state, count(*) AS n FROM {schema}.jobs GROUP BY queue, state;

-- name: queueCountsOne
-- $1 queue
SELECT queue, state, count(*) AS n FROM {schema}.jobs WHERE queue = $1 GROUP BY queue, state;

-- name: queueCountsTenant
-- $1 tenant
SELECT queue, state, count(*) AS n FROM {schema}.jobs WHERE tenant = $1 GROUP BY queue, state;

-- name: queueCountsOneTenant
-- $1 queue, $2 tenant
SELECT queue, state, count(*) AS n FROM {schema}.jobs WHERE queue = $1 AND tenant = $2 GROUP BY queue, state;

-- The oldest waiting job of each queue, from `ready` (ids grow with creation).
-- name: queueOldestWaiting
SELECT q.name AS queue,
       (SELECT j.created_at FROM {schema}.jobs j
        WHERE j.id = (SELECT min(r.id) FROM {schema}.ready r WHERE r.queue = q.name AND NOT r.scheduled)) AS created_at
FROM {schema}.queues q;

-- The oldest waiting job of one tenant: per queue, its `ready` rows (ready_claim by queue) in id order
-- until one of the tenant's (other tenants' waiting jobs ahead of it are skipped).
-- name: jobOldestWaitingTenant
-- $1 tenant
SELECT j.id, j.queue, j.created_at FROM {schema}.queues q
CROSS JOIN LATERAL (SELECT w.id, w.queue, w.created_at FROM {schema}.ready r
                    JOIN {schema}.jobs w ON w.id = r.id
                    WHERE r.queue = q.name AND NOT r.scheduled AND w.tenant = $1
                    ORDER BY r.id LIMIT 1) j
ORDER BY j.id LIMIT 1;

-- name: jobOldestWaitingOneTenant
-- $1 queue, $2 tenant
SELECT w.id, w.queue, w.created_at FROM {schema}.ready r JOIN {schema}.jobs w ON w.id = r.id
WHERE r.queue = $1 AND NOT r.scheduled AND w.tenant = $2 ORDER BY r.id LIMIT 1;

-- ── jobs: the hot path ─────────────────────────────────────────────────────────────────────

-- Inserts a batch in one statement. Ids are drawn first (in input order) so each created row
-- can be matched to its input by id; a row whose (queue, tenant, idempotency key) exists, or repeats an
-- earlier row of the batch, is skipped and looked up by the caller (jobByIdempotencyKeys).
-- Dependencies (flows) and fair-queuing clocks ride along; a plain enqueue passes them empty
-- (and deps pending empty too: unnest pads it with nulls, read as 0).
-- name: jobInsert
-- $1 queues, $2 states, $3 priorities, $4 run_at, $5 payloads, $6 max attempts, $7 backoffs
-- (json), $8 timeouts (ms), $9 idempotency keys, $10 groups, $11 tags (json), $12 metadata
-- (json), $13 tenants, $14 virtual times (fair queuing), $15 dependencies pending: one element
-- per job; $16 now, $17 wake channel, $18 wake payload;
-- dependencies, one element per edge: $19 the waiting job's position in this insert (1-based),
-- $20 the id it waits for, or null and $21 that job's position in this insert, $22 on_failure,
-- $23 resolved already;
-- fair-queuing clocks to store, one element per group: $24 queues, $25 groups, $26 virtual times
WITH input AS (
  SELECT nextval('{schema}.jobs_id_seq') AS id, i.*
  FROM unnest($1::text[], $2::text[], $3::integer[], $4::bigint[], $5::text[], $6::integer[], $7::jsonb[],
              $8::integer[], $9::text[], $10::text[], $11::jsonb[], $12::jsonb[], $13::text[],
              $14::double precision[], $15::integer[])
       WITH ORDINALITY AS i(queue, state, priority, run_at, payload, max_attempts, backoff, timeout_ms,
                            idempotency_key, grp, tags, metadata, tenant, vtime, deps_pending, ord)
), inserted AS (
  INSERT INTO {schema}.jobs AS j (id, queue, state, priority, run_at, payload, max_attempts, backoff,
                                  timeout_ms, idempotency_key, grp, tags, metadata, tenant, vtime, deps_pending,
                                  created_at, updated_at)
  SELECT id, queue, state, priority, run_at, payload, max_attempts, backoff, timeout_ms, idempotency_key,
         grp, tags, metadata, tenant, coalesce(vtime, 0), coalesce(deps_pending, 0), $16, $16
  FROM input ORDER BY ord
  ON CONFLICT (queue, tenant, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
  RETURNING j.id, j.queue, j.state, j.priority, j.vtime, j.run_at, j.grp
), ready AS (
  INSERT INTO {schema}.ready (id, queue, priority, vtime, run_at, grp, scheduled)
  SELECT id, queue, priority, vtime, run_at, grp, state = 'scheduled' FROM inserted
  WHERE state IN ('waiting', 'scheduled')
), marked AS (
  INSERT INTO {schema}.job_states (id, queue, state, grp)
  SELECT id, queue, state, grp FROM inserted WHERE state = 'blocked'
), deps AS (
  SELECT p.id AS parent_id, coalesce(d.child_id, c.id) AS child_id, d.on_failure, d.resolved, d.n
  FROM unnest($19::integer[], $20::bigint[], $21::integer[], $22::text[], $23::boolean[])
       WITH ORDINALITY AS d(parent_ord, child_id, child_ord, on_failure, resolved, n)
  JOIN input p ON p.ord = d.parent_ord
  LEFT JOIN input c ON c.ord = d.child_ord
), edges AS (
  INSERT INTO {schema}.job_deps (parent_id, child_id, on_failure, resolved)
  SELECT deps.parent_id, deps.child_id, deps.on_failure, deps.resolved
  FROM deps JOIN inserted ON inserted.id = deps.parent_id
  ON CONFLICT (parent_id, child_id) DO NOTHING
), event AS (
  INSERT INTO {schema}.events (at, type, queue, job_id, state, data)
  SELECT $16, 'job.created', i.queue, i.id, i.state, a.data
  FROM inserted i
  LEFT JOIN (
    SELECT parent_id, jsonb_build_object('dependsOn', jsonb_agg(child_id::text ORDER BY n)) AS data
    FROM deps GROUP BY parent_id
  ) AS a ON a.parent_id = i.id
  ORDER BY i.id
), clocks AS (
  INSERT INTO {schema}.queue_groups AS g (queue, grp, vtime, updated_at)
  SELECT c.queue, c.grp, c.vtime, $16
  FROM unnest($24::text[], $25::text[], $26::double precision[]) AS c(queue, grp, vtime)
  ON CONFLICT (queue, grp) DO UPDATE SET vtime = excluded.vtime, updated_at = excluded.updated_at
), wake AS (
  SELECT pg_notify($17, $18)
  FROM (SELECT 1 FROM inserted WHERE state IN ('waiting', 'scheduled') LIMIT 1) AS any_runnable
)
SELECT input.ord, inserted.id, inserted.state, (SELECT count(*) FROM wake) AS woken
FROM inserted JOIN input USING (id);

-- The common batch (no idempotency key, dependency, fair-queuing time or size limit) in a
-- cheaper form: the jobs arrive as one JSON array (JSON.stringify is native; a text array per
-- column costs the client an escaping pass per element), and without ON CONFLICT every row is a
-- plain insert rather than a speculative one. Ids are drawn in input order, so they come back
-- in input order.
-- name: jobInsertPlain
-- $1 jobs (json array of {q queue, s state, p priority, r run_at, d payload, m max attempts,
-- b backoff (json text), t timeout ms, g group, tg tags (json text), md metadata (json text),
-- tn tenant}), $2 now, $3 wake channel, $4 wake payload
WITH input AS (
  SELECT nextval('{schema}.jobs_id_seq') AS id, i.*
  FROM ROWS FROM (json_to_recordset($1::json) AS (q text, s text, p integer, r bigint, d text, m integer, b text,
                                                     t integer, g text, tg text, md text, tn text))
       WITH ORDINALITY AS i(q, s, p, r, d, m, b, t, g, tg, md, tn, ord)
), inserted AS (
  INSERT INTO {schema}.jobs (id, queue, state, priority, run_at, payload, max_attempts, backoff, timeout_ms, grp,
                             tags, metadata, tenant, created_at, updated_at)
  SELECT id, q, s, p, r, d, m, b::jsonb, t, g, tg::jsonb, md::jsonb, tn, $2, $2 FROM input ORDER BY ord
  RETURNING id, queue, state
), ready AS (
  INSERT INTO {schema}.ready (id, queue, priority, vtime, run_at, grp, scheduled)
  SELECT id, q, p, 0, r, g, s = 'scheduled' FROM input
), event AS (
  INSERT INTO {schema}.events (at, type, queue, job_id, state)
  SELECT $2, 'job.created', queue, id, state FROM inserted ORDER BY id
), wake AS (
  SELECT pg_notify($3, $4)
  FROM (SELECT 1 FROM inserted WHERE state IN ('waiting', 'scheduled') LIMIT 1) AS any_runnable
)
SELECT id, s AS state, (SELECT count(*) FROM wake) AS woken FROM input ORDER BY ord;

-- A key names a job within its queue and tenant (migration 8).
-- name: jobByIdempotencyKeys
-- $1 queues, $2 tenants, $3 idempotency keys (one element each per job); returns each job's
-- 1-based position
SELECT k.ord, j.id, j.state
FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS k(queue, tenant, idempotency_key, ord)
JOIN {schema}.jobs j ON j.queue = k.queue AND j.tenant = k.tenant AND j.idempotency_key = k.idempotency_key;

-- A worker's round in one call: record its finished jobs (guarded by their tokens), lease the
-- best runnable jobs, and write both sets of events and the per-minute stats; see claim_round in
-- migrations/010_hot_finish.sql. SKIP LOCKED: workers racing for the same queue take different
-- rows instead of waiting on each other. A paused queue, one held back until a time
-- (Retry-After), and one whose limits need the constrained path claim nothing here. Rows come
-- back tagged `completed` (id, and the queues of parents made runnable) or `claimed` (the job).
-- name: jobClaim
-- $1 queue, $2 now, $3 limit, $4 worker id, $5 lease expires at, $6 completed job ids,
-- $7 their lease tokens, $8 their results (one element per completion), $9 wake channel,
-- $10 wake payload (for parents made runnable)
SELECT kind, id, queue, priority, vtime, run_at, payload, attempt, max_attempts, backoff, timeout_ms,
       idempotency_key, grp, tags, metadata, tenant, lease_token, lease_expires_at, created_at, started_at, woke
FROM {schema}.claim_round($1, $2, $3, $4, $5, $6::bigint[], $7::integer[], $8::text[], $9, $10);

-- The next time a not-yet-due job of the queue becomes claimable (a worker's idle timer).
-- Waiting jobs are due by definition, so only scheduled ones count (index ready_due_queue).
-- name: jobNextRunAt
-- $1 queue, $2 now
SELECT min(run_at) AS run_at FROM {schema}.ready WHERE queue = $1 AND scheduled AND run_at > $2;

-- Completes a batch in one statement, each job only if still active under its token.
-- name: jobComplete
-- $1 job ids, $2 their lease tokens, $3 their results (one element per completion), $4 now,
-- $5 wake channel, $6 wake payload (for parents made runnable)
SELECT id, woke FROM {schema}.complete_jobs($1::bigint[], $2::integer[], $3::text[], $4, $5, $6);

-- A failed attempt, under its lease: to failed, scheduled or waiting; the error joins the job's
-- history (the newest 50 kept); stats count a failure, or a retry unless the attempt is refunded.
-- A Retry-After may also hold back the whole queue or one group of it until a time (a later
-- hold wins), with a queue.throttled event. A job that failed for good resolves the parents
-- waiting for it. No row back: the lease was lost, or there is no such job (the caller asks
-- which).
-- name: jobFail
-- $1 id, $2 lease token, $3 new state, $4 run_at, $5 attempts refunded (0 or 1), $6 the attempt
-- error (json, or null to record none), $7 finished_at (or null), $8 now, $9 event data beyond
-- the attempt (json), $10 wake channel, $11 wake payload (null: no wake, the job is failed),
-- $12 hold back until (null: no hold), $13 the group held back (null: the whole queue)
WITH failed AS (
  UPDATE {schema}.jobs j
  SET state = $3, run_at = $4, attempt = j.attempt - $5::integer, finished_at = $7, updated_at = $8,
      lease_expires_at = NULL, worker_id = CASE WHEN $3 = 'failed' THEN j.worker_id END,
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
  RETURNING id
), stats AS (
  INSERT INTO {schema}.stats_minute AS s (queue, minute, failed, retried)
  SELECT queue, $8::bigint - $8::bigint % 60000, (CASE WHEN $3 = 'failed' THEN 1 ELSE 0 END),
         (CASE WHEN $3 <> 'failed' THEN 1 ELSE 0 END)
  FROM failed WHERE $3 = 'failed' OR $5::integer = 0
  ON CONFLICT (queue, minute) DO UPDATE
  SET failed = s.failed + excluded.failed, retried = s.retried + excluded.retried
  RETURNING 1
), held_queue AS (
  UPDATE {schema}.queues q SET paused_until = greatest(q.paused_until, $12::bigint), updated_at = $8
  FROM failed WHERE q.name = failed.queue AND $12::bigint IS NOT NULL AND $13::text IS NULL
), held_group AS (
  INSERT INTO {schema}.queue_groups AS g (queue, grp, paused_until, updated_at)
  SELECT queue, $13::text, $12::bigint, $8 FROM failed WHERE $12::bigint IS NOT NULL AND $13::text IS NOT NULL
  ON CONFLICT (queue, grp) DO UPDATE
  SET paused_until = greatest(g.paused_until, excluded.paused_until), updated_at = excluded.updated_at
), throttled AS (
  INSERT INTO {schema}.events (at, type, queue, data)
  SELECT $8, 'queue.throttled', queue, jsonb_build_object('group', $13::text, 'until', $12::bigint)
  FROM failed WHERE $12::bigint IS NOT NULL AND (SELECT count(*) FROM event) >= 0
  RETURNING id
), deps AS (
  SELECT {schema}.resolve_dependents(ARRAY[id], 'failed', $8, $10, '') AS woke
  FROM failed
  WHERE $3 = 'failed' AND (SELECT count(*) FROM throttled) + (SELECT count(*) FROM stats) >= 0
), wake AS (
  SELECT pg_notify($10, $11::text) FROM failed WHERE $11::text IS NOT NULL
)
SELECT id, (SELECT count(*) FROM wake) AS woken, (SELECT woke FROM deps) AS woke FROM failed;

-- name: jobLeaseGet
-- $1 id
SELECT state, lease_token FROM {schema}.jobs WHERE id = $1;

-- The lease check of a change made in several statements: the row stays locked until the end.
-- name: jobLeaseLock
-- $1 id
SELECT id, queue, state, lease_token FROM {schema}.jobs WHERE id = $1 FOR UPDATE;

-- Extends the leases still held, in one statement. Only lease_expires_at changes, and no index
-- covers it, so these updates are HOT (no index writes). Each job is found by its key, as in
-- jobClaim's completions (hence `IS TRUE`).
-- name: jobHeartbeat
-- $1 job ids, $2 their lease tokens, $3 new expiry
UPDATE {schema}.jobs j SET lease_expires_at = $3
FROM unnest($1::bigint[], $2::integer[]) AS h(id, lease_token)
WHERE j.id = h.id AND (j.state = 'active') IS TRUE AND j.lease_token = h.lease_token
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

-- ── the constrained claim (limits, breakers) ───────────────────────────────────────────────
-- One transaction per claim: the queue's row is locked first, so constrained claims of one
-- queue take turns across nodes, and what they count (active jobs, starts in a window) is what
-- the previous turn committed. See claimConstrained in postgres-store.ts.

-- The claim of a queue limited only queue-wide (a cap, a rate; no group limits, no breaker), in
-- one call: see claim_limited in migrations/005_limited_claim.sql.
-- name: jobClaimLimited
-- $1 queue, $2 now, $3 limit, $4 worker id, $5 lease ms, $6-$8 completions (ids, tokens, results),
-- $9 wake channel, $10 wake payload, $11 concurrency cap, $12 rate key, $13 rate max, $14 rate window ms
SELECT * FROM {schema}.claim_limited($1, $2, $3, $4, $5, $6::bigint[], $7::integer[], $8::text[], $9, $10, $11, $12,
                                     $13, $14);

-- name: queueLock
-- $1 queue
SELECT paused, paused_until FROM {schema}.queues WHERE name = $1 FOR UPDATE;

-- The queue's active jobs and the starts counted in its rate window.
-- name: queueUsage
-- $1 queue, $2 rate key, $3 first bucket of the window (epoch ms)
SELECT (SELECT count(*) FROM {schema}.leases WHERE queue = $1) AS active,
       (SELECT coalesce(sum(n), 0)::bigint FROM {schema}.rate_buckets WHERE key = $2 AND bucket >= $3) AS used,
       (SELECT min(bucket) FROM {schema}.rate_buckets WHERE key = $2 AND bucket >= $3) AS oldest;

-- What each group of the queue may start: held back until a time, active jobs, and starts
-- counted in its rate window (keys from $2 up to, not including, $3).
-- name: groupUsage
-- $1 queue, $2 first group rate key, $3 the key after the last, $4 first bucket of the window,
-- $5 now
SELECT 'paused' AS kind, grp, paused_until AS n, NULL::bigint AS oldest
FROM {schema}.queue_groups WHERE queue = $1 AND paused_until > $5
UNION ALL
SELECT 'active', grp, count(*), NULL
FROM {schema}.leases WHERE queue = $1 AND grp IS NOT NULL GROUP BY grp
UNION ALL
SELECT 'rate', key, sum(n)::bigint, min(bucket)
FROM {schema}.rate_buckets WHERE key >= $2 AND key < $3 AND bucket >= $4 GROUP BY key;

-- Candidates best first, leaving out groups that may not start now and rows tried already.
-- name: jobCandidates
-- $1 queue, $2 now, $3 groups left out, $4 ids left out, $5 limit
SELECT id, grp FROM {schema}.ready
WHERE queue = $1 AND run_at <= $2
  AND (grp IS NULL OR grp <> ALL ($3::text[])) AND id <> ALL ($4::bigint[])
ORDER BY priority, vtime, run_at, id
LIMIT $5;

-- Leases the chosen jobs still runnable; one another transaction holds is skipped.
-- name: jobClaimIds
-- $1 job ids, $2 now, $3 worker id, $4 lease expires at
WITH next AS (
  SELECT j.id FROM {schema}.ready r JOIN {schema}.jobs j ON j.id = r.id
  WHERE r.id = ANY ($1::bigint[]) AND r.run_at <= $2 AND j.state IN ('waiting', 'scheduled')
  FOR NO KEY UPDATE OF j SKIP LOCKED
), taken AS (
  DELETE FROM {schema}.ready r USING next WHERE r.id = next.id
  RETURNING r.id
), claimed AS (
  UPDATE {schema}.jobs j
  SET state = 'active', attempt = j.attempt + 1, lease_token = j.lease_token + 1, progress = NULL,
      lease_expires_at = $4, worker_id = $3, started_at = $2, updated_at = $2
  FROM taken WHERE j.id = taken.id AND j.state IN ('waiting', 'scheduled')
  RETURNING j.id, j.queue, j.priority, j.vtime, j.run_at, j.payload, j.attempt, j.max_attempts, j.backoff,
            j.timeout_ms, j.idempotency_key, j.grp, j.tags, j.metadata, j.tenant, j.lease_token,
            j.lease_expires_at, j.created_at, j.started_at
), leased AS (
  INSERT INTO {schema}.leases (id, queue, grp) SELECT id, queue, grp FROM claimed
), event AS (
  INSERT INTO {schema}.events (at, type, queue, job_id, state, data)
  SELECT $2, 'job.active', queue, id, 'active', jsonb_build_object('attempt', attempt) FROM claimed ORDER BY id
)
SELECT id, queue, priority, vtime, run_at, payload, attempt, max_attempts, backoff, timeout_ms, idempotency_key,
       grp, tags, metadata, tenant, lease_token, lease_expires_at, created_at, started_at
FROM claimed;

-- Counts starts in the bucket that holds now.
-- name: rateAdd
-- $1 keys, $2 buckets, $3 starts (one element per key)
INSERT INTO {schema}.rate_buckets AS r (key, bucket, n)
SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[])
ON CONFLICT (key, bucket) DO UPDATE SET n = r.n + excluded.n;

-- ── breakers ───────────────────────────────────────────────────────────────────────────────

-- Creates a breaker or replaces its policy; its state stays.
-- name: breakerDefine
-- $1 name, $2 policy (json), $3 now
INSERT INTO {schema}.breakers AS b (name, config, updated_at) VALUES ($1, $2, $3)
ON CONFLICT (name) DO UPDATE SET config = excluded.config, updated_at = excluded.updated_at
RETURNING b.name, b.config, b.state, b.failures, b.successes, b.window_start, b.window_total, b.window_failures,
          b.opened_at, b.updated_at;

-- A breaker bound to a queue before anyone defined it gets the claim's policy.
-- name: breakerEnsure
-- $1 name, $2 policy (json), $3 now
INSERT INTO {schema}.breakers (name, config, updated_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING;

-- name: breakerGet
-- $1 name
SELECT name, config, state, failures, successes, window_start, window_total, window_failures, opened_at, updated_at
FROM {schema}.breakers WHERE name = $1;

-- The read of a read-compute-write change (nextBreaker in rows.ts): the row stays locked.
-- name: breakerGetForUpdate
-- $1 name
SELECT name, config, state, failures, successes, window_start, window_total, window_failures, opened_at, updated_at
FROM {schema}.breakers WHERE name = $1 FOR UPDATE;

-- name: breakerList
SELECT name, config, state, failures, successes, window_start, window_total, window_failures, opened_at, updated_at
FROM {schema}.breakers ORDER BY name;

-- Writes a breaker's counts and state; a change of state is an event, and a breaker that lets
-- claims through again (closed, half-open) notifies.
-- name: breakerUpdate
-- $1 name, $2 state, $3 failures, $4 successes, $5 window start, $6 window total, $7 window
-- failures, $8 opened at, $9 now, $10 event type (null: the state did not change), $11 event
-- data (json), $12 wake channel, $13 wake payload (null: no wake)
WITH updated AS (
  UPDATE {schema}.breakers
  SET state = $2, failures = $3, successes = $4, window_start = $5, window_total = $6, window_failures = $7,
      opened_at = $8, updated_at = $9
  WHERE name = $1
  RETURNING name
), event AS (
  INSERT INTO {schema}.events (at, type, data)
  SELECT $9, $10::text, $11::jsonb FROM updated WHERE $10::text IS NOT NULL
)
SELECT name, (SELECT count(*) FROM (SELECT pg_notify($12, $13::text) WHERE $13::text IS NOT NULL) AS w) AS woken
FROM updated;

-- ── limits ─────────────────────────────────────────────────────────────────────────────────

-- Starts counted for a key in buckets from $2 (epoch ms) on (see rateUsed in postgres-store.ts).
-- name: rateUsed
-- $1 key, $2 first bucket
SELECT coalesce(sum(n), 0)::bigint AS n, min(bucket) AS oldest FROM {schema}.rate_buckets
WHERE key = $1 AND bucket >= $2;

-- name: rateUsedByPrefix
-- $1 first key, $2 the key after the last, $3 first bucket
SELECT key, sum(n)::bigint AS n, min(bucket) AS oldest FROM {schema}.rate_buckets
WHERE key >= $1 AND key < $2 AND bucket >= $3 GROUP BY key;

-- name: groupsList
-- $1 queue
SELECT grp, vtime, paused_until FROM {schema}.queue_groups WHERE queue = $1 ORDER BY grp;

-- Forgets a queue's counted starts and holds (its groups' too), and wakes workers: claims may
-- succeed at once.
-- name: limitsReset
-- $1 queue, $2 queue's rate key, $3 first group rate key, $4 the key after the last, $5 now,
-- $6 wake channel, $7 wake payload
WITH buckets AS (
  DELETE FROM {schema}.rate_buckets WHERE key = $2 OR (key >= $3 AND key < $4)
), groups AS (
  UPDATE {schema}.queue_groups SET paused_until = 0, updated_at = $5 WHERE queue = $1 AND paused_until <> 0
), q AS (
  UPDATE {schema}.queues SET paused_until = 0, updated_at = $5 WHERE name = $1 RETURNING name
), event AS (
  INSERT INTO {schema}.events (at, type, queue, data)
  SELECT $5, 'queue.resumed', name, '{"reason":"limits reset"}'::jsonb FROM q
)
SELECT pg_notify($6, $7) FROM q;

-- name: ratePrune
-- $1 before
DELETE FROM {schema}.rate_buckets WHERE bucket < $1;

-- Token buckets (an enqueue rate per user): refill by the time passed, up to the burst, then
-- take the cost when there is enough. Each is one guarded statement (the row lock serialises
-- takers); the store tries them in turn (see tokenTake in postgres-store.ts).
-- name: tokenTake
-- $1 key, $2 refill per second, $3 burst, $4 cost, $5 now
UPDATE {schema}.token_buckets
SET tokens = least($3::double precision, tokens + greatest(0, $5::bigint - updated_at) / 1000.0 * $2::double precision)
             - $4::double precision,
    updated_at = greatest(updated_at, $5::bigint)
WHERE key = $1
  AND least($3::double precision, tokens + greatest(0, $5::bigint - updated_at) / 1000.0 * $2::double precision)
      >= $4::double precision
RETURNING tokens;

-- name: tokenRefill
-- $1 key, $2 refill per second, $3 burst, $4 now
UPDATE {schema}.token_buckets
SET tokens = least($3::double precision, tokens + greatest(0, $4::bigint - updated_at) / 1000.0 * $2::double precision),
    updated_at = greatest(updated_at, $4::bigint)
WHERE key = $1
RETURNING tokens;

-- A key's first take: a full bucket less the cost, when the burst covers it.
-- name: tokenInsert
-- $1 key, $2 burst, $3 cost, $4 now
INSERT INTO {schema}.token_buckets (key, tokens, updated_at)
VALUES ($1, CASE WHEN $2::double precision >= $3::double precision THEN $2 - $3 ELSE $2 END, $4)
ON CONFLICT (key) DO NOTHING
RETURNING tokens;

-- ── flows ──────────────────────────────────────────────────────────────────────────────────

-- The jobs a new job will wait for, read under a share lock held until commit: a job that is
-- completing waits for this transaction (and then sees the new edge in resolve_dependents), or
-- has finished and is read as finished. Ascending ids, as completions lock them.
-- name: depsLock
-- $1 job ids
SELECT id, state FROM {schema}.jobs WHERE id = ANY ($1::bigint[]) ORDER BY id FOR SHARE;

-- name: depsResolve
-- $1 job ids, $2 outcome (completed, failed or cancelled), $3 now, $4 wake channel, $5 wake payload
SELECT {schema}.resolve_dependents($1::bigint[], $2, $3, $4, $5) AS woke;

-- Fan-out at run time: the leased job waits for its children (blocked, its attempt given back),
-- or goes straight back to waiting when none is unfinished.
-- name: jobBlock
-- $1 id, $2 lease token, $3 state (blocked or waiting), $4 dependencies pending, $5 now,
-- $6 child ids, $7 their on_failure, $8 resolved already (one element per child), $9 event
-- type, $10 wake channel, $11 wake payload (null: no wake)
WITH parent AS (
  UPDATE {schema}.jobs
  SET state = $3, deps_pending = $4, attempt = greatest(attempt - 1, 0), updated_at = $5,
      lease_expires_at = NULL, worker_id = NULL, started_at = NULL
  WHERE id = $1 AND state = 'active' AND lease_token = $2
  RETURNING id, queue
), edges AS (
  INSERT INTO {schema}.job_deps (parent_id, child_id, on_failure, resolved)
  SELECT parent.id, d.child_id, d.on_failure, d.resolved
  FROM parent, unnest($6::bigint[], $7::text[], $8::boolean[]) AS d(child_id, on_failure, resolved)
  ON CONFLICT (parent_id, child_id) DO NOTHING
), event AS (
  INSERT INTO {schema}.events (at, type, queue, job_id, state, data)
  SELECT $5, $9, queue, id, $3, jsonb_build_object('children', (
    SELECT jsonb_agg(c.id::text ORDER BY c.n) FROM unnest($6::bigint[]) WITH ORDINALITY AS c(id, n)
  ))
  FROM parent
)
SELECT id, queue, (SELECT count(*) FROM (SELECT pg_notify($10, $11::text) FROM parent WHERE $11::text IS NOT NULL) AS w) AS woken
FROM parent;

-- A job's dependencies and their outcomes, in the order they were added (a child removed by
-- retention reads as completed: see toDependency).
-- name: depsOfParent
-- $1 parent id
SELECT d.child_id, d.on_failure, j.queue, j.state, j.result, j.errors
FROM {schema}.job_deps d LEFT JOIN {schema}.jobs j ON j.id = d.child_id
WHERE d.parent_id = $1 ORDER BY d.child_id;

-- The jobs waiting for a child (its parents), with their tenants (the API shows only its own).
-- name: depsParents
-- $1 child id
SELECT d.parent_id, d.on_failure, j.queue, j.state, j.tenant
FROM {schema}.job_deps d JOIN {schema}.jobs j ON j.id = d.parent_id
WHERE d.child_id = $1 ORDER BY d.parent_id;

-- Other parents of a child that are not finished (a child shared with them is not cancelled).
-- name: depsOtherLiveParents
-- $1 child id, $2 parent id
SELECT count(*) AS n FROM {schema}.job_deps d JOIN {schema}.jobs p ON p.id = d.parent_id
WHERE d.child_id = $1 AND d.parent_id <> $2 AND p.state IN ('waiting', 'scheduled', 'blocked', 'active');

-- ── fair queuing ───────────────────────────────────────────────────────────────────────────

-- The clocks of the groups about to enqueue, each row locked until commit (enqueues into one
-- group take turns), with the virtual time at the head of each priority level (where a group
-- that was idle starts again) and the queues' latest clocks (where an empty level starts).
-- name: fairClocks
-- $1 queues, $2 groups (pairs, sorted: one element each), $3 now; $4 queues, $5 priorities
-- (pairs); $6 queues
WITH locked AS (
  INSERT INTO {schema}.queue_groups AS g (queue, grp, vtime, updated_at)
  SELECT k.queue, k.grp, 0, $3 FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS k(queue, grp, ord) ORDER BY ord
  ON CONFLICT (queue, grp) DO UPDATE SET updated_at = excluded.updated_at
  RETURNING g.queue, g.grp, g.vtime
)
SELECT 'group' AS kind, queue, grp, NULL::integer AS priority, vtime FROM locked
UNION ALL
SELECT 'head', l.queue, NULL, l.priority,
       (SELECT vtime FROM {schema}.ready
        WHERE queue = l.queue AND priority = l.priority
        ORDER BY vtime LIMIT 1)
FROM unnest($4::text[], $5::integer[]) AS l(queue, priority)
UNION ALL
SELECT 'max', q.queue, NULL, NULL, (SELECT coalesce(max(vtime), 0) FROM {schema}.queue_groups WHERE queue = q.queue)
FROM unnest($6::text[]) AS q(queue);

-- ── admission ──────────────────────────────────────────────────────────────────────────────

-- Enqueues into queues with size limits take turns: the queues' rows stay locked until commit.
-- name: admissionLock
-- $1 queues (sorted)
SELECT name FROM {schema}.queues WHERE name = ANY ($1::text[]) ORDER BY name FOR UPDATE;

-- Unfinished jobs per queue, or per group of a queue.
-- name: unfinishedCounts
-- $1 queues, $2 groups (null: the whole queue), one element each
SELECT k.ord,
  (SELECT count(*) FROM {schema}.ready r WHERE r.queue = k.queue AND (k.grp IS NULL OR r.grp = k.grp))
  + (SELECT count(*) FROM {schema}.leases l WHERE l.queue = k.queue AND (k.grp IS NULL OR l.grp = k.grp))
  + (SELECT count(*) FROM {schema}.job_states s
     WHERE s.queue = k.queue AND s.state = 'blocked' AND (k.grp IS NULL OR s.grp = k.grp)) AS n
FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS k(queue, grp, ord);

-- ── jobs: management ───────────────────────────────────────────────────────────────────────

-- name: jobGet
-- $1 id
SELECT {jobColumns} FROM {schema}.jobs WHERE id = $1;

-- The read of a read-check-write transition: the row stays locked until the transaction ends.
-- name: jobGetForUpdate
-- $1 id
SELECT {jobColumns} FROM {schema}.jobs WHERE id = $1 FOR UPDATE;

-- A job that ends here (cancelled) keeps the worker that ran it, if one did; one that goes back
-- to waiting or scheduled names none.
-- name: jobSetState
-- $1 id, $2 state, $3 run_at, $4 attempt, $5 finished_at, $6 progress (json or null), $7 now
UPDATE {schema}.jobs
SET state = $2, run_at = $3, attempt = $4, finished_at = $5, progress = $6::jsonb,
    lease_expires_at = NULL, worker_id = CASE WHEN $2 IN ('completed', 'failed', 'cancelled') THEN worker_id END,
    updated_at = $7
WHERE id = $1
RETURNING {jobColumns};

-- name: jobReprioritize
-- $1 id, $2 priority, $3 now
UPDATE {schema}.jobs SET priority = $2, updated_at = $3 WHERE id = $1 RETURNING {jobColumns};

-- name: jobTenants
-- $1 job ids
SELECT id, tenant FROM {schema}.jobs WHERE id = ANY ($1::bigint[]);

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
-- $1 queue, $2 now, $3 priority, $4 vtime, $5 run_at, $6 id (of the job asked about), $7 the most
-- to count (null: all)
SELECT count(*) AS n FROM (
  SELECT 1 FROM {schema}.ready
  WHERE queue = $1 AND run_at <= $2
    AND (priority, vtime, run_at, id) < ($3, $4, $5, $6)
  LIMIT $7
) ahead;

-- ── maintenance ────────────────────────────────────────────────────────────────────────────

-- Active jobs whose lease lapsed go back to waiting at once, or to failed on their last
-- attempt, with a SPOOL_LEASE_EXPIRED error in their history; those failed resolve the parents
-- waiting for them. At most $3 per pass; rows another transaction holds are left for the next
-- pass.
-- name: jobRecoverExpired
-- $1 now, $2 error message, $3 limit, $4 wake channel, $5 wake payload
WITH expired AS (
  SELECT j.id FROM {schema}.leases l JOIN {schema}.jobs j ON j.id = l.id
  WHERE j.state = 'active' AND j.lease_expires_at < $1
  ORDER BY j.id
  LIMIT $3
  FOR UPDATE OF j SKIP LOCKED
), recovered AS (
  UPDATE {schema}.jobs j
  SET state = CASE WHEN j.attempt >= j.max_attempts THEN 'failed' ELSE 'waiting' END,
      run_at = $1, updated_at = $1, lease_expires_at = NULL,
      worker_id = CASE WHEN j.attempt >= j.max_attempts THEN j.worker_id END,
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
  RETURNING id
), stats AS (
  INSERT INTO {schema}.stats_minute AS s (queue, minute, failed, retried)
  SELECT queue, $1::bigint - $1::bigint % 60000, count(*) FILTER (WHERE state = 'failed'),
         count(*) FILTER (WHERE state = 'waiting')
  FROM recovered GROUP BY queue
  ON CONFLICT (queue, minute) DO UPDATE
  SET failed = s.failed + excluded.failed, retried = s.retried + excluded.retried
  RETURNING 1
), deps AS (
  SELECT {schema}.resolve_dependents(array_agg(id), 'failed', $1, $4, '') AS woke
  FROM recovered
  WHERE state = 'failed' AND (SELECT count(*) FROM event) + (SELECT count(*) FROM stats) >= 0
  HAVING count(*) > 0
), wake AS (
  SELECT pg_notify($4, $5) FROM (SELECT 1 FROM recovered WHERE state = 'waiting' LIMIT 1) AS any_waiting
)
SELECT id, state, (SELECT count(*) FROM wake) AS woken, (SELECT woke FROM deps) AS woke FROM recovered;

-- name: jobPromoteDue
-- $1 now, $2 limit, $3 wake channel, $4 wake payload
WITH due AS (
  SELECT j.id FROM {schema}.jobs j
  WHERE j.id IN (SELECT r.id FROM {schema}.ready r WHERE r.scheduled AND r.run_at <= $1 ORDER BY r.run_at LIMIT $2)
    AND j.state = 'scheduled' AND j.run_at <= $1
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

-- Completed jobs are read through jobs_queue (queue, id); failed and cancelled ones, a few,
-- through job_states. No index covers finished_at (a finish would not be a HOT update).
-- name: jobCleanupByAge
-- $1 queue, $2 state, $3 finished before
SELECT id, tenant FROM {schema}.jobs
WHERE $2 = 'completed' AND queue = $1 AND state = $2 AND finished_at IS NOT NULL AND finished_at < $3
UNION ALL
SELECT j.id, j.tenant FROM {schema}.job_states s JOIN {schema}.jobs j ON j.id = s.id
WHERE $2 <> 'completed' AND s.queue = $1 AND s.state = $2 AND j.state = $2 AND j.finished_at < $3;

-- name: jobCleanupByCount
-- $1 queue, $2 state, $3 how many of the newest to keep
SELECT id, tenant FROM (
  SELECT id, tenant, finished_at FROM {schema}.jobs
  WHERE $2 = 'completed' AND queue = $1 AND state = $2 AND finished_at IS NOT NULL
  UNION ALL
  SELECT j.id, j.tenant, j.finished_at FROM {schema}.job_states s JOIN {schema}.jobs j ON j.id = s.id
  WHERE $2 <> 'completed' AND s.queue = $1 AND s.state = $2 AND j.state = $2 AND j.finished_at IS NOT NULL
) AS finished
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

-- A breaker's state changes, newest first. They name no job: the partial index events_prunable
-- (job_id IS NULL, by time) holds them with the other queue-level events, a small share.
-- name: eventListBreaker
-- $1 breaker name, $2 below this id, $3 limit
SELECT id, at, type, queue, job_id, state, data FROM {schema}.events
WHERE job_id IS NULL AND type LIKE 'breaker.%' AND data->>'breaker' = $1 AND id < $2
ORDER BY at DESC, id DESC LIMIT $3;

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
ORDER BY id DESC LIMIT $2;

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

-- Newest first; page with the last id of the previous page. Other filters (tenant, group, tag,
-- creation time, text) are put together from fixed terms in postgres-store.ts (jobSearch).
-- name: jobListAll
-- $1 before id, $2 limit
SELECT {jobColumns} FROM {schema}.jobs WHERE id < $1 ORDER BY id DESC LIMIT $2;

-- name: jobListQueue
-- $1 before id, $2 limit, $3 queue
SELECT {jobColumns} FROM {schema}.jobs WHERE queue = $3 AND id < $1 ORDER BY id DESC LIMIT $2;

-- Completed jobs, the many, are read from the job rows; no index covers state (migration 10).
-- name: jobListState
-- $1 before id, $2 limit, $3 state
SELECT {jobColumns} FROM {schema}.jobs WHERE state = $3 AND id < $1 ORDER BY id DESC LIMIT $2;

-- name: jobListQueueState
-- $1 before id, $2 limit, $3 queue, $4 state
SELECT {jobColumns} FROM {schema}.jobs WHERE queue = $3 AND state = $4 AND id < $1 ORDER BY id DESC LIMIT $2;

-- Jobs of any other state are found in the narrow table that holds that state (ready: waiting
-- and scheduled, leases: active, job_states: blocked, failed, cancelled); the job row's own
-- state is checked again.
-- name: jobListNarrow
-- $1 before id, $2 limit, $3 state, $4 queue (null: every queue)
SELECT {jobColumns} FROM {schema}.jobs
WHERE id IN (
  SELECT id FROM (
    SELECT id FROM {schema}.ready
    WHERE $3 IN ('waiting', 'scheduled') AND scheduled = ($3 = 'scheduled') AND id < $1
      AND ($4::text IS NULL OR queue = $4::text)
    UNION ALL
    SELECT id FROM {schema}.leases WHERE $3 = 'active' AND id < $1 AND ($4::text IS NULL OR queue = $4::text)
    UNION ALL
    SELECT id FROM {schema}.job_states
    WHERE state = $3 AND id < $1 AND ($4::text IS NULL OR queue = $4::text)
  ) AS narrow
  ORDER BY id DESC LIMIT $2
) AND state = $3
ORDER BY id DESC;

-- ── records and workers ────────────────────────────────────────────────────────────────────

-- name: recordPut
-- $1 collection, $2 id, $3 tenant, $4 key (or null), $5 data, $6 now
INSERT INTO {schema}.records AS r (collection, id, tenant, key, data, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $6)
ON CONFLICT (collection, id) DO UPDATE SET
  tenant = excluded.tenant, key = excluded.key, data = excluded.data, updated_at = excluded.updated_at
RETURNING r.seq, r.collection, r.id, r.tenant, r.key, r.data, r.created_at, r.updated_at;

-- name: recordGet
-- $1 collection, $2 id
SELECT seq, collection, id, tenant, key, data, created_at, updated_at FROM {schema}.records
WHERE collection = $1 AND id = $2;

-- name: recordFindByKey
-- $1 collection, $2 key
SELECT seq, collection, id, tenant, key, data, created_at, updated_at FROM {schema}.records
WHERE collection = $1 AND key = $2;

-- name: recordList
-- $1 collection, $2 after seq, $3 limit
SELECT seq, collection, id, tenant, key, data, created_at, updated_at FROM {schema}.records
WHERE collection = $1 AND seq > $2 ORDER BY seq LIMIT $3;

-- name: recordListTenant
-- $1 collection, $2 after seq, $3 limit, $4 tenant
SELECT seq, collection, id, tenant, key, data, created_at, updated_at FROM {schema}.records
WHERE collection = $1 AND tenant = $4 AND seq > $2 ORDER BY seq LIMIT $3;

-- Newest first, between two seqs (the audit log's newest page first).
-- name: recordListDesc
-- $1 collection, $2 after seq, $3 limit, $4 before seq
SELECT seq, collection, id, tenant, key, data, created_at, updated_at FROM {schema}.records
WHERE collection = $1 AND seq > $2 AND seq < $4 ORDER BY seq DESC LIMIT $3;

-- name: recordListTenantDesc
-- $1 collection, $2 after seq, $3 limit, $4 tenant, $5 before seq
SELECT seq, collection, id, tenant, key, data, created_at, updated_at FROM {schema}.records
WHERE collection = $1 AND tenant = $4 AND seq > $2 AND seq < $5 ORDER BY seq DESC LIMIT $3;

-- name: recordDelete
-- $1 collection, $2 id
DELETE FROM {schema}.records WHERE collection = $1 AND id = $2 RETURNING seq;

-- name: workerBeat
-- $1 id, $2 node id, $3 queue, $4 concurrency, $5 running (json), $6 info (json), $7 now
INSERT INTO {schema}.workers AS w (id, node_id, queue, concurrency, running, info, started_at, seen_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
ON CONFLICT (id) DO UPDATE SET concurrency = excluded.concurrency, running = excluded.running,
  info = excluded.info, seen_at = excluded.seen_at;

-- name: workerRemove
-- $1 id
DELETE FROM {schema}.workers WHERE id = $1;

-- Workers seen since $1; those silent for an hour before that are forgotten.
-- name: workerList
-- $1 since, $2 forget before
WITH pruned AS (
  DELETE FROM {schema}.workers WHERE seen_at < $2
)
SELECT id, node_id, queue, concurrency, running, info, started_at, seen_at FROM {schema}.workers
WHERE seen_at >= $1 ORDER BY queue, id;

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
