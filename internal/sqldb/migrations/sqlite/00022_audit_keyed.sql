-- +goose Up
-- The keyed, partitioned audit log (package audit, issue 14).
--
-- Events are MAC'd (HMAC-SHA256) under a key derived from the audit key, a data
-- key in seal_keys that the master key wraps, so no one who can only write the
-- database can forge or recompute a link. They are spread over 32 chains, each
-- with its own head row in audit_chains, so concurrent appends from any number of
-- instances do not queue on one row (on SQLite, one writer at a time anyway).
-- seq stays the one global order.
--
-- The events of the earlier single SHA-256 chain become chain -1, with part_seq =
-- seq; audit_head keeps its tip. The first checkpoint MACs that tip and count,
-- which seals them into the new scheme. SQLite cannot relax NOT NULL in place, so
-- the table is rebuilt.
CREATE TABLE audit_events_keyed (
	seq       INTEGER PRIMARY KEY,
	at        INTEGER NOT NULL,
	actor     TEXT NOT NULL,
	action    TEXT NOT NULL,
	target    TEXT NOT NULL,
	box_id    TEXT NOT NULL DEFAULT '',
	addr      TEXT NOT NULL,
	result    TEXT NOT NULL,
	detail    TEXT NOT NULL,
	prev_hash BLOB,
	hash      BLOB,
	part      INTEGER NOT NULL,
	part_seq  INTEGER NOT NULL,
	mac       BLOB
);
INSERT INTO audit_events_keyed (seq, at, actor, action, target, box_id, addr, result, detail, prev_hash, hash, part, part_seq)
	SELECT seq, at, actor, action, target, box_id, addr, result, detail, prev_hash, hash, -1, seq FROM audit_events;
DROP TABLE audit_events;
ALTER TABLE audit_events_keyed RENAME TO audit_events;
CREATE INDEX audit_events_actor ON audit_events (actor, seq);
CREATE INDEX audit_events_target ON audit_events (target, seq);
CREATE INDEX audit_events_box ON audit_events (box_id, seq) WHERE box_id <> '';
CREATE INDEX audit_events_at ON audit_events (at);
CREATE UNIQUE INDEX audit_events_chain ON audit_events (part, part_seq);
-- "Did this member do this lately?" (a preview viewed in the last minutes, sign-ins
-- in a window) reads a few rows, not every event of the member.
CREATE INDEX audit_events_recent ON audit_events (actor, action, at);
-- +goose StatementBegin
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
-- +goose StatementEnd

-- The head of each chain: how many events it holds, the MAC of the last one and
-- that event's seq.
CREATE TABLE audit_chains (
	part     INTEGER PRIMARY KEY,
	seq      INTEGER NOT NULL,
	mac      BLOB NOT NULL,
	last_seq INTEGER NOT NULL
);
WITH RECURSIVE g(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM g WHERE n < 31)
INSERT INTO audit_chains (part, seq, mac, last_seq) SELECT n, 0, zeroblob(32), 0 FROM g;

-- Which seal_keys row is the audit key. Made on the first keyed append.
CREATE TABLE audit_key (
	id         INTEGER PRIMARY KEY CHECK (id = 1),
	key_id     TEXT NOT NULL,
	created_at INTEGER NOT NULL
);

-- Checkpoints: every chain's head at one moment, MAC'd and chained to the one
-- before; each is also anchored outside the database (the blob store and the
-- instance log). Append-only like the events.
CREATE TABLE audit_checkpoints (
	n    INTEGER PRIMARY KEY,
	at   INTEGER NOT NULL,
	body TEXT NOT NULL,
	mac  BLOB NOT NULL
);
-- +goose StatementBegin
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
-- +goose StatementEnd

-- The monitor follows the log by chain positions ("part:part_seq,…"), which,
-- unlike a global seq, never skip an event that commits late.
ALTER TABLE monitor_cursor ADD COLUMN chains TEXT NOT NULL DEFAULT '';
UPDATE monitor_cursor SET chains = '-1:' || seq;

-- +goose Down
ALTER TABLE monitor_cursor DROP COLUMN chains;
DROP TABLE audit_checkpoints;
DROP TABLE audit_key;
DROP TABLE audit_chains;
DROP INDEX audit_events_recent;
DROP INDEX audit_events_chain;
ALTER TABLE audit_events DROP COLUMN mac;
ALTER TABLE audit_events DROP COLUMN part_seq;
ALTER TABLE audit_events DROP COLUMN part;
