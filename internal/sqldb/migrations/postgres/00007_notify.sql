-- +goose Up
-- Which events mail whom (package notify). A notice waits until the member's next
-- mail, so a burst of events becomes one mail; mailed_at is set in the same
-- transaction that queues that mail, so each notice is mailed exactly once.
CREATE TABLE notices (
	id         TEXT PRIMARY KEY,
	member_id  TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
	box_id     TEXT NOT NULL REFERENCES boxes (id) ON DELETE CASCADE,
	kind       TEXT NOT NULL CHECK (kind IN ('shared', 'file_added', 'comment', 'reminder', 'expiring')),
	created_at BIGINT NOT NULL,
	mailed_at  BIGINT
);
CREATE INDEX notices_pending ON notices (member_id, mailed_at);

-- Each member's mail triggers (設定 → 発信トリガー, R-N2); no row means all on.
CREATE TABLE notify_settings (
	member_id  TEXT PRIMARY KEY REFERENCES members (id) ON DELETE CASCADE,
	shared     BOOLEAN NOT NULL,
	file_added BOOLEAN NOT NULL,
	comment    BOOLEAN NOT NULL,
	reminder   BOOLEAN NOT NULL,
	expiring   BOOLEAN NOT NULL
);

-- +goose Down
DROP TABLE notify_settings;
DROP TABLE notices;
