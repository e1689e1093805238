-- +goose Up
-- Second factors (package auth, R-X2) and re-authentication (R-X8).

-- A session that has passed the password but still owes its second factor has
-- pending = 'second_factor'; it reaches only the second-factor page and sign-out.
-- reauth_at is when the member last gave their password (and second factor):
-- sensitive changes need it within the last few minutes.
ALTER TABLE sessions ADD COLUMN pending TEXT NOT NULL DEFAULT '' CHECK (pending IN ('', 'second_factor'));
ALTER TABLE sessions ADD COLUMN reauth_at BIGINT NOT NULL DEFAULT 0;

-- TOTP authenticators: at most one active per member, and one pending enrolment
-- waiting for its first code. The secret is sealed with a data key of its own
-- (seal_keys row key_id), so master-key rotation covers it and removal destroys
-- it. last_step is the last accepted time step, so a code is accepted once only.
CREATE TABLE mfa_totp (
	member_id    TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
	state        TEXT NOT NULL CHECK (state IN ('pending', 'active')),
	key_id       TEXT NOT NULL,
	secret       BYTEA NOT NULL,
	created_at   BIGINT NOT NULL,
	confirmed_at BIGINT NOT NULL DEFAULT 0,
	last_step    BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (member_id, state)
);

-- Single-use recovery codes, as SHA-256 hashes (the codes carry 80 random bits).
CREATE TABLE mfa_recovery (
	member_id  TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
	code_hash  TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	used_at    BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (member_id, code_hash)
);

-- The WebAuthn user handle of a member: random, stable, shared by their passkeys.
CREATE TABLE passkey_users (
	member_id TEXT PRIMARY KEY REFERENCES members (id) ON DELETE CASCADE,
	handle    BYTEA NOT NULL UNIQUE
);

-- Registered passkeys. credential is the library's Credential as JSON (public key,
-- sign count, flags); credential_id is its id in base64url, unique per RP ID.
CREATE TABLE passkeys (
	id            TEXT PRIMARY KEY,
	member_id     TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
	rp_id         TEXT NOT NULL,
	credential_id TEXT NOT NULL,
	name          TEXT NOT NULL,
	credential    TEXT NOT NULL,
	created_at    BIGINT NOT NULL,
	last_used_at  BIGINT NOT NULL DEFAULT 0,
	UNIQUE (rp_id, credential_id)
);
CREATE INDEX passkeys_member ON passkeys (member_id);

-- WebAuthn ceremony state between its two steps, bound to the session that began
-- it and shared by every instance; it ends with the session.
CREATE TABLE passkey_ceremonies (
	session_hash TEXT NOT NULL REFERENCES sessions (id_hash) ON DELETE CASCADE,
	purpose      TEXT NOT NULL CHECK (purpose IN ('register', 'login')),
	data         TEXT NOT NULL,
	expires_at   BIGINT NOT NULL,
	PRIMARY KEY (session_hash, purpose)
);

-- "Remember this device": the hash of a random cookie per device, for 30 days.
-- Sign-out everywhere deletes them all.
CREATE TABLE remembered_devices (
	token_hash TEXT PRIMARY KEY,
	member_id  TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL
);
CREATE INDEX remembered_devices_member ON remembered_devices (member_id);

-- +goose Down
DROP TABLE remembered_devices;
DROP TABLE passkey_ceremonies;
DROP TABLE passkeys;
DROP TABLE passkey_users;
DROP TABLE mfa_recovery;
DROP TABLE mfa_totp;
ALTER TABLE sessions DROP COLUMN reauth_at;
ALTER TABLE sessions DROP COLUMN pending;
