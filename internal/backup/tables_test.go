package backup_test

import (
	"context"
	"slices"
	"testing"

	"github.com/medbox-jp/medbox/internal/backup"
	"github.com/medbox-jp/medbox/internal/sqldb"
	"github.com/medbox-jp/medbox/internal/sqldb/sqltest"
)

// TestTablesAreTheSchema: backup.Tables names every table the migrations make
// on each engine — one left out would silently be missing from every backup —
// and lists each after the tables it refers to, so that a restore can insert
// them in that order.
func TestTablesAreTheSchema(t *testing.T) {
	const (
		sqliteTables = `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'goose_db_version'`
		sqliteRefs   = `SELECT m.name, f."table" FROM sqlite_master m, pragma_foreign_key_list(m.name) f WHERE m.type = 'table'`
		pgTables     = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> 'goose_db_version'`
		pgRefs       = `SELECT c.conrelid::regclass::text, c.confrelid::regclass::text FROM pg_constraint c
			WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace`
	)
	sqltest.Each(t, func(t *testing.T, db *sqldb.DB) {
		tablesQ, refsQ := sqliteTables, sqliteRefs
		if db.Dialect() == sqldb.Postgres {
			tablesQ, refsQ = pgTables, pgRefs
		}
		var schema []string
		for _, r := range query(t, db, tablesQ) {
			schema = append(schema, r[0])
		}
		for _, table := range schema {
			if !slices.Contains(backup.Tables, table) {
				t.Errorf("table %s is not in backup.Tables", table)
			}
		}
		for _, table := range backup.Tables {
			if !slices.Contains(schema, table) {
				t.Errorf("backup.Tables names %s, which the schema does not have", table)
			}
		}
		for _, r := range query(t, db, refsQ) {
			child, parent := r[0], r[1]
			if child != parent && slices.Index(backup.Tables, parent) > slices.Index(backup.Tables, child) {
				t.Errorf("backup.Tables lists %s before %s, which it refers to", child, parent)
			}
		}
	})
}

func query(t *testing.T, db *sqldb.DB, q string) [][2]string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out [][2]string
	for rows.Next() {
		var r [2]string
		dst := []any{&r[0], &r[1]}
		if err := rows.Scan(dst[:len(cols)]...); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("%s: no rows", q)
	}
	return out
}
