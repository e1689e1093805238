-- +goose Up
-- How far the monitor has read the audit log (package monitor): it reads each
-- event once, and moves this cursor in the transaction that queues its mails.
CREATE TABLE monitor_cursor (
	id  INTEGER PRIMARY KEY CHECK (id = 1),
	seq BIGINT NOT NULL
);
INSERT INTO monitor_cursor (id, seq) VALUES (1, 0);

-- Alerts raised (R-X6), kept for the administrators' page; key makes a pattern
-- alert once per window.
CREATE TABLE alerts (
	key        TEXT PRIMARY KEY,
	kind       TEXT NOT NULL,
	detail     TEXT NOT NULL,
	created_at BIGINT NOT NULL
);
CREATE INDEX alerts_created ON alerts (created_at);

-- +goose Down
DROP TABLE alerts;
DROP TABLE monitor_cursor;
