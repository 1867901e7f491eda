-- Spool schema, version 3 (SQLite): tenants, flows, fairness, limits, breakers, schedules, and
-- the server's own records. See docs/concepts.md for what each table is for.

-- Every job belongs to one tenant; the server scopes every call by it.
ALTER TABLE jobs ADD COLUMN tenant TEXT NOT NULL DEFAULT 'default';
-- Fair queues order each priority level by a virtual time given at enqueue (weighted fair
-- queuing between groups); it is 0 in other queues, which leaves them FIFO by run_at.
ALTER TABLE jobs ADD COLUMN vtime REAL NOT NULL DEFAULT 0;
-- Flows: dependencies not yet resolved. A blocked job becomes waiting when this reaches 0.
ALTER TABLE jobs ADD COLUMN deps_pending INTEGER NOT NULL DEFAULT 0;
-- A queue-wide pause until a time (a provider's Retry-After), and whether claims must take the
-- constrained path (rate limits, concurrency caps, breakers): the fast claim refuses such queues.
ALTER TABLE queues ADD COLUMN paused_until INTEGER NOT NULL DEFAULT 0;
ALTER TABLE queues ADD COLUMN constrained INTEGER NOT NULL DEFAULT 0;

DROP INDEX jobs_claim;
CREATE INDEX jobs_claim ON jobs (queue, priority, vtime, run_at, id) WHERE state IN ('waiting', 'scheduled');
CREATE INDEX jobs_tenant ON jobs (tenant, id);
CREATE INDEX jobs_active_group ON jobs (queue, grp) WHERE state = 'active';
CREATE INDEX jobs_blocked ON jobs (id) WHERE state = 'blocked';

-- parent waits for child. on_failure: fail (the parent fails), ignore (as if it succeeded,
-- without a result), continue (the parent runs and sees the failure).
CREATE TABLE job_deps (
  parent_id   INTEGER NOT NULL,
  child_id    INTEGER NOT NULL,
  on_failure  TEXT NOT NULL,
  resolved    INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (parent_id, child_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX job_deps_child ON job_deps (child_id);

-- Per group of a queue: its fair-queuing clock and a pause until a time (Retry-After for a key).
CREATE TABLE queue_groups (
  queue         TEXT NOT NULL,
  grp           TEXT NOT NULL,
  vtime         REAL NOT NULL DEFAULT 0,
  paused_until  INTEGER NOT NULL DEFAULT 0,
  updated_at    INTEGER NOT NULL,
  PRIMARY KEY (queue, grp)
) STRICT, WITHOUT ROWID;

-- Starts per key in sub-windows of a rate limit's window (see limits in sqlite-store.ts).
CREATE TABLE rate_buckets (
  key     TEXT NOT NULL,
  bucket  INTEGER NOT NULL,
  n       INTEGER NOT NULL,
  PRIMARY KEY (key, bucket)
) STRICT, WITHOUT ROWID;

CREATE TABLE breakers (
  name             TEXT PRIMARY KEY,
  config           TEXT NOT NULL,
  state            TEXT NOT NULL DEFAULT 'closed',
  failures         INTEGER NOT NULL DEFAULT 0,
  successes        INTEGER NOT NULL DEFAULT 0,
  window_start     INTEGER NOT NULL DEFAULT 0,
  window_total     INTEGER NOT NULL DEFAULT 0,
  window_failures  INTEGER NOT NULL DEFAULT 0,
  opened_at        INTEGER,
  updated_at       INTEGER NOT NULL
) STRICT;

CREATE TABLE schedules (
  name         TEXT PRIMARY KEY,
  tenant       TEXT NOT NULL DEFAULT 'default',
  cron         TEXT NOT NULL,
  timezone     TEXT NOT NULL DEFAULT 'UTC',
  queue        TEXT NOT NULL,
  payload      TEXT NOT NULL,
  options      TEXT NOT NULL DEFAULT '{}',
  catch_up     TEXT NOT NULL DEFAULT 'latest',
  paused       INTEGER NOT NULL DEFAULT 0,
  next_run_at  INTEGER,
  last_run_at  INTEGER,
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX schedules_due ON schedules (next_run_at) WHERE paused = 0;

-- Token buckets for admission (an enqueue rate per user with a burst allowance).
CREATE TABLE token_buckets (
  key         TEXT PRIMARY KEY,
  tokens      REAL NOT NULL,
  updated_at  INTEGER NOT NULL
) STRICT;

-- The server's own documents (API keys, audit log, webhooks…); seq only grows.
CREATE TABLE records (
  seq         INTEGER PRIMARY KEY AUTOINCREMENT,
  collection  TEXT NOT NULL,
  id          TEXT NOT NULL,
  tenant      TEXT NOT NULL,
  key         TEXT,
  data        TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX records_id ON records (collection, id);
CREATE UNIQUE INDEX records_key ON records (collection, key) WHERE key IS NOT NULL;
CREATE INDEX records_tenant ON records (collection, tenant, seq);

-- Workers that announced themselves, refreshed while they run (who is connected, what runs).
CREATE TABLE workers (
  id           TEXT PRIMARY KEY,
  node_id      TEXT NOT NULL,
  queue        TEXT NOT NULL,
  concurrency  INTEGER NOT NULL,
  running      TEXT NOT NULL DEFAULT '[]',
  info         TEXT NOT NULL DEFAULT '{}',
  started_at   INTEGER NOT NULL,
  seen_at      INTEGER NOT NULL
) STRICT;
