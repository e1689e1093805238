-- +goose Up
-- The audit log is append-only and hash-chained (package audit). audit_head holds the
-- tip of the chain; updating it serialises writers so the chain never forks.
CREATE TABLE audit_head (
	id   INTEGER PRIMARY KEY CHECK (id = 1),
	seq  INTEGER NOT NULL,
	hash BLOB NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, zeroblob(32));

CREATE TABLE audit_events (
	seq       INTEGER PRIMARY KEY,
	at        INTEGER NOT NULL,
	actor     TEXT NOT NULL,
	action    TEXT NOT NULL,
	target    TEXT NOT NULL,
	box_id    TEXT NOT NULL DEFAULT '',
	addr      TEXT NOT NULL,
	result    TEXT NOT NULL,
	detail    TEXT NOT NULL,
	prev_hash BLOB NOT NULL,
	hash      BLOB NOT NULL
);
CREATE INDEX audit_events_actor ON audit_events (actor, seq);
CREATE INDEX audit_events_target ON audit_events (target, seq);
CREATE INDEX audit_events_box ON audit_events (box_id, seq) WHERE box_id <> '';
CREATE INDEX audit_events_at ON audit_events (at);

-- +goose StatementBegin
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
-- +goose StatementEnd

-- Wrapped per-object data keys (package seal). Destroying the row destroys the only
-- usable copy of the key; rotation rewraps rows under a new master key.
CREATE TABLE seal_keys (
	id         TEXT PRIMARY KEY,
	master_id  TEXT NOT NULL,
	wrapped    BLOB NOT NULL,
	created_at INTEGER NOT NULL
);
CREATE INDEX seal_keys_master ON seal_keys (master_id);

-- +goose Down
DROP TABLE seal_keys;
DROP TABLE audit_events;
DROP TABLE audit_head;
