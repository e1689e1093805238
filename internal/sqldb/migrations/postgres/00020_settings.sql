-- +goose Up
-- Settings (package sqldb): what an instance records for the commands run beside
-- it, such as the base URL it serves, so that a mail sent by `medbox admin
-- approve` links to the address members really reach.
CREATE TABLE settings (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);

-- +goose Down
DROP TABLE settings;
