package sqldb_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/medbox-jp/medbox/internal/sqldb"
	"github.com/medbox-jp/medbox/internal/sqldb/sqltest"
)

// TestMigrationsDefineTheSameSchema applies both dialects' migrations and
// compares what they made: the same tables, the same columns with the same kind
// of type, nullability and primary key, the same indexes (by columns and
// uniqueness), the same foreign keys with the same ON DELETE, and triggers on the
// same tables. A migration added to one folder only, or a column that is NOT NULL
// in one engine only, fails here rather than in production.
func TestMigrationsDefineTheSameSchema(t *testing.T) {
	ctx := t.Context()
	lite := describeSQLite(ctx, t, sqltest.OpenSQLite(t))
	pg := describePostgres(ctx, t, sqltest.OpenPostgres(t))
	if diff := cmp.Diff(lite, pg); diff != "" {
		t.Errorf("SQLite and PostgreSQL schemas differ (-sqlite +postgres):\n%s", diff)
	}
	if len(lite) < 10 {
		t.Errorf("only %d tables described; the comparison looked at nothing", len(lite))
	}
}

// table is what the comparison sees of a table.
type table struct {
	Columns     []string // "name type [not null] [pk]"
	Indexes     []string // "unique? (col, col)"
	ForeignKeys []string // "(col) → table(col) on delete X"
	Triggers    bool
}

// family folds each engine's type names into the kinds both share.
func family(t string) string {
	switch t = strings.ToLower(t); {
	case strings.Contains(t, "int"):
		return "integer"
	case t == "text" || strings.HasPrefix(t, "character") || strings.HasPrefix(t, "varchar"):
		return "text"
	case t == "blob" || t == "bytea":
		return "bytes"
	case strings.HasPrefix(t, "bool"):
		return "bool"
	case t == "real" || strings.HasPrefix(t, "double") || t == "float":
		return "float"
	}
	return "other:" + t
}

func column(name, typ string, notNull, pk bool) string {
	s := name + " " + family(typ)
	if notNull || pk { // a primary key is NOT NULL in PostgreSQL, and in our SQLite tables by use
		s += " not null"
	}
	if pk {
		s += " pk"
	}
	return s
}

func onDelete(action string) string {
	switch strings.ToUpper(action) {
	case "CASCADE", "C":
		return "cascade"
	case "SET NULL", "N":
		return "set null"
	case "RESTRICT", "R":
		return "restrict"
	case "SET DEFAULT", "D":
		return "set default"
	}
	return "no action"
}

func strs(t *testing.T, db *sqldb.DB, q string, args ...any) [][]string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out [][]string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			if b, ok := v.([]byte); ok {
				v = string(b)
			}
			row[i] = fmt.Sprint(v)
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func describeSQLite(ctx context.Context, t *testing.T, db *sqldb.DB) map[string]*table {
	out := map[string]*table{}
	for _, r := range strs(t, db, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'goose_db_version'`) {
		name := r[0]
		tb := &table{}
		for _, c := range strs(t, db, `SELECT name, type, "notnull", pk FROM pragma_table_info($1)`, name) {
			tb.Columns = append(tb.Columns, column(c[0], c[1], c[2] == "1", c[3] != "0"))
		}
		for _, ix := range strs(t, db, `SELECT name, "unique", origin FROM pragma_index_list($1)`, name) {
			if ix[2] == "pk" {
				continue
			}
			var cols []string
			for _, c := range strs(t, db, `SELECT name FROM pragma_index_info($1) ORDER BY seqno`, ix[0]) {
				cols = append(cols, c[0])
			}
			tb.Indexes = append(tb.Indexes, index(ix[1] == "1", cols))
		}
		fks := map[string][]string{} // id → from, to
		var order []string
		for _, fk := range strs(t, db, `SELECT id, "table", "from", "to", on_delete FROM pragma_foreign_key_list($1) ORDER BY id, seq`, name) {
			if _, ok := fks[fk[0]]; !ok {
				order = append(order, fk[0])
				fks[fk[0]] = []string{"", fk[1], "", onDelete(fk[4])}
			}
			f := fks[fk[0]]
			f[0] = strings.TrimPrefix(f[0]+", "+fk[2], ", ")
			f[2] = strings.TrimPrefix(f[2]+", "+fk[3], ", ")
		}
		for _, id := range order {
			f := fks[id]
			tb.ForeignKeys = append(tb.ForeignKeys, fmt.Sprintf("(%s) → %s(%s) on delete %s", f[0], f[1], f[2], f[3]))
		}
		tb.Triggers = len(strs(t, db, `SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = $1`, name)) > 0
		out[name] = sorted(tb)
	}
	return out
}

func describePostgres(ctx context.Context, t *testing.T, db *sqldb.DB) map[string]*table {
	out := map[string]*table{}
	for _, r := range strs(t, db, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> 'goose_db_version'`) {
		name := r[0]
		tb := &table{}
		pk := map[string]bool{}
		for _, c := range strs(t, db, `SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
			WHERE i.indrelid = $1::regclass AND i.indisprimary`, name) {
			pk[c[0]] = true
		}
		for _, c := range strs(t, db, `SELECT column_name, data_type, is_nullable FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`, name) {
			tb.Columns = append(tb.Columns, column(c[0], c[1], c[2] == "NO", pk[c[0]]))
		}
		for _, ix := range strs(t, db, `SELECT i.indisunique, string_agg(a.attname, ',' ORDER BY k.ord)
			FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
			JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
			WHERE i.indrelid = $1::regclass AND NOT i.indisprimary GROUP BY i.indexrelid, i.indisunique`, name) {
			tb.Indexes = append(tb.Indexes, index(ix[0] == "true", strings.Split(ix[1], ",")))
		}
		for _, fk := range strs(t, db, `SELECT
			(SELECT string_agg(a.attname, ', ' ORDER BY k.ord) FROM unnest(c.conkey) WITH ORDINALITY k(n, ord)
				JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n),
			c.confrelid::regclass::text,
			(SELECT string_agg(a.attname, ', ' ORDER BY k.ord) FROM unnest(c.confkey) WITH ORDINALITY k(n, ord)
				JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n),
			c.confdeltype
			FROM pg_constraint c WHERE c.conrelid = $1::regclass AND c.contype = 'f'`, name) {
			tb.ForeignKeys = append(tb.ForeignKeys, fmt.Sprintf("(%s) → %s(%s) on delete %s", fk[0], fk[1], fk[2], onDelete(fk[3])))
		}
		tb.Triggers = len(strs(t, db, `SELECT tgname FROM pg_trigger WHERE tgrelid = $1::regclass AND NOT tgisinternal`, name)) > 0
		out[name] = sorted(tb)
	}
	return out
}

func index(unique bool, cols []string) string {
	s := "(" + strings.Join(cols, ", ") + ")"
	if unique {
		s = "unique " + s
	}
	return s
}

func sorted(tb *table) *table {
	sort.Strings(tb.Columns)
	sort.Strings(tb.Indexes)
	sort.Strings(tb.ForeignKeys)
	return tb
}
