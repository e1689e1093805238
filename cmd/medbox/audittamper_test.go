package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/medbox-jp/medbox/internal/sqldb"
	"github.com/medbox-jp/medbox/internal/sqldb/sqltest"
)

var checkpointLine = regexp.MustCompile(`"msg":"audit checkpoint","n":(\d+),.*?"mac":"([0-9a-f]{64})"`)

// TestAuditVerifyFindsTampering (issue 14): on a running instance whose audit log
// an attacker with the database owner's rights changes — guards removed, links
// recomputed where they can be — `medbox audit verify` and the API name the
// earliest event that does not hold, and say the log is intact again once the
// change is undone. The last attack, a truncation, is caught by the anchor the
// periodic checkpoint left in the blob store.
func TestAuditVerifyFindsTampering(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			url := ""
			if engine == "postgres" {
				url = sqltest.NewPostgresURL(t)
			}
			in := startInstance(t, instanceOptions{database: url, env: map[string]string{"MEDBOX_LOG_LEVEL": "info"}})
			x := newExchange(t, in)
			for range 20 {
				must(t, x.rcpt.json("GET", "/api/v1/boxes/"+x.box, nil, nil), http.StatusOK, "open the box")
			}
			in.clock.Advance(time.Minute)
			in.deliver() // the periodic checkpoint
			ms := checkpointLine.FindAllStringSubmatch(in.out.String(), -1)
			if ms == nil {
				t.Fatal("no checkpoint in the instance log")
			}
			m := ms[len(ms)-1]
			logged := m[1] + ":" + m[2]

			ctx := context.Background()
			env := envOf(map[string]string{"MEDBOX_DATA": in.data, "MEDBOX_DATABASE": url})
			verify := func(args ...string) (string, error) {
				var out bytes.Buffer
				err := run(ctx, append([]string{"audit", "verify"}, args...), process{getenv: env, stdout: &out, now: in.clock.Now})
				t.Logf("$ medbox audit verify %s\n%s", strings.Join(args, " "), out.String())
				return out.String(), err
			}
			if out, err := verify("--anchor", logged); err != nil || !strings.Contains(out, "intact") || !strings.Contains(out, "anchor in the blob store: checkpoint "+m[1]) {
				t.Fatalf("audit verify on an untouched log: %v\n%s", err, out)
			}
			db := in.db()
			q := func(s string, args ...any) {
				t.Helper()
				if _, err := db.ExecContext(ctx, s, args...); err != nil {
					t.Fatalf("%s: %v", s, err)
				}
			}
			if db.Dialect() == sqldb.SQLite {
				q(`DROP TRIGGER audit_events_no_update`)
				q(`DROP TRIGGER audit_events_no_delete`)
				q(`DROP TRIGGER audit_checkpoints_no_delete`)
			} else {
				q(`ALTER TABLE audit_events DISABLE TRIGGER USER`)
				q(`ALTER TABLE audit_checkpoints DISABLE TRIGGER USER`)
			}
			q(`DROP INDEX audit_events_chain`)
			var last int64
			db.QueryRowContext(ctx, `SELECT max(seq) FROM audit_events`).Scan(&last)
			chainOf := func(seq int64) (part int, pos int64) {
				db.QueryRowContext(ctx, `SELECT part, part_seq FROM audit_events WHERE seq = $1`, seq).Scan(&part, &pos)
				return part, pos
			}
			nextIn := func(part int, pos int64) (seq int64) {
				db.QueryRowContext(ctx, `SELECT coalesce(min(seq), 0) FROM audit_events WHERE part = $1 AND part_seq > $2`, part, pos).Scan(&seq)
				return seq
			}
			stash := func(where string) {
				t.Helper()
				q(`CREATE TABLE stash AS SELECT * FROM audit_events WHERE ` + where)
			}
			unstash := func() {
				t.Helper()
				q(`INSERT INTO audit_events SELECT * FROM stash`)
				q(`DROP TABLE stash`)
			}

			attacks := []struct {
				name    string
				do      func() int64 // returns the seq verify must name
				undo    func()
				wantWhy string
			}{
				{"rewrite event 4", func() int64 {
					stash(`seq = 4`)
					q(`UPDATE audit_events SET actor = 'someone-else' WHERE seq = 4`)
					return 4
				}, func() {
					q(`DELETE FROM audit_events WHERE seq = 4`)
					unstash()
				}, "does not match its MAC"},
				{"delete event 7", func() int64 {
					stash(`seq = 7`)
					part, pos := chainOf(7)
					q(`DELETE FROM audit_events WHERE seq = 7`)
					if next := nextIn(part, pos); next != 0 {
						return next
					}
					return -1 // the last of its chain: the head shows it
				}, unstash, "removed"},
				{"insert a forged event", func() int64 {
					db.QueryRowContext(ctx, `SELECT max(seq) FROM audit_events`).Scan(&last)
					part, pos := chainOf(last) // the end of a chain
					q(`INSERT INTO audit_events (seq, at, actor, action, target, box_id, addr, result, detail, part, part_seq, mac)
						VALUES (90000, 0, 'm', 'member.approve', 'intruder', '', '', 'ok', '{}', $1, $2, $3)`, part, pos+1, make([]byte, 32))
					return 90000
				}, func() { q(`DELETE FROM audit_events WHERE seq = 90000`) }, "MAC"},
			}
			for _, a := range attacks {
				want := a.do()
				out, err := verify()
				if err == nil || (want > 0 && !strings.Contains(err.Error(), fmt.Sprintf("event %d:", want))) || !strings.Contains(out, a.wantWhy) {
					t.Errorf("%s: audit verify = %v; want the earliest break at event %d (%s)", a.name, err, want, a.wantWhy)
				}
				var v map[string]any
				must(t, x.admin.json("GET", "/api/v1/admin/audit/verify", nil, &v), http.StatusOK, "verify")
				if v["ok"] != false || (want > 0 && v["broken_at"] != float64(want)) || !strings.Contains(fmt.Sprint(v["reason"]), a.wantWhy) {
					t.Errorf("%s: API verify = %v; want broken_at %d", a.name, v, want)
				}
				a.undo()
				if out, err := verify(); err != nil {
					t.Fatalf("%s undone: audit verify = %v\n%s", a.name, err, out)
				}
			}

			// Truncation: the last 5 events go and the heads move back, as the
			// attacker wants; the anchored checkpoint still knows them.
			db.QueryRowContext(ctx, `SELECT max(seq) FROM audit_events`).Scan(&last)
			in.clock.Advance(time.Minute)
			in.deliver() // anchors what the verifications added
			q(`DELETE FROM audit_events WHERE seq > $1`, last-5)
			q(`UPDATE audit_chains SET seq = coalesce((SELECT max(part_seq) FROM audit_events e WHERE e.part = audit_chains.part), 0),
				mac = coalesce((SELECT mac FROM audit_events e WHERE e.part = audit_chains.part ORDER BY part_seq DESC LIMIT 1), mac),
				last_seq = coalesce((SELECT max(seq) FROM audit_events e WHERE e.part = audit_chains.part), 0)`)
			n, _ := strconv.Atoi(m[1])
			q(`DELETE FROM audit_checkpoints WHERE n > $1`, n)
			out, err := verify("--anchor", logged)
			if err == nil || !strings.Contains(out, "removed") || !strings.Contains(out, "missing from the database: the log was cut back") {
				t.Errorf("audit verify after a truncation: %v\n%s", err, out)
			}
		})
	}
}
