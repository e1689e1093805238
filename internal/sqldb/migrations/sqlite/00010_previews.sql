-- +goose Up
-- Previews (package preview): one row per completed file that can have one. The
-- images, frames and DICOM header it refers to are sealed objects under p/<file>/
-- in the blob store, under the file's own data key, so destroying that key (delete,
-- expiry, withdrawal) destroys them too. Nothing personal is kept here: the DICOM
-- summary (patient name, study, ...) exists only sealed, in summary.json.
CREATE TABLE previews (
	file_id      TEXT PRIMARY KEY REFERENCES files (id) ON DELETE CASCADE,
	box_id       TEXT NOT NULL REFERENCES boxes (id) ON DELETE CASCADE,
	kind         TEXT NOT NULL CHECK (kind IN ('image', 'video', 'pdf', 'dicom', 'study')),
	status       TEXT NOT NULL CHECK (status IN ('pending', 'ready', 'failed')),
	reason       TEXT NOT NULL DEFAULT '', -- why it failed or what is missing, as a code
	thumb        BOOLEAN NOT NULL DEFAULT FALSE,
	full_image   BOOLEAN NOT NULL DEFAULT FALSE,
	width        INTEGER NOT NULL DEFAULT 0,
	height       INTEGER NOT NULL DEFAULT 0,
	thumb_width  INTEGER NOT NULL DEFAULT 0,
	thumb_height INTEGER NOT NULL DEFAULT 0,
	frames       INTEGER NOT NULL DEFAULT 0,
	-- DICOM: the instances in display order as JSON [[entry, frames], ...]; an
	-- entry is the instance's position in its file (0 for a single file, the ZIP
	-- entry for a study)
	layout       TEXT NOT NULL DEFAULT '',
	bytes        INTEGER NOT NULL DEFAULT 0, -- stored preview bytes, before sealing
	created_at   INTEGER NOT NULL,
	updated_at   INTEGER NOT NULL
);
CREATE INDEX previews_box ON previews (box_id);

-- +goose Down
DROP TABLE previews;
