-- +goose Up
-- Members (package member). Fixed identity (R-M4) is enforced here as well as in
-- code: once approved_at is set, name, kana, profession and licence number cannot
-- change and approved_at cannot be cleared.
CREATE TABLE members (
	id                   TEXT PRIMARY KEY,
	email                TEXT NOT NULL UNIQUE,
	password_hash        TEXT NOT NULL,
	role                 TEXT NOT NULL CHECK (role IN ('member', 'admin')),
	status               TEXT NOT NULL CHECK (status IN ('unconfirmed', 'pending', 'active', 'rejected', 'suspended')),
	name                 TEXT NOT NULL,
	name_kana            TEXT NOT NULL,
	profession           TEXT NOT NULL,
	license_number       TEXT NOT NULL,
	workplace            TEXT NOT NULL,
	department           TEXT NOT NULL,
	search               TEXT NOT NULL,
	lang                 TEXT NOT NULL DEFAULT 'ja',
	proof_key            TEXT,
	proof_type           TEXT NOT NULL DEFAULT '',
	proof_size           INTEGER NOT NULL DEFAULT 0,
	reject_reason        TEXT NOT NULL DEFAULT '',
	invited_by           TEXT,
	must_change_password BOOLEAN NOT NULL DEFAULT FALSE,
	created_at           INTEGER NOT NULL,
	updated_at           INTEGER NOT NULL,
	confirmed_at         INTEGER,
	approved_at          INTEGER,
	reviewed_at          INTEGER,
	reviewed_by          TEXT
);
CREATE INDEX members_status ON members (status, created_at);

-- +goose StatementBegin
CREATE TRIGGER members_fixed_identity BEFORE UPDATE ON members
WHEN OLD.approved_at IS NOT NULL AND (
	NEW.approved_at IS NULL OR
	NEW.name IS NOT OLD.name OR
	NEW.name_kana IS NOT OLD.name_kana OR
	NEW.profession IS NOT OLD.profession OR
	NEW.license_number IS NOT OLD.license_number)
BEGIN
	SELECT RAISE(ABORT, 'fixed identity: name, kana, profession and licence number cannot change after approval');
END;
-- +goose StatementEnd

-- Single-use links: e-mail confirmation, password reset, first-administrator setup,
-- change of e-mail address (data holds the new address). Only a hash of the token
-- is stored.
CREATE TABLE member_tokens (
	hash       TEXT PRIMARY KEY,
	purpose    TEXT NOT NULL CHECK (purpose IN ('confirm', 'reset', 'setup', 'email')),
	member_id  TEXT REFERENCES members (id) ON DELETE CASCADE,
	data       TEXT NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
);
CREATE INDEX member_tokens_member ON member_tokens (member_id);
CREATE INDEX member_tokens_expiry ON member_tokens (expires_at);

CREATE TABLE invitations (
	id          TEXT PRIMARY KEY,
	inviter_id  TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
	email       TEXT NOT NULL,
	message     TEXT NOT NULL DEFAULT '',
	token_hash  TEXT NOT NULL UNIQUE,
	created_at  INTEGER NOT NULL,
	expires_at  INTEGER NOT NULL,
	member_id   TEXT REFERENCES members (id) ON DELETE CASCADE
);
CREATE INDEX invitations_inviter ON invitations (inviter_id, created_at);
CREATE INDEX invitations_member ON invitations (member_id);

-- +goose Down
DROP TABLE invitations;
DROP TABLE member_tokens;
DROP TABLE members;
