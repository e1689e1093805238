-- +goose Up
-- Uploads in progress (package upload). Chunks are stored sealed under the key
-- f/<file_id>/<n> from the start, so completing an upload moves no bytes.
CREATE TABLE uploads (
	id           TEXT PRIMARY KEY,
	file_id      TEXT NOT NULL UNIQUE,
	box_id       TEXT NOT NULL REFERENCES boxes (id) ON DELETE CASCADE,
	member_id    TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
	name         TEXT NOT NULL,
	size         BIGINT NOT NULL,
	declared_type TEXT NOT NULL DEFAULT '',
	key_id       TEXT NOT NULL,
	-- open: chunks may arrive; completing: complete has checked every chunk and
	-- no chunk may be written any more.
	state        TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'completing')),
	chunk_size   BIGINT NOT NULL,
	chunk_count  INTEGER NOT NULL,
	created_at   BIGINT NOT NULL,
	touched_at   BIGINT NOT NULL
);
CREATE INDEX uploads_member ON uploads (member_id);
CREATE INDEX uploads_touched ON uploads (touched_at);

-- A chunk is claimed (writing) before its object is stored and acknowledged
-- (done) after; a done chunk is never written again, so what complete checked is
-- what the file holds.
CREATE TABLE upload_chunks (
	upload_id  TEXT NOT NULL REFERENCES uploads (id) ON DELETE CASCADE,
	n          INTEGER NOT NULL,
	state      TEXT NOT NULL CHECK (state IN ('writing', 'done')),
	claim      TEXT NOT NULL,
	claimed_at BIGINT NOT NULL,
	size       BIGINT NOT NULL,
	sha256     TEXT NOT NULL,
	PRIMARY KEY (upload_id, n)
);

-- +goose Down
DROP TABLE upload_chunks;
DROP TABLE uploads;
