-- +goose Up
-- The audit log is append-only and hash-chained (package audit). audit_head holds the
-- tip of the chain; updating it serialises writers so the chain never forks.
CREATE TABLE audit_head (
	id   INTEGER PRIMARY KEY CHECK (id = 1),
	seq  BIGINT NOT NULL,
	hash BYTEA NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, decode(repeat('00', 32), 'hex'));

CREATE TABLE audit_events (
	seq       BIGINT PRIMARY KEY,
	at        BIGINT NOT NULL,
	actor     TEXT NOT NULL,
	action    TEXT NOT NULL,
	target    TEXT NOT NULL,
	box_id    TEXT NOT NULL DEFAULT '',
	addr      TEXT NOT NULL,
	result    TEXT NOT NULL,
	detail    TEXT NOT NULL,
	prev_hash BYTEA NOT NULL,
	hash      BYTEA NOT NULL
);
CREATE INDEX audit_events_actor ON audit_events (actor, seq);
CREATE INDEX audit_events_target ON audit_events (target, seq);
CREATE INDEX audit_events_box ON audit_events (box_id, seq) WHERE box_id <> '';
CREATE INDEX audit_events_at ON audit_events (at);

-- +goose StatementBegin
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'audit events are append-only';
END $$;
-- +goose StatementEnd
CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
	FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
	FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();

-- Wrapped per-object data keys (package seal). Destroying the row destroys the only
-- usable copy of the key; rotation rewraps rows under a new master key.
CREATE TABLE seal_keys (
	id         TEXT PRIMARY KEY,
	master_id  TEXT NOT NULL,
	wrapped    BYTEA NOT NULL,
	created_at BIGINT NOT NULL
);
CREATE INDEX seal_keys_master ON seal_keys (master_id);

-- +goose Down
DROP TABLE seal_keys;
DROP TABLE audit_events;
DROP FUNCTION audit_events_append_only;
DROP TABLE audit_head;
