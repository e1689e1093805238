-- +goose Up
-- Sessions of the web UI and bearer tokens of the API (package auth). Only a hash of
-- the token is stored; "sign out everywhere" deletes every row of a member.
CREATE TABLE sessions (
	id_hash      TEXT PRIMARY KEY,
	member_id    TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
	kind         TEXT NOT NULL CHECK (kind IN ('web', 'api')),
	created_at   BIGINT NOT NULL,
	last_seen_at BIGINT NOT NULL,
	expires_at   BIGINT NOT NULL,
	addr         TEXT NOT NULL,
	user_agent   TEXT NOT NULL
);
CREATE INDEX sessions_member ON sessions (member_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);

-- Consecutive wrong passwords per account and the lock they lead to (R-X1).
CREATE TABLE login_state (
	member_id    TEXT PRIMARY KEY REFERENCES members (id) ON DELETE CASCADE,
	failures     INTEGER NOT NULL,
	locks        INTEGER NOT NULL,
	locked_until BIGINT NOT NULL
);

-- Failed sign-ins per client address per window, shared by every instance.
CREATE TABLE throttle (
	key          TEXT PRIMARY KEY,
	window_start BIGINT NOT NULL,
	count        INTEGER NOT NULL
);

-- +goose Down
DROP TABLE throttle;
DROP TABLE login_state;
DROP TABLE sessions;
