package audit_test

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/medbox-jp/medbox/internal/audit"
	"github.com/medbox-jp/medbox/internal/sqldb"
	"github.com/medbox-jp/medbox/internal/sqldb/sqltest"
)

// recordV1 appends an event as the release before keying did: one SHA-256
// chain whose tip is audit_head.
func recordV1(t *testing.T, raw *sql.DB, d sqldb.Dialect, e audit.Event) {
	t.Helper()
	q := func(s string) string {
		if d == sqldb.SQLite {
			return strings.ReplaceAll(s, "$", "?")
		}
		return s
	}
	tx, err := raw.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	var prev []byte
	if err := tx.QueryRow(q(`UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash`)).Scan(&e.Seq, &prev); err != nil {
		t.Fatal(err)
	}
	sum := audit.LegacyHash(prev, e, "{}")
	if _, err := tx.Exec(q(`INSERT INTO audit_events (seq, at, actor, action, target, box_id, addr, result, detail, prev_hash, hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`),
		e.Seq, sqldb.Millis(e.At), e.Actor, e.Action, e.Target, e.Box, e.Addr, e.Result, "{}", prev, sum); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(q(`UPDATE audit_head SET hash = $1 WHERE id = 1`), sum); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// legacyLog is a database written by the release before keying (5 events, and a
// monitor that read 3 of them), migrated, with 5 keyed events after them.
func legacyLog(t *testing.T, d sqldb.Dialect) *fixture {
	t.Helper()
	raw, url, dir := sqltest.OpenAtVersion(t, d, 21)
	for i := range 5 {
		recordV1(t, raw, d, audit.Event{At: t0, Actor: "m", Action: "member.signin", Target: fmt.Sprint("v1-", i+1), Result: audit.OK})
	}
	if _, err := raw.ExecContext(t.Context(), `UPDATE monitor_cursor SET seq = 3`); err != nil {
		t.Fatal(err)
	}
	db, err := sqldb.Open(t.Context(), url, dir)
	if err != nil {
		t.Fatalf("migrate: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	f := newFixture(t, db)
	if r, err := f.verify(t); err != nil || r.Events != 5 || r.Checkpoint != 0 {
		t.Fatalf("Check() after the migration = %+v, %v; want 5 events, no checkpoint yet", r, err)
	}
	for i := range 5 {
		f.record(t, audit.Event{At: t0, Actor: "m", Action: "member.signin", Target: fmt.Sprint("v2-", i+1)})
	}
	f.checkpoint(t) // seals the 5 events from before keying
	return f
}

// TestMigrationKeepsTheOldChainAndSealsIt: events written before the log was
// keyed keep verifying as chain -1; the first checkpoint seals them, after which
// even a rewrite with every hash recomputed shows.
func TestMigrationKeepsTheOldChainAndSealsIt(t *testing.T) {
	for _, d := range []sqldb.Dialect{sqldb.SQLite, sqldb.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			f := legacyLog(t, d)
			r, err := f.verify(t)
			if err != nil || r.Events != 10 || r.Checkpoint != 1 {
				t.Fatalf("Check() = %+v, %v; want 10 events, checkpoint 1", r, err)
			}
			got, err := f.log.List(t.Context(), audit.Filter{})
			if err != nil || len(got) != 10 || got[4].Target != "v1-5" || got[5].Seq != 6 || got[5].Target != "v2-1" {
				t.Errorf("List() after the migration = %+v, %v; want the old events 1–5, then the new from 6", got, err)
			}
			// The monitor's cursor carried over: it reads old events 4 and 5, then the new.
			var pos string
			f.db.QueryRowContext(t.Context(), `SELECT chains FROM monitor_cursor`).Scan(&pos)
			c, err := audit.ParseCursor(pos)
			if err != nil {
				t.Fatal(err)
			}
			if events, _, _ := f.log.Since(t.Context(), c, 100); len(events) != 7 || events[0].Target != "v1-4" {
				t.Errorf("Since(%q) = %d events, first %+v; want 7, from v1-4", pos, len(events), events[0])
			}
		})
	}
}

func TestOldChainTamperingIsFound(t *testing.T) {
	rewrite := func(t *testing.T, db *sqldb.DB) {
		if _, err := db.ExecContext(t.Context(), `UPDATE audit_events SET actor = 'someone-else' WHERE seq = 2`); err != nil {
			t.Fatal(err)
		}
	}
	// recompute relinks chain -1 with SHA-256 and moves audit_head: the attack
	// that passed verify before the log was keyed.
	recompute := func(t *testing.T, db *sqldb.DB) {
		prev := make([]byte, 32)
		for _, r := range rows(t, db, `part = -1`) {
			sum := audit.LegacyHash(prev, r.e, r.detail)
			exec(t, db, `UPDATE audit_events SET prev_hash = $1, hash = $2 WHERE seq = $3`, prev, sum, r.e.Seq)
			prev = sum
		}
		exec(t, db, `UPDATE audit_head SET hash = $1`, prev)
	}
	tests := []struct {
		name    string
		tamper  func(t *testing.T, db *sqldb.DB)
		wantSeq int64
		wantWhy string
	}{
		{"rewrite", rewrite, 2, "does not match its hash"},
		{"rewrite and recompute", func(t *testing.T, db *sqldb.DB) { rewrite(t, db); recompute(t, db) }, 5, "not the one checkpoint 1"},
		{"cut and move the tip", func(t *testing.T, db *sqldb.DB) {
			exec(t, db, `DELETE FROM audit_events WHERE seq >= 4 AND part = -1`)
			exec(t, db, `UPDATE audit_head SET seq = 3, hash = (SELECT hash FROM audit_events WHERE seq = 3)`)
		}, 4, "removed"},
		{"append to the old chain after it was sealed", func(t *testing.T, db *sqldb.DB) {
			var tip []byte
			db.QueryRowContext(t.Context(), `SELECT hash FROM audit_head`).Scan(&tip)
			e := audit.Event{Seq: 6000, At: t0, Actor: "m", Action: "member.approve", Target: "intruder", Result: audit.OK}
			sum := audit.LegacyHash(tip, e, "{}")
			exec(t, db, `INSERT INTO audit_events (seq, at, actor, action, target, box_id, addr, result, detail, part, part_seq, prev_hash, hash)
				VALUES (6000, $1, 'm', 'member.approve', 'intruder', '', '', 'ok', '{}', -1, 6, $2, $3)`, sqldb.Millis(t0), tip, sum)
			exec(t, db, `UPDATE audit_head SET seq = 6, hash = $1`, sum)
		}, 6, "sealed 5"},
	}
	for _, d := range []sqldb.Dialect{sqldb.SQLite, sqldb.Postgres} {
		for _, tt := range tests {
			t.Run(string(d)+"/"+tt.name, func(t *testing.T) {
				f := legacyLog(t, d)
				dropGuards(t, f.db)
				tt.tamper(t, f.db)
				r, err := f.verify(t)
				for _, p := range r.Problems {
					t.Logf("%v", p)
				}
				var be *audit.BrokenError
				if !errors.As(err, &be) || be.Seq != tt.wantSeq || !strings.Contains(be.Reason, tt.wantWhy) {
					t.Errorf("Check() = %v; want the earliest break at %d, saying %q", err, tt.wantSeq, tt.wantWhy)
				}
			})
		}
	}
}
