package audit_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/medbox-jp/medbox/internal/audit"
	"github.com/medbox-jp/medbox/internal/clocktest"
	"github.com/medbox-jp/medbox/internal/sqldb"
	"github.com/medbox-jp/medbox/internal/sqldb/sqltest"
)

var t0 = clocktest.Start()

// newLog returns the audit log kept in db, on the test clock.
func newLog(t *testing.T, db *sqldb.DB) *audit.Log {
	t.Helper()
	l, err := audit.New(db, clocktest.At(t0).Now)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func record(t *testing.T, db *sqldb.DB, e audit.Event) {
	t.Helper()
	if err := db.Tx(t.Context(), func(tx *sqldb.Tx) error { return newLog(t, db).Record(t.Context(), tx, e) }); err != nil {
		t.Fatalf("Record: %v", err)
	}
}

func TestChainVerifiesAndListFilters(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqldb.DB) {
		for i := range 5 {
			record(t, db, audit.Event{At: t0.Add(time.Duration(i) * time.Minute), Actor: "m1", Action: "member.signin", Target: "m1", Addr: "192.0.2.1", Detail: map[string]string{"n": fmt.Sprint(i)}})
		}
		record(t, db, audit.Event{At: t0.Add(time.Hour), Actor: "adm", Action: "member.approve", Target: "m2", Addr: "192.0.2.9"})
		n, err := newLog(t, db).Verify(t.Context())
		if err != nil || n != 6 {
			t.Fatalf("Verify() = %d, %v; want 6, nil", n, err)
		}
		got, err := newLog(t, db).List(t.Context(), audit.Filter{About: "m2"})
		if err != nil || len(got) != 1 || got[0].Action != "member.approve" || got[0].Result != audit.OK {
			t.Fatalf("List(About m2) = %+v, %v", got, err)
		}
		got, _ = newLog(t, db).List(t.Context(), audit.Filter{Actor: "m1", Since: t0.Add(2 * time.Minute)})
		if len(got) != 3 || got[0].Detail["n"] != "2" {
			t.Errorf("List(Actor m1 since +2m) = %+v", got)
		}
	})
}

func TestConcurrentWritersKeepOneChain(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqldb.DB) {
		var wg sync.WaitGroup
		for i := range 40 {
			wg.Go(func() {
				err := db.Tx(t.Context(), func(tx *sqldb.Tx) error {
					return newLog(t, db).Record(t.Context(), tx, audit.Event{At: t0, Action: "x", Target: fmt.Sprint(i)})
				})
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if n, err := newLog(t, db).Verify(t.Context()); err != nil || n != 40 {
			t.Fatalf("Verify() = %d, %v; want 40, nil", n, err)
		}
	})
}

func TestRolledBackEventLeavesNoTrace(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqldb.DB) {
		record(t, db, audit.Event{At: t0, Action: "a"})
		boom := errors.New("boom")
		err := db.Tx(t.Context(), func(tx *sqldb.Tx) error {
			if err := newLog(t, db).Record(t.Context(), tx, audit.Event{At: t0, Action: "b"}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
		record(t, db, audit.Event{At: t0, Action: "c"})
		if n, err := newLog(t, db).Verify(t.Context()); err != nil || n != 2 {
			t.Fatalf("Verify() = %d, %v; want 2, nil", n, err)
		}
	})
}

func TestTamperingIsFound(t *testing.T) {
	dropTriggers := map[sqldb.Dialect][]string{
		sqldb.SQLite:   {`DROP TRIGGER audit_events_no_update`, `DROP TRIGGER audit_events_no_delete`},
		sqldb.Postgres: {`ALTER TABLE audit_events DISABLE TRIGGER USER`},
	}
	tests := []struct {
		name    string
		tamper  string
		wantSeq int64
	}{
		{"edit a field", `UPDATE audit_events SET actor = 'someone-else' WHERE seq = 3`, 3},
		{"delete a row", `DELETE FROM audit_events WHERE seq = 2`, 2},
		{"cut the end", `DELETE FROM audit_events WHERE seq = 5`, 5},
	}
	sqltest.Each(t, func(t *testing.T, db *sqldb.DB) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var fresh *sqldb.DB
				if db.Dialect() == sqldb.SQLite {
					fresh = sqltest.OpenSQLite(t)
				} else {
					fresh = sqltest.OpenPostgres(t)
				}
				for i := range 5 {
					record(t, fresh, audit.Event{At: t0, Actor: "m", Action: "a", Target: fmt.Sprint(i)})
				}
				// The triggers refuse the change first; an attacker with the database
				// owner's rights removes them, and Verify must still notice.
				if _, err := fresh.ExecContext(t.Context(), tt.tamper); err == nil {
					t.Fatalf("%s: allowed while append-only triggers are in place", tt.tamper)
				}
				for _, q := range dropTriggers[fresh.Dialect()] {
					if _, err := fresh.ExecContext(t.Context(), q); err != nil {
						t.Fatal(err)
					}
				}
				if _, err := fresh.ExecContext(t.Context(), tt.tamper); err != nil {
					t.Fatal(err)
				}
				_, err := newLog(t, fresh).Verify(t.Context())
				var be *audit.BrokenError
				if !errors.As(err, &be) || be.Seq != tt.wantSeq {
					t.Errorf("Verify() = %v, want broken link at %d", err, tt.wantSeq)
				}
			})
		}
	})
}

func TestSecretsRefused(t *testing.T) {
	db := sqltest.OpenSQLite(t)
	err := db.Tx(t.Context(), func(tx *sqldb.Tx) error {
		return newLog(t, db).Record(t.Context(), tx, audit.Event{At: t0, Action: "member.reset", Detail: map[string]string{"new_password": "x"}})
	})
	if err == nil {
		t.Fatal("Record accepted a detail key that looks like a password")
	}
}
