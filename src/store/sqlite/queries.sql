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
SELECT name, paused, config, created_at, updated_at FROM queues WHERE name = :name;

-- name: queueList
SELECT name, paused, config, created_at, updated_at FROM queues ORDER BY name;

-- name: queueConfigure
UPDATE queues SET config = :config, updated_at = :now WHERE name = :name;

-- name: queuePause
UPDATE queues SET paused = :paused, updated_at = :now WHERE name = :name;

-- name: queueCounts
SELECT queue, state, count(*) AS n FROM jobs GROUP BY queue, state;

-- name: queueCountsOne
SELECT queue, state, count(*) AS n FROM jobs WHERE queue = :queue GROUP BY queue, state;

-- A job without an idempotency key: no conflict to look for, and the id comes back as the
-- insert's rowid (about a third cheaper than the upsert below with RETURNING).
-- name: jobInsertPlain
INSERT INTO jobs (queue, state, priority, run_at, payload, max_attempts, backoff, timeout_ms,
                  idempotency_key, grp, tags, metadata, created_at, updated_at)
VALUES (:queue, :state, :priority, :runAt, :payload, :maxAttempts, :backoff, :timeoutMs,
        NULL, :group, :tags, :metadata, :now, :now);

-- name: jobInsert
INSERT INTO jobs (queue, state, priority, run_at, payload, max_attempts, backoff, timeout_ms,
                  idempotency_key, grp, tags, metadata, created_at, updated_at)
VALUES (:queue, :state, :priority, :runAt, :payload, :maxAttempts, :backoff, :timeoutMs,
        :idempotencyKey, :group, :tags, :metadata, :now, :now)
ON CONFLICT (queue, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
RETURNING id;

-- name: jobByIdempotencyKey
SELECT id, state FROM jobs WHERE queue = :queue AND idempotency_key = :idempotencyKey;

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
  ORDER BY priority, run_at, id
  LIMIT :limit
)
AND NOT EXISTS (SELECT 1 FROM queues WHERE name = :queue AND paused = 1)
RETURNING id, queue, priority, run_at, payload, attempt, max_attempts, backoff, timeout_ms,
          idempotency_key, grp, tags, metadata, lease_token, lease_expires_at, created_at, started_at;

-- The next time a not-yet-due job of the queue becomes claimable (a worker's idle timer).
-- name: jobNextRunAt
-- Waiting jobs are due by definition, so only scheduled ones count (index jobs_due_queue).
SELECT min(run_at) AS run_at FROM jobs
WHERE queue = :queue AND state = 'scheduled' AND run_at > :now;

-- No RETURNING: SQLite's RETURNING costs about as much as the update itself here; the caller
-- knows the job's queue.
-- name: jobComplete
UPDATE jobs
SET state = 'completed', result = :result, finished_at = :now, updated_at = :now,
    lease_expires_at = NULL, worker_id = NULL
WHERE id = :id AND state = 'active' AND lease_token = :leaseToken;

-- name: jobFail
UPDATE jobs
SET state = :state, run_at = :runAt, attempt = attempt - :refund, errors = :errors,
    finished_at = :finishedAt, updated_at = :now, lease_expires_at = NULL, worker_id = NULL
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

-- name: jobSetState
UPDATE jobs
SET state = :state, run_at = :runAt, attempt = :attempt, finished_at = :finishedAt, progress = :progress,
    lease_expires_at = NULL, worker_id = NULL, updated_at = :now
WHERE id = :id;

-- name: jobReprioritize
UPDATE jobs SET priority = :priority, updated_at = :now WHERE id = :id;

-- name: jobRemove
DELETE FROM jobs WHERE id = :id;

-- name: jobRemoveEvents
DELETE FROM events WHERE job_id = :id;

-- name: jobPosition
SELECT count(*) AS n FROM jobs
WHERE queue = :queue AND state IN ('waiting', 'scheduled') AND run_at <= :now
  AND (priority, run_at, id) < (:priority, :runAt, :id);

-- name: jobExpired
SELECT id, queue, attempt, max_attempts, errors, lease_token FROM jobs
WHERE state = 'active' AND lease_expires_at < :now
LIMIT 500;

-- name: jobPromoteDue
UPDATE jobs SET state = 'waiting', updated_at = :now
WHERE id IN (SELECT id FROM jobs WHERE state = 'scheduled' AND run_at <= :now ORDER BY run_at LIMIT :limit)
RETURNING id, queue;

-- name: jobCleanupByAge
SELECT id FROM jobs
WHERE queue = :queue AND state = :state AND finished_at IS NOT NULL AND finished_at < :before;

-- name: jobCleanupByCount
SELECT id FROM jobs
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
