package sqldb_test

import (
	"errors"
	"testing"
	"time"

	"github.com/medbox-jp/medbox/internal/sqldb"
	"github.com/medbox-jp/medbox/internal/sqldb/sqltest"
)

func TestTxCommitsAndRollsBack(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		if _, err := db.ExecContext(ctx, `CREATE TABLE kv (k TEXT PRIMARY KEY, v BIGINT NOT NULL)`); err != nil {
			t.Fatal(err)
		}
		err := db.Tx(ctx, func(tx *sqldb.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO kv (k, v) VALUES ($1, $2)`, "a", 1)
			return err
		})
		if err != nil {
			t.Fatalf("commit: %v", err)
		}
		boom := errors.New("boom")
		ran := false
		err = db.Tx(ctx, func(tx *sqldb.Tx) error {
			tx.AfterCommit(func() { ran = true })
			if _, err := tx.ExecContext(ctx, `INSERT INTO kv (k, v) VALUES ($1, $2)`, "b", 2); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("Tx() = %v, want %v", err, boom)
		}
		if ran {
			t.Error("AfterCommit ran after a rollback")
		}
		var n int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM kv`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("rows = %d, want 1 (rolled-back insert must be gone)", n)
		}
		// Placeholders bind by number, also out of order and repeated.
		var k string
		var v int64
		if err := db.QueryRowContext(ctx, `SELECT k, v FROM kv WHERE v = $2 AND k = $1 AND v <= $2`, "a", 1).Scan(&k, &v); err != nil {
			t.Fatalf("out-of-order placeholders: %v", err)
		}
		_, err = db.ExecContext(ctx, `INSERT INTO kv (k, v) VALUES ($1, $2)`, "a", 3)
		if !sqldb.IsUniqueViolation(err) || !sqldb.IsConstraint(err) {
			t.Errorf("duplicate key: IsUniqueViolation/IsConstraint false for %v", err)
		}
	})
}

func TestRebindLeavesLiteralsAlone(t *testing.T) {
	tests := []struct{ in, want string }{
		{`SELECT $1, $2`, `SELECT ?1, ?2`},
		{`SELECT '$1', "$2", $3`, `SELECT '$1', "$2", ?3`},
		{"SELECT 1 -- $1\n, $2", "SELECT 1 -- $1\n, ?2"},
		{`SELECT $12`, `SELECT ?12`},
	}
	for _, tt := range tests {
		if got := sqldb.RebindSQLiteForTest(tt.in); got != tt.want {
			t.Errorf("rebind(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMillisRoundTrip(t *testing.T) {
	now := time.Date(2026, 11, 24, 9, 30, 0, 123_000_000, time.FixedZone("JST", 9*3600)) // fixed date: a value to round-trip, not a clock
	if got := sqldb.FromMillis(sqldb.Millis(now)); !got.Equal(now) {
		t.Errorf("FromMillis(Millis(%v)) = %v", now, got)
	}
}

func TestSQLitePragmas(t *testing.T) {
	db := sqltest.OpenSQLite(t)
	for pragma, want := range map[string]int{"foreign_keys": 1, "secure_delete": 1} {
		var got int
		if err := db.QueryRowContext(t.Context(), "PRAGMA "+pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("PRAGMA %s = %d, want %d", pragma, got, want)
		}
	}
	var mode string
	if err := db.QueryRowContext(t.Context(), "PRAGMA journal_mode").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" {
		t.Errorf("journal_mode = %q, want wal", mode)
	}
}
