-- +goose Up
-- Passwordless sign-in ceremonies (package auth): the challenge a browser must
-- answer with a passkey before it has any session, under the hash of the ticket
-- in its short-lived cookie. Each is used once; the hourly purge drops the rest.
CREATE TABLE passkey_signins (
	ticket_hash TEXT PRIMARY KEY,
	data        TEXT NOT NULL,
	expires_at  INTEGER NOT NULL
);
CREATE INDEX passkey_signins_expiry ON passkey_signins (expires_at);

-- +goose Down
DROP TABLE passkey_signins;
