-- +goose Up
-- The durable job queue (package job). A job is claimed by setting a lease; if its
-- instance dies the lease runs out and another instance claims it again. dedup_key
-- makes "once per item" work and periodic slots enqueue exactly once.
CREATE TABLE jobs (
	id           TEXT PRIMARY KEY,
	kind         TEXT NOT NULL,
	payload      TEXT NOT NULL,
	dedup_key    TEXT UNIQUE,
	state        TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'dead')),
	run_at       BIGINT NOT NULL,
	attempts     INTEGER NOT NULL DEFAULT 0,
	max_attempts INTEGER NOT NULL,
	lease_owner  TEXT,
	lease_until  BIGINT,
	last_error   TEXT NOT NULL DEFAULT '',
	created_at   BIGINT NOT NULL,
	finished_at  BIGINT
);
CREATE INDEX jobs_due ON jobs (state, run_at);
CREATE INDEX jobs_lease ON jobs (state, lease_until);
CREATE INDEX jobs_finished ON jobs (finished_at);

-- +goose Down
DROP TABLE jobs;
