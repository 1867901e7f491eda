-- A worker whose claim came back short asks when its queue's next scheduled job is due; without
-- this index that question walked every waiting job of the queue (5 ms at 20,000 waiting).
CREATE INDEX jobs_due_queue ON jobs (queue, run_at) WHERE state = 'scheduled';
