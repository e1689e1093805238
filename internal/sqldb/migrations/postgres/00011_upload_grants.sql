-- +goose Up
-- Upload grants (package auth): a short-lived credential for the chunk PUTs of one
-- upload, which the page sends to the upload hosts in a header — never a cookie,
-- so it works across host names. Only a hash is stored. A grant ends with its
-- upload (complete, abort, expiry of the box), with the session it was given to
-- (sign-out, sign out everywhere, idle or absolute end) and at expires_at.
CREATE TABLE upload_grants (
	hash       TEXT PRIMARY KEY,
	upload_id  TEXT NOT NULL REFERENCES uploads (id) ON DELETE CASCADE,
	member_id  TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
	session_id TEXT NOT NULL REFERENCES sessions (id_hash) ON DELETE CASCADE,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL
);
CREATE INDEX upload_grants_upload ON upload_grants (upload_id);
CREATE INDEX upload_grants_session ON upload_grants (session_id);
CREATE INDEX upload_grants_member ON upload_grants (member_id);
CREATE INDEX upload_grants_expiry ON upload_grants (expires_at);

-- +goose Down
DROP TABLE upload_grants;
