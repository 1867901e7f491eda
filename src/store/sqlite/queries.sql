-- Spool statements for SQLite, one per name. Parameters are named (:name); times are epoch ms.

-- name: migrationsTable
CREATE TABLE IF NOT EXISTS spool_migrations (
  version     INTEGER PRIMARY KEY,
  name        TEXT NOT NULL,
  applied_at  INTEGER NOT NULL
) STRICT;

-- name: migrationsApplied
SELECT version FROM spool_migrations ORDER BY version;

-- name: migrationRecord
INSERT INTO spool_migrations (version, name, applied_at) VALUES (:version, :name, :now);

-- name: queueEnsure
INSERT INTO queues (name, created_at, updated_at) VALUES (:name, :now, :now)
ON CONFLICT (name) DO NOTHING;

-- name: queueGet
SELECT name, paused, paused_until, constrained, config, created_at, updated_at FROM queues WHERE name = :name;

-- name: queueList
SELECT name, paused, paused_until, constrained, config, created_at, updated_at FROM queues ORDER BY name;

-- name: queueConstrain
UPDATE queues SET constrained = :constrained, updated_at = :now WHERE name = :name;

-- A queue-wide hold until a time (Retry-After); a later hold wins.
-- name: queuePauseUntil
UPDATE queues SET paused_until = max(paused_until, :until), updated_at = :now WHERE name = :queue;

-- name: queueConfigure
UPDATE queues SET config = :config, updated_at = :now WHERE name = :name;

-- name: queuePause
UPDATE queues SET paused = :paused, updated_at = :now WHERE name = :name;

-- name: queueCounts
SELECT queue, state, count(*) AS n FROM jobs GROUP BY queue, state;

-- name: queueCountsOne
SELECT queue, state, count(*) AS n FROM jobs WHERE queue = :queue GROUP BY queue, state;

-- name: queueCountsTenant
SELECT queue, state, count(*) AS n FROM jobs WHERE tenant = :tenant GROUP BY queue, state;

-- name: queueCountsOneTenant
SELECT queue, state, count(*) AS n FROM jobs WHERE queue = :queue AND tenant = :tenant GROUP BY queue, state;

-- One probe of jobs_queue_state (queue, state, id) per queue: ids grow with creation.
-- name: queueOldestWaiting
SELECT q.name AS queue,
       (SELECT j.created_at FROM jobs j WHERE j.queue = q.name AND j.state = 'waiting' ORDER BY j.id LIMIT 1) AS created_at
FROM queues q;

-- The oldest waiting job of one tenant: per queue, jobs_queue_state (queue, state, id) read in
-- id order until one of the tenant's (other tenants' waiting jobs ahead of it are skipped).
-- name: jobOldestWaitingTenant
SELECT j.id, j.queue, j.created_at FROM queues q
JOIN jobs j ON j.id = (SELECT w.id FROM jobs w
                       WHERE w.queue = q.name AND w.state = 'waiting' AND w.tenant = :tenant
                       ORDER BY w.id LIMIT 1)
ORDER BY j.id LIMIT 1;

-- name: jobOldestWaitingOneTenant
SELECT id, queue, created_at FROM jobs
WHERE queue = :queue AND state = 'waiting' AND tenant = :tenant ORDER BY id LIMIT 1;

-- A job without an idempotency key: no conflict to look for, and the id comes back as the
-- insert's rowid (about a third cheaper than the upsert below with RETURNING).
-- name: jobInsertPlain
INSERT INTO jobs (queue, state, priority, run_at, payload, max_attempts, backoff, timeout_ms,
                  idempotency_key, grp, tags, metadata, tenant, vtime, deps_pending, created_at, updated_at)
VALUES (:queue, :state, :priority, :runAt, :payload, :maxAttempts, :backoff, :timeoutMs,
        NULL, :group, :tags, :metadata, :tenant, :vtime, :depsPending, :now, :now);

-- name: jobInsert
INSERT INTO jobs (queue, state, priority, run_at, payload, max_attempts, backoff, timeout_ms,
                  idempotency_key, grp, tags, metadata, tenant, vtime, deps_pending, created_at, updated_at)
VALUES (:queue, :state, :priority, :runAt, :payload, :maxAttempts, :backoff, :timeoutMs,
        :idempotencyKey, :group, :tags, :metadata, :tenant, :vtime, :depsPending, :now, :now)
ON CONFLICT (queue, tenant, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
RETURNING id;

-- A key names a job within its queue and tenant (migration 5).
-- name: jobByIdempotencyKey
SELECT id, state FROM jobs WHERE queue = :queue AND tenant = :tenant AND idempotency_key = :idempotencyKey;

-- Leases the best runnable jobs. RETURNING does not keep the subquery's order: callers sort.
-- :limit is written into the text before preparing: bound, it made SQLite plan the IN-subquery
-- for any size, two to three times slower here (see claimStatement in sqlite-store.ts).
-- name: jobClaim
UPDATE jobs
SET state = 'active', attempt = attempt + 1, lease_token = lease_token + 1, progress = NULL,
    lease_expires_at = :leaseExpiresAt, worker_id = :workerId, started_at = :now, updated_at = :now
WHERE id IN (
  SELECT id FROM jobs
  WHERE queue = :queue AND state IN ('waiting', 'scheduled') AND run_at <= :now
  ORDER BY priority, vtime, run_at, id
  LIMIT :limit
)
AND NOT EXISTS (
  SELECT 1 FROM queues WHERE name = :queue AND (paused = 1 OR paused_until > :now OR constrained = 1)
)
RETURNING id, queue, priority, vtime, run_at, payload, attempt, max_attempts, backoff, timeout_ms,
          idempotency_key, grp, tags, metadata, tenant, lease_token, lease_expires_at, created_at, started_at;

-- The constrained path leases chosen jobs one by one (still runnable: the lock is ours).
-- name: jobClaimOne
UPDATE jobs
SET state = 'active', attempt = attempt + 1, lease_token = lease_token + 1, progress = NULL,
    lease_expires_at = :leaseExpiresAt, worker_id = :workerId, started_at = :now, updated_at = :now
WHERE id = :id AND state IN ('waiting', 'scheduled')
RETURNING id, queue, priority, vtime, run_at, payload, attempt, max_attempts, backoff, timeout_ms,
          idempotency_key, grp, tags, metadata, tenant, lease_token, lease_expires_at, created_at, started_at;

-- Candidates for the constrained path, best first, skipping groups that may not start now.
-- name: jobCandidates
SELECT id, grp FROM jobs
WHERE queue = :queue AND state IN ('waiting', 'scheduled') AND run_at <= :now
  AND (grp IS NULL OR grp NOT IN (SELECT value FROM json_each(:blocked)))
ORDER BY priority, vtime, run_at, id
LIMIT :limit;

-- name: jobActiveCount
SELECT count(*) AS n FROM jobs WHERE queue = :queue AND state = 'active';

-- name: jobActiveByGroup
SELECT grp, count(*) AS n FROM jobs WHERE queue = :queue AND state = 'active' AND grp IS NOT NULL GROUP BY grp;

-- name: jobUnfinishedCount
SELECT count(*) AS n FROM jobs WHERE queue = :queue AND state IN ('waiting', 'scheduled', 'blocked', 'active');

-- name: jobUnfinishedGroupCount
SELECT count(*) AS n FROM jobs
WHERE queue = :queue AND grp = :group AND state IN ('waiting', 'scheduled', 'blocked', 'active');

-- The next time a not-yet-due job of the queue becomes claimable (a worker's idle timer).
-- name: jobNextRunAt
-- Waiting jobs are due by definition, so only scheduled ones count (index jobs_due_queue).
SELECT min(run_at) AS run_at FROM jobs
WHERE queue = :queue AND state = 'scheduled' AND run_at > :now;

-- No RETURNING: SQLite's RETURNING costs about as much as the update itself here; the caller
-- knows the job's queue. worker_id stays: a finished job names the worker that ran it.
-- name: jobComplete
UPDATE jobs
SET state = 'completed', result = :result, finished_at = :now, updated_at = :now,
    lease_expires_at = NULL
WHERE id = :id AND state = 'active' AND lease_token = :leaseToken;

-- A job that failed for good keeps the worker that ran its last attempt; a retry drops it.
-- name: jobFail
UPDATE jobs
SET state = :state, run_at = :runAt, attempt = attempt - :refund, errors = :errors,
    finished_at = :finishedAt, updated_at = :now, lease_expires_at = NULL,
    worker_id = CASE WHEN :state = 'failed' THEN worker_id END
WHERE id = :id AND state = 'active' AND lease_token = :leaseToken
RETURNING queue;

-- name: jobLeaseGet
SELECT queue, state, attempt, errors, lease_token FROM jobs WHERE id = :id;

-- name: jobHeartbeat
UPDATE jobs SET lease_expires_at = :leaseExpiresAt
WHERE id = :id AND state = 'active' AND lease_token = :leaseToken;

-- name: jobProgress
UPDATE jobs SET progress = :progress, updated_at = :now
WHERE id = :id AND state = 'active' AND lease_token = :leaseToken
RETURNING queue;

-- name: jobRelease
UPDATE jobs
SET state = 'waiting', attempt = max(attempt - 1, 0), updated_at = :now,
    lease_expires_at = NULL, worker_id = NULL, started_at = NULL
WHERE id = :id AND state = 'active' AND lease_token = :leaseToken
RETURNING queue;

-- name: jobGet
SELECT * FROM jobs WHERE id = :id;

-- A job that ends here (cancelled) keeps the worker that ran it, if one did; one that goes back
-- to waiting or scheduled names none.
-- name: jobSetState
UPDATE jobs
SET state = :state, run_at = :runAt, attempt = :attempt, finished_at = :finishedAt, progress = :progress,
    lease_expires_at = NULL, worker_id = CASE WHEN :state IN ('completed', 'failed', 'cancelled') THEN worker_id END,
    updated_at = :now
WHERE id = :id;

-- name: jobReprioritize
UPDATE jobs SET priority = :priority, updated_at = :now WHERE id = :id;

-- name: jobRemove
DELETE FROM jobs WHERE id = :id;

-- name: jobRemoveEvents
DELETE FROM events WHERE job_id = :id;

-- Runnable jobs ahead of one, in claim order over jobs_claim, counting at most :limit (-1: all).
-- name: jobPosition
SELECT count(*) AS n FROM (
  SELECT 1 FROM jobs
  WHERE queue = :queue AND state IN ('waiting', 'scheduled') AND run_at <= :now
    AND (priority, vtime, run_at, id) < (:priority, :vtime, :runAt, :id)
  LIMIT :limit
);

-- name: jobExpired
SELECT id, queue, attempt, max_attempts, errors, lease_token FROM jobs
WHERE state = 'active' AND lease_expires_at < :now
LIMIT 500;

-- name: jobPromoteDue
UPDATE jobs SET state = 'waiting', updated_at = :now
WHERE id IN (SELECT id FROM jobs WHERE state = 'scheduled' AND run_at <= :now ORDER BY run_at LIMIT :limit)
RETURNING id, queue;

-- name: jobCleanupByAge
SELECT id, tenant FROM jobs
WHERE queue = :queue AND state = :state AND finished_at IS NOT NULL AND finished_at < :before;

-- name: jobCleanupByCount
SELECT id, tenant FROM jobs
WHERE queue = :queue AND state = :state AND finished_at IS NOT NULL
ORDER BY finished_at DESC, id DESC
LIMIT -1 OFFSET :keep;

-- name: eventInsert
INSERT INTO events (at, type, queue, job_id, state, data) VALUES (:at, :type, :queue, :jobId, :state, :data);

-- name: eventListAll
SELECT * FROM events WHERE id > :afterId ORDER BY id LIMIT :limit;

-- name: eventListQueue
SELECT * FROM events WHERE id > :afterId AND queue = :queue ORDER BY id LIMIT :limit;

-- name: eventListJob
SELECT * FROM events WHERE job_id = :jobId AND id > :afterId ORDER BY id LIMIT :limit;

-- A breaker's state changes, newest first (index events_breaker, migration 004).
-- name: eventListBreaker
SELECT * FROM events
WHERE job_id IS NULL AND json_extract(data, '$.breaker') = :name AND id < :beforeId AND type LIKE 'breaker.%'
ORDER BY id DESC LIMIT :limit;

-- name: eventLastId
SELECT coalesce(max(id), 0) AS id FROM events;

-- name: statsAdd
INSERT INTO stats_minute (queue, minute, completed, failed, retried)
VALUES (:queue, :minute, :completed, :failed, :retried)
ON CONFLICT (queue, minute) DO UPDATE SET
  completed = completed + excluded.completed,
  failed = failed + excluded.failed,
  retried = retried + excluded.retried;

-- name: statsBucketsAll
SELECT minute, sum(completed) AS completed, sum(failed) AS failed, sum(retried) AS retried
FROM stats_minute WHERE minute >= :since GROUP BY minute ORDER BY minute;

-- name: statsBucketsQueue
SELECT minute, completed, failed, retried
FROM stats_minute WHERE queue = :queue AND minute >= :since ORDER BY minute;

-- name: statsTimingsAll
SELECT started_at - run_at AS wait_ms, finished_at - started_at AS run_ms
FROM jobs WHERE state = 'completed' AND finished_at IS NOT NULL
ORDER BY id DESC LIMIT :limit;

-- name: statsTimingsQueue
SELECT started_at - run_at AS wait_ms, finished_at - started_at AS run_ms
FROM jobs WHERE queue = :queue AND state = 'completed' AND finished_at IS NOT NULL
ORDER BY finished_at DESC LIMIT :limit;

-- name: statsPrune
DELETE FROM stats_minute WHERE minute < :before;

-- Queue-level events, and the last word on removed jobs; a job's own events go with the job.
-- name: eventsPrune
DELETE FROM events WHERE at < :before AND (job_id IS NULL OR type = 'job.removed');

-- Takes the lease when it is free, expired or already ours.
-- name: leaderAcquire
INSERT INTO leader_leases (name, node_id, expires_at) VALUES (:name, :nodeId, :expiresAt)
ON CONFLICT (name) DO UPDATE SET node_id = excluded.node_id, expires_at = excluded.expires_at
WHERE leader_leases.node_id = excluded.node_id OR leader_leases.expires_at < :now
RETURNING node_id;

-- name: leaderRelease
DELETE FROM leader_leases WHERE name = :name AND node_id = :nodeId;

-- Newest first; page with :beforeId (the last id of the previous page).
-- name: jobListAll
SELECT * FROM jobs WHERE id < :beforeId ORDER BY id DESC LIMIT :limit;

-- name: jobListQueue
SELECT * FROM jobs WHERE queue = :queue AND id < :beforeId ORDER BY id DESC LIMIT :limit;

-- name: jobListState
SELECT * FROM jobs WHERE state = :state AND id < :beforeId ORDER BY id DESC LIMIT :limit;

-- name: jobListQueueState
SELECT * FROM jobs WHERE queue = :queue AND state = :state AND id < :beforeId ORDER BY id DESC LIMIT :limit;

-- ── tenants and search ─────────────────────────────────────────────────────────────────────

-- name: jobTenants
SELECT id, tenant FROM jobs WHERE id IN (SELECT value FROM json_each(:ids));

-- ── fairness ───────────────────────────────────────────────────────────────────────────────

-- The virtual time at the head of a priority level: where a group that was idle starts again.
-- name: fairHead
SELECT vtime FROM jobs
WHERE queue = :queue AND priority = :priority AND state IN ('waiting', 'scheduled')
ORDER BY vtime LIMIT 1;

-- name: fairGroupGet
SELECT vtime FROM queue_groups WHERE queue = :queue AND grp = :group;

-- name: fairMax
SELECT coalesce(max(vtime), 0) AS vtime FROM queue_groups WHERE queue = :queue;

-- name: fairGroupSet
INSERT INTO queue_groups (queue, grp, vtime, updated_at) VALUES (:queue, :group, :vtime, :now)
ON CONFLICT (queue, grp) DO UPDATE SET vtime = excluded.vtime, updated_at = excluded.updated_at;

-- ── limits ─────────────────────────────────────────────────────────────────────────────────

-- name: groupPauseUntil
INSERT INTO queue_groups (queue, grp, paused_until, updated_at) VALUES (:queue, :group, :until, :now)
ON CONFLICT (queue, grp) DO UPDATE SET paused_until = max(paused_until, excluded.paused_until),
  updated_at = excluded.updated_at;

-- name: groupsPaused
SELECT grp, paused_until FROM queue_groups WHERE queue = :queue AND paused_until > :now;

-- name: groupsList
SELECT grp, vtime, paused_until FROM queue_groups WHERE queue = :queue ORDER BY grp;

-- name: groupsUnpause
UPDATE queue_groups SET paused_until = 0, updated_at = :now WHERE queue = :queue;

-- name: queueUnpauseUntil
UPDATE queues SET paused_until = 0, updated_at = :now WHERE name = :queue;

-- Starts counted for a key in buckets starting at :from (epoch ms) or later (see rateUsed in sqlite-store.ts).
-- name: rateUsed
SELECT coalesce(sum(n), 0) AS n, min(bucket) AS oldest FROM rate_buckets WHERE key = :key AND bucket >= :from;

-- name: rateUsedByPrefix
SELECT key, sum(n) AS n, min(bucket) AS oldest FROM rate_buckets
WHERE key >= :prefix AND key < :prefixEnd AND bucket >= :from GROUP BY key;

-- name: rateAdd
INSERT INTO rate_buckets (key, bucket, n) VALUES (:key, :bucket, :n)
ON CONFLICT (key, bucket) DO UPDATE SET n = n + excluded.n;

-- name: rateResetKey
DELETE FROM rate_buckets WHERE key = :key OR (key >= :prefix AND key < :prefixEnd);

-- name: ratePrune
DELETE FROM rate_buckets WHERE bucket < :before;

-- name: tokenGet
SELECT tokens, updated_at FROM token_buckets WHERE key = :key;

-- name: tokenSet
INSERT INTO token_buckets (key, tokens, updated_at) VALUES (:key, :tokens, :now)
ON CONFLICT (key) DO UPDATE SET tokens = excluded.tokens, updated_at = excluded.updated_at;

-- ── flows ──────────────────────────────────────────────────────────────────────────────────

-- name: depInsert
INSERT INTO job_deps (parent_id, child_id, on_failure, resolved) VALUES (:parentId, :childId, :onFailure, :resolved)
ON CONFLICT (parent_id, child_id) DO NOTHING;

-- name: depsOfChild
SELECT parent_id, on_failure FROM job_deps WHERE child_id = :childId AND resolved = 0;

-- name: depResolve
UPDATE job_deps SET resolved = 1 WHERE parent_id = :parentId AND child_id = :childId;

-- name: depsOfParent
SELECT d.child_id, d.on_failure, j.queue, j.state, j.result, j.errors
FROM job_deps d LEFT JOIN jobs j ON j.id = d.child_id
WHERE d.parent_id = :parentId ORDER BY d.child_id;

-- The jobs waiting for a child (its parents), with their tenants (the API shows only its own).
-- name: depsParents
SELECT d.parent_id, d.on_failure, j.queue, j.state, j.tenant
FROM job_deps d JOIN jobs j ON j.id = d.parent_id
WHERE d.child_id = :childId ORDER BY d.parent_id;

-- Other parents of a child that are not finished (a child shared with them is not cancelled).
-- name: depsOtherLiveParents
SELECT count(*) AS n FROM job_deps d JOIN jobs p ON p.id = d.parent_id
WHERE d.child_id = :childId AND d.parent_id <> :parentId
  AND p.state IN ('waiting', 'scheduled', 'blocked', 'active');

-- name: jobDepsDone
UPDATE jobs SET deps_pending = deps_pending - 1, updated_at = :now
WHERE id = :id AND state = 'blocked'
RETURNING deps_pending, queue, run_at;

-- name: jobUnblock
UPDATE jobs SET state = :state, updated_at = :now WHERE id = :id AND state = 'blocked';

-- name: jobBlock
UPDATE jobs
SET state = :state, deps_pending = :depsPending, attempt = max(attempt - 1, 0), updated_at = :now,
    lease_expires_at = NULL, worker_id = NULL, started_at = NULL
WHERE id = :id AND state = 'active' AND lease_token = :leaseToken
RETURNING queue;

-- name: jobFailDependency
UPDATE jobs
SET state = 'failed', errors = :errors, finished_at = :now, updated_at = :now
WHERE id = :id AND state = 'blocked';

-- ── breakers ───────────────────────────────────────────────────────────────────────────────

-- name: breakerDefine
INSERT INTO breakers (name, config, updated_at) VALUES (:name, :config, :now)
ON CONFLICT (name) DO UPDATE SET config = excluded.config, updated_at = excluded.updated_at;

-- name: breakerGet
SELECT * FROM breakers WHERE name = :name;

-- name: breakerList
SELECT * FROM breakers ORDER BY name;

-- name: breakerUpdate
UPDATE breakers
SET state = :state, failures = :failures, successes = :successes, window_start = :windowStart,
    window_total = :windowTotal, window_failures = :windowFailures, opened_at = :openedAt, updated_at = :now
WHERE name = :name;

-- ── records and workers ────────────────────────────────────────────────────────────────────

-- name: recordPut
INSERT INTO records (collection, id, tenant, key, data, created_at, updated_at)
VALUES (:collection, :id, :tenant, :key, :data, :now, :now)
ON CONFLICT (collection, id) DO UPDATE SET
  tenant = excluded.tenant, key = excluded.key, data = excluded.data, updated_at = excluded.updated_at
RETURNING *;

-- name: recordGet
SELECT * FROM records WHERE collection = :collection AND id = :id;

-- name: recordFindByKey
SELECT * FROM records WHERE collection = :collection AND key = :key;

-- name: recordList
SELECT * FROM records WHERE collection = :collection AND seq > :afterSeq ORDER BY seq LIMIT :limit;

-- name: recordListTenant
SELECT * FROM records
WHERE collection = :collection AND tenant = :tenant AND seq > :afterSeq ORDER BY seq LIMIT :limit;

-- Newest first, between two seqs (the audit log's newest page first).
-- name: recordListDesc
SELECT * FROM records WHERE collection = :collection AND seq > :afterSeq AND seq < :beforeSeq
ORDER BY seq DESC LIMIT :limit;

-- name: recordListTenantDesc
SELECT * FROM records
WHERE collection = :collection AND tenant = :tenant AND seq > :afterSeq AND seq < :beforeSeq
ORDER BY seq DESC LIMIT :limit;

-- name: recordDelete
DELETE FROM records WHERE collection = :collection AND id = :id;

-- name: workerBeat
INSERT INTO workers (id, node_id, queue, concurrency, running, info, started_at, seen_at)
VALUES (:id, :nodeId, :queue, :concurrency, :running, :info, :now, :now)
ON CONFLICT (id) DO UPDATE SET concurrency = excluded.concurrency, running = excluded.running,
  info = excluded.info, seen_at = excluded.seen_at;

-- name: workerRemove
DELETE FROM workers WHERE id = :id;

-- name: workerPrune
DELETE FROM workers WHERE seen_at < :since;

-- name: workerList
SELECT * FROM workers WHERE seen_at >= :since ORDER BY queue, id;

-- ── schedules ──────────────────────────────────────────────────────────────────────────────

-- An unchanged cron, time zone and paused flag keep the pending next run (so re-applying a
-- schedule at every deploy neither skips nor repeats a tick); any change takes :nextRunAt.
-- name: scheduleUpsert
INSERT INTO schedules (name, tenant, cron, timezone, queue, payload, options, catch_up, paused,
  next_run_at, created_at, updated_at)
VALUES (:name, :tenant, :cron, :timezone, :queue, :payload, :options, :catchUp, :paused,
  :nextRunAt, :now, :now)
ON CONFLICT (name) DO UPDATE SET
  tenant = excluded.tenant, queue = excluded.queue, payload = excluded.payload,
  options = excluded.options, catch_up = excluded.catch_up,
  next_run_at = CASE
    WHEN schedules.cron = excluded.cron AND schedules.timezone = excluded.timezone
      AND schedules.paused = excluded.paused THEN schedules.next_run_at
    ELSE excluded.next_run_at END,
  cron = excluded.cron, timezone = excluded.timezone, paused = excluded.paused,
  updated_at = excluded.updated_at
RETURNING *;

-- name: scheduleGet
SELECT * FROM schedules WHERE name = :name;

-- name: scheduleListAll
SELECT * FROM schedules ORDER BY name;

-- name: scheduleListTenant
SELECT * FROM schedules WHERE tenant = :tenant ORDER BY name;

-- name: scheduleDelete
DELETE FROM schedules WHERE name = :name;

-- Resuming takes :nextRunAt (ticks while paused are skipped); pausing keeps the next run.
-- name: scheduleSetPaused
UPDATE schedules SET
  next_run_at = CASE WHEN paused = 1 AND :paused = 0 THEN :nextRunAt ELSE next_run_at END,
  paused = :paused, updated_at = :now
WHERE name = :name
RETURNING *;

-- name: scheduleDue
SELECT * FROM schedules WHERE paused = 0 AND next_run_at <= :now ORDER BY next_run_at LIMIT :limit;

-- The compare-and-set of a tick: only the node that read this next run moves it on.
-- name: scheduleAdvance
UPDATE schedules SET next_run_at = :nextRunAt, last_run_at = coalesce(:lastRunAt, last_run_at)
WHERE name = :name AND next_run_at = :from AND cron = :cron AND timezone = :timezone AND paused = 0;
