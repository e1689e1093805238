package audit_test

import (
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/medbox-jp/medbox/internal/audit"
	"github.com/medbox-jp/medbox/internal/sqldb"
	"github.com/medbox-jp/medbox/internal/sqldb/sqltest"
)

// dropGuards removes what keeps the log append-only, as an attacker with the
// database owner's rights can: the triggers, and the unique index on chain
// positions.
func dropGuards(t *testing.T, db *sqldb.DB) {
	t.Helper()
	stmts := map[sqldb.Dialect][]string{
		sqldb.SQLite: {`DROP TRIGGER audit_events_no_update`, `DROP TRIGGER audit_events_no_delete`,
			`DROP TRIGGER audit_checkpoints_no_update`, `DROP TRIGGER audit_checkpoints_no_delete`},
		sqldb.Postgres: {`ALTER TABLE audit_events DISABLE TRIGGER USER`, `ALTER TABLE audit_checkpoints DISABLE TRIGGER USER`},
	}[db.Dialect()]
	for _, q := range append(stmts, `DROP INDEX audit_events_chain`) {
		if _, err := db.ExecContext(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// row is an event as stored.
type row struct {
	e      audit.Event
	detail string
	part   int
	pos    int64
	mac    []byte
}

func rows(t *testing.T, db *sqldb.DB, where string, args ...any) []row {
	t.Helper()
	rs, err := db.QueryContext(t.Context(), `SELECT seq, at, actor, action, target, box_id, addr, result, detail, part, part_seq, mac
		FROM audit_events WHERE `+where+` ORDER BY part, part_seq`, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	var out []row
	for rs.Next() {
		var r row
		var at int64
		if err := rs.Scan(&r.e.Seq, &at, &r.e.Actor, &r.e.Action, &r.e.Target, &r.e.Box, &r.e.Addr, &r.e.Result, &r.detail, &r.part, &r.pos, &r.mac); err != nil {
			t.Fatal(err)
		}
		r.e.At = sqldb.FromMillis(at)
		out = append(out, r)
	}
	return out
}

func event(t *testing.T, db *sqldb.DB, seq int64) row {
	t.Helper()
	rs := rows(t, db, `seq = $1`, seq)
	if len(rs) != 1 {
		t.Fatalf("event %d: %d rows", seq, len(rs))
	}
	return rs[0]
}

func exec(t *testing.T, db *sqldb.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.ExecContext(t.Context(), q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// moveHead sets a chain's head to its last remaining event, as an attacker who
// removed events would, so the head row does not give them away.
func moveHead(t *testing.T, db *sqldb.DB, part int) {
	t.Helper()
	rs := rows(t, db, `part = $1`, part)
	if len(rs) == 0 {
		exec(t, db, `UPDATE audit_chains SET seq = 0, mac = $1, last_seq = 0 WHERE part = $2`, make([]byte, 32), part)
		return
	}
	last := rs[len(rs)-1]
	exec(t, db, `UPDATE audit_chains SET seq = $1, mac = $2, last_seq = $3 WHERE part = $4`, last.pos, last.mac, last.e.Seq, part)
}

// relink recomputes the MACs of a chain from position from on, under a key of
// the attacker's own, and moves its head: the best an attacker without the
// audit key can do.
func relink(t *testing.T, db *sqldb.DB, part int, from int64) {
	t.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	rs := rows(t, db, `part = $1`, part)
	prev := make([]byte, 32)
	for _, r := range rs {
		if r.pos >= from {
			r.mac = audit.ForgeMAC(key, prev, part, r.pos, r.e, r.detail)
			exec(t, db, `UPDATE audit_events SET mac = $1 WHERE seq = $2`, r.mac, r.e.Seq)
		}
		prev = r.mac
	}
	moveHead(t, db, part)
}

// tamperCase is one attack on a log of 100 events, checkpointed and anchored
// after the last.
type tamperCase struct {
	name string
	// tamper changes the log and returns where Verify must find the earliest
	// break (seq; 0: only a checkpoint is concerned) and words its reason holds.
	tamper func(t *testing.T, db *sqldb.DB) (int64, string)
}

var tamperCases = []tamperCase{
	{"rewrite an event", func(t *testing.T, db *sqldb.DB) (int64, string) {
		exec(t, db, `UPDATE audit_events SET actor = 'someone-else' WHERE seq = 4`)
		return 4, "does not match its MAC"
	}},
	{"rewrite an event and recompute every later link and the head", func(t *testing.T, db *sqldb.DB) (int64, string) {
		exec(t, db, `UPDATE audit_events SET actor = 'someone-else' WHERE seq = 4`)
		relink(t, db, event(t, db, 4).part, event(t, db, 4).pos)
		return 4, "does not match its MAC"
	}},
	{"delete an event in the middle", func(t *testing.T, db *sqldb.DB) (int64, string) {
		gone := event(t, db, 12)
		exec(t, db, `DELETE FROM audit_events WHERE seq = 12`)
		next := rows(t, db, `part = $1 AND part_seq > $2`, gone.part, gone.pos)
		if len(next) == 0 { // the last of its chain: a truncation, which the checkpoint names
			moveHead(t, db, gone.part)
			return 12, "removed"
		}
		return next[0].e.Seq, fmt.Sprintf("1 event of chain %d removed", gone.part)
	}},
	{"delete an event in the middle and relink its chain", func(t *testing.T, db *sqldb.DB) (int64, string) {
		gone := event(t, db, 12)
		exec(t, db, `DELETE FROM audit_events WHERE seq = 12`)
		rest := rows(t, db, `part = $1 AND part_seq > $2`, gone.part, gone.pos)
		for _, r := range rest {
			exec(t, db, `UPDATE audit_events SET part_seq = part_seq - 1 WHERE seq = $1`, r.e.Seq)
		}
		relink(t, db, gone.part, gone.pos)
		if len(rest) == 0 {
			return 12, "removed"
		}
		return rest[0].e.Seq, "does not match its MAC"
	}},
	{"append a forged event", func(t *testing.T, db *sqldb.DB) (int64, string) {
		last := event(t, db, 100)
		exec(t, db, `INSERT INTO audit_events (seq, at, actor, action, target, box_id, addr, result, detail, part, part_seq, mac)
			VALUES (1000, $1, 'm', 'member.approve', 'intruder', '', '', 'ok', '{}', $2, $3, $4)`,
			sqldb.Millis(last.e.At), last.part, last.pos+1, make([]byte, 32))
		return 1000, "does not match its MAC"
	}},
	{"insert a copy of an event", func(t *testing.T, db *sqldb.DB) (int64, string) {
		r := event(t, db, 7)
		exec(t, db, `INSERT INTO audit_events (seq, at, actor, action, target, box_id, addr, result, detail, part, part_seq, mac)
			VALUES (7000, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			sqldb.Millis(r.e.At), r.e.Actor, r.e.Action, r.e.Target, r.e.Box, r.e.Addr, r.e.Result, r.detail, r.part, r.pos, r.mac)
		return 7000, "appears twice"
	}},
	{"insert an event in the middle and relink after it", func(t *testing.T, db *sqldb.DB) (int64, string) {
		at := event(t, db, 9)
		exec(t, db, `UPDATE audit_events SET part_seq = part_seq + 1000 WHERE part = $1 AND part_seq >= $2`, at.part, at.pos)
		exec(t, db, `UPDATE audit_events SET part_seq = part_seq - 999 WHERE part = $1 AND part_seq >= $2`, at.part, at.pos+1000)
		exec(t, db, `INSERT INTO audit_events (seq, at, actor, action, target, box_id, addr, result, detail, part, part_seq, mac)
			VALUES (8000, $1, 'm', 'file.delete', 'evidence', '', '', 'ok', '{}', $2, $3, $4)`, sqldb.Millis(at.e.At), at.part, at.pos, []byte{})
		relink(t, db, at.part, at.pos)
		return 9, "not after 8000: moved" // event 9 now follows the forged 8000 in its chain
	}},
	{"delete the last 5 events and move the heads back", func(t *testing.T, db *sqldb.DB) (int64, string) {
		return cutFrom(t, db, 96)
	}},
	{"cut back, and delete the checkpoint too", func(t *testing.T, db *sqldb.DB) (int64, string) {
		seq, why := cutFrom(t, db, 96)
		exec(t, db, `DELETE FROM audit_checkpoints`)
		return seq, why
	}},
	{"replace the whole log", func(t *testing.T, db *sqldb.DB) (int64, string) {
		exec(t, db, `DELETE FROM audit_events`)
		exec(t, db, `DELETE FROM audit_checkpoints`)
		exec(t, db, `DELETE FROM audit_key`)
		exec(t, db, `UPDATE audit_chains SET seq = 0, mac = $1, last_seq = 0`, make([]byte, 32))
		return 0, "no audit key"
	}},
	{"delete the audit key", func(t *testing.T, db *sqldb.DB) (int64, string) {
		exec(t, db, `DELETE FROM seal_keys WHERE id = (SELECT key_id FROM audit_key)`)
		return 1, "cannot be opened"
	}},
	{"change a checkpoint", func(t *testing.T, db *sqldb.DB) (int64, string) {
		exec(t, db, `UPDATE audit_checkpoints SET body = replace(body, '"events":100', '"events":99')`)
		return 0, "checkpoint 1 does not match its MAC"
	}},
}

// lastBefore returns the seq of the event before position pos of a chain, 0 if none.
func lastBefore(t *testing.T, db *sqldb.DB, part int, pos int64) int64 {
	t.Helper()
	rs := rows(t, db, `part = $1 AND part_seq < $2`, part, pos)
	if len(rs) == 0 {
		return 0
	}
	return rs[len(rs)-1].e.Seq
}

// cutFrom deletes every event from seq on and moves the heads back. It returns
// where Verify must say the log was cut: in a chain that lost one event, that
// event (the checkpoint names it); in one that lost more, just after the last
// event that survives.
func cutFrom(t *testing.T, db *sqldb.DB, from int64) (int64, string) {
	t.Helper()
	cut := rows(t, db, `seq >= $1`, from)
	exec(t, db, `DELETE FROM audit_events WHERE seq >= $1`, from)
	lost := map[int][]row{}
	for _, r := range cut {
		lost[r.part] = append(lost[r.part], r)
	}
	want := int64(-1)
	for part, rs := range lost {
		moveHead(t, db, part)
		s := rs[0].e.Seq
		if len(rs) > 1 {
			s = lastBefore(t, db, part, rs[0].pos) + 1
		}
		if want < 0 || s < want {
			want = s
		}
	}
	return want, "removed"
}

// TestTamperingIsFound: with the append-only guards removed, as a database owner
// can, every change to the log is found and located.
func TestTamperingIsFound(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqldb.DB) {
		for _, tt := range tamperCases {
			t.Run(tt.name, func(t *testing.T) {
				var fresh *sqldb.DB
				if db.Dialect() == sqldb.SQLite {
					fresh = sqltest.OpenSQLite(t)
				} else {
					fresh = sqltest.OpenPostgres(t)
				}
				f := newFixture(t, fresh)
				for i := range 100 {
					f.record(t, audit.Event{At: t0, Actor: "m", Action: "a", Target: fmt.Sprint(i + 1)})
				}
				f.checkpoint(t)
				if _, err := f.verify(t); err != nil {
					t.Fatalf("before tampering: %v", err)
				}
				// The guards refuse the change first.
				if _, err := fresh.ExecContext(t.Context(), `UPDATE audit_events SET actor = 'x' WHERE seq = 1`); err == nil {
					t.Fatal("an event changed while the append-only triggers are in place")
				}
				dropGuards(t, fresh)
				wantSeq, wantWhy := tt.tamper(t, fresh)
				r, err := f.verify(t)
				var be *audit.BrokenError
				if !errors.As(err, &be) {
					t.Fatalf("Check() = %v after tampering; want a broken link", err)
				}
				for _, p := range r.Problems {
					t.Logf("%v", p)
				}
				if be.Seq != wantSeq || !strings.Contains(be.Reason, wantWhy) {
					t.Errorf("Check() = %v; want the earliest break at %d, saying %q", be, wantSeq, wantWhy)
				}
			})
		}
	})
}
