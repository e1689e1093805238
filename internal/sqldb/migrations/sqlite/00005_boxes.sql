-- +goose Up
-- Boxes (package box): one exchange between a sender and recipients. Every query
-- joins participants on the acting member, so a box does not exist for anyone else.
CREATE TABLE boxes (
	id          TEXT PRIMARY KEY,
	sender_id   TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
	message     TEXT NOT NULL DEFAULT '',
	created_at  INTEGER NOT NULL,
	expires_at  INTEGER NOT NULL,
	-- what the box holds or has reserved for uploads in progress (the per-send limits)
	file_count  INTEGER NOT NULL DEFAULT 0,
	bytes       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX boxes_expiry ON boxes (expires_at);
CREATE INDEX boxes_sender ON boxes (sender_id);

CREATE TABLE participants (
	box_id    TEXT NOT NULL REFERENCES boxes (id) ON DELETE CASCADE,
	member_id TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
	role      TEXT NOT NULL CHECK (role IN ('sender', 'recipient')),
	added_at  INTEGER NOT NULL,
	added_by  TEXT NOT NULL,
	read_at   INTEGER,
	PRIMARY KEY (box_id, member_id)
);
CREATE INDEX participants_member ON participants (member_id, box_id);

-- A file's bytes are sealed chunks under f/<id>/ in the blob store, under the data
-- key key_id; destroying that key makes them unreadable at once.
CREATE TABLE files (
	id           TEXT PRIMARY KEY,
	box_id       TEXT NOT NULL REFERENCES boxes (id) ON DELETE CASCADE,
	sender_id    TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
	name         TEXT NOT NULL,
	size         INTEGER NOT NULL,
	content_type TEXT NOT NULL,
	class        TEXT NOT NULL,
	key_id       TEXT NOT NULL,
	chunk_size   INTEGER NOT NULL,
	chunk_count  INTEGER NOT NULL,
	created_at   INTEGER NOT NULL
);
CREATE INDEX files_box ON files (box_id, created_at);
CREATE INDEX files_sender ON files (sender_id);

CREATE TABLE comments (
	id         TEXT PRIMARY KEY,
	box_id     TEXT NOT NULL REFERENCES boxes (id) ON DELETE CASCADE,
	author_id  TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
	body       TEXT NOT NULL,
	created_at INTEGER NOT NULL
);
CREATE INDEX comments_box ON comments (box_id, created_at);

-- Bytes a member has sent that are live or reserved by uploads in progress (R-S2).
CREATE TABLE usage (
	member_id TEXT PRIMARY KEY REFERENCES members (id) ON DELETE CASCADE,
	bytes     INTEGER NOT NULL CHECK (bytes >= 0)
);

-- +goose Down
DROP TABLE usage;
DROP TABLE comments;
DROP TABLE files;
DROP TABLE participants;
DROP TABLE boxes;
