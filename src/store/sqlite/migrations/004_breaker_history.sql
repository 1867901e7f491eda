-- A breaker's history (its breaker.* events, which name no job) is read by name, newest first;
-- without this index that read walked every event.
CREATE INDEX events_breaker ON events (json_extract(data, '$.breaker'), id) WHERE job_id IS NULL;
