-- Spool schema, version 1 (SQLite).
-- Times are epoch milliseconds. Payloads and results are JSON text the engine has serialised.

CREATE TABLE queues (
  name        TEXT PRIMARY KEY,
  paused      INTEGER NOT NULL DEFAULT 0,
  config      TEXT NOT NULL DEFAULT '{}',
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
) STRICT;

-- AUTOINCREMENT: ids are never reused after a delete, so an id in an old event names one job.
CREATE TABLE jobs (
  id                INTEGER PRIMARY KEY AUTOINCREMENT,
  queue             TEXT NOT NULL,
  state             TEXT NOT NULL,
  priority          INTEGER NOT NULL,
  run_at            INTEGER NOT NULL,
  payload           TEXT NOT NULL,
  result            TEXT,
  attempt           INTEGER NOT NULL DEFAULT 0,
  max_attempts      INTEGER NOT NULL,
  backoff           TEXT NOT NULL,
  timeout_ms        INTEGER,
  idempotency_key   TEXT,
  grp               TEXT,
  tags              TEXT NOT NULL DEFAULT '[]',
  metadata          TEXT NOT NULL DEFAULT '{}',
  progress          TEXT,
  errors            TEXT NOT NULL DEFAULT '[]',
  lease_token       INTEGER NOT NULL DEFAULT 0,
  lease_expires_at  INTEGER,
  worker_id         TEXT,
  created_at        INTEGER NOT NULL,
  started_at        INTEGER,
  finished_at       INTEGER,
  updated_at        INTEGER NOT NULL
) STRICT;

-- The claim walks this index in order and stops after LIMIT rows: due scheduled jobs are
-- claimable directly, so a retry or a delay does not wait for a promotion pass.
CREATE INDEX jobs_claim ON jobs (queue, priority, run_at, id) WHERE state IN ('waiting', 'scheduled');
CREATE INDEX jobs_lease ON jobs (lease_expires_at) WHERE state = 'active';
CREATE INDEX jobs_due ON jobs (run_at) WHERE state = 'scheduled';
CREATE INDEX jobs_queue_state ON jobs (queue, state, id);
CREATE INDEX jobs_finished ON jobs (queue, state, finished_at) WHERE finished_at IS NOT NULL;
CREATE UNIQUE INDEX jobs_idempotency ON jobs (queue, idempotency_key) WHERE idempotency_key IS NOT NULL;

CREATE TABLE events (
  id       INTEGER PRIMARY KEY AUTOINCREMENT,
  at       INTEGER NOT NULL,
  type     TEXT NOT NULL,
  queue    TEXT,
  job_id   INTEGER,
  state    TEXT,
  data     TEXT
) STRICT;
CREATE INDEX events_job ON events (job_id, id) WHERE job_id IS NOT NULL;

CREATE TABLE stats_minute (
  queue      TEXT NOT NULL,
  minute     INTEGER NOT NULL,
  completed  INTEGER NOT NULL DEFAULT 0,
  failed     INTEGER NOT NULL DEFAULT 0,
  retried    INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (queue, minute)
) STRICT, WITHOUT ROWID;

CREATE TABLE leader_leases (
  name        TEXT PRIMARY KEY,
  node_id     TEXT NOT NULL,
  expires_at  INTEGER NOT NULL
) STRICT;
