package audit_test

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/medbox-jp/medbox/internal/audit"
	"github.com/medbox-jp/medbox/internal/sqldb"
	"github.com/medbox-jp/medbox/internal/sqldb/sqltest"
)

func anchors(t *testing.T, f *fixture) []string {
	var keys []string
	f.blobs.List(t.Context(), audit.AnchorPrefix, func(k string, _ int64) error { keys = append(keys, k); return nil })
	return keys
}

var logged = regexp.MustCompile(`msg="audit checkpoint" n=(\d+) at=\S+ events=(\d+) mac=([0-9a-f]{64})`)

func TestCheckpointsAreAnchored(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		f.checkpoint(t)
		if n := len(anchors(t, f)); n != 0 || f.out.Len() != 0 {
			t.Fatalf("a checkpoint of an empty log: %d anchors, log %q", n, f.out.String())
		}
		for i := range 5 {
			f.record(t, audit.Event{At: t0, Action: "x", Target: fmt.Sprint(i)})
		}
		f.checkpoint(t)
		keys := anchors(t, f)
		if len(keys) != 1 || keys[0] != audit.AnchorPrefix+"0000000000000001" {
			t.Fatalf("anchors = %v; want checkpoint 1's", keys)
		}
		if raw := f.blobs.Bytes(keys[0]); bytes.Contains(raw, []byte(`"chains"`)) || bytes.Contains(raw, []byte(`"mac"`)) {
			t.Error("the anchor is stored in plaintext")
		}
		m := logged.FindStringSubmatch(f.out.String())
		if m == nil || m[1] != "1" || m[2] != "5" {
			t.Fatalf("instance log %q; want checkpoint 1 of 5 events with its MAC", f.out.String())
		}
		// Nothing new: no new checkpoint; a lost anchor is put back.
		f.blobs.Delete(t.Context(), keys[0])
		f.checkpoint(t)
		if got := anchors(t, f); len(got) != 1 || strings.Count(f.out.String(), "audit checkpoint") != 1 {
			t.Errorf("after a checkpoint with nothing new: anchors %v, log %q", got, f.out.String())
		}
		f.record(t, audit.Event{At: t0, Action: "y"})
		f.checkpoint(t)
		f.record(t, audit.Event{At: t0, Action: "z"})
		f.record(t, audit.Event{At: t0, Action: "z"})
		r, err := f.verify(t)
		if err != nil || r.Checkpoint != 2 || r.Anchor != 2 || r.Unanchored != 2 || r.Events != 8 {
			t.Errorf("Check() = %+v, %v; want checkpoint and anchor 2, 8 events, 2 of them after it", r, err)
		}
	})
}

// TestLoggedCheckpointsAreCompared: `audit verify --anchor N:MAC` compares the
// database with a checkpoint as the instance log recorded it.
func TestLoggedCheckpointsAreCompared(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		f.record(t, audit.Event{At: t0, Action: "x"})
		f.checkpoint(t)
		m := logged.FindStringSubmatch(f.out.String())
		if m == nil {
			t.Fatalf("no checkpoint in the log: %q", f.out.String())
		}
		pin, err := audit.ParsePin("1:" + m[3])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.verify(t, pin); err != nil {
			t.Errorf("Check(the logged checkpoint) = %v", err)
		}
		other, _ := audit.ParsePin("1:" + strings.Repeat("ab", 32))
		later, _ := audit.ParsePin("2:" + m[3])
		for _, p := range []audit.Pin{other, later} {
			_, err := f.verify(t, p)
			var be *audit.BrokenError
			if !errors.As(err, &be) || be.Checkpoint != p.N {
				t.Errorf("Check(pin %d) = %v; want a broken checkpoint %d", p.N, err, p.N)
			}
		}
		for _, bad := range []string{"1", "x:" + m[3], "1:abc", "0:" + m[3]} {
			if _, err := audit.ParsePin(bad); err == nil {
				t.Errorf("ParsePin(%q) accepted", bad)
			}
		}
	})
}

func TestChangedAnchorIsFound(t *testing.T) {
	f := newFixture(t, sqltest.OpenSQLite(t))
	f.record(t, audit.Event{At: t0, Action: "x"})
	f.checkpoint(t)
	key := anchors(t, f)[0]
	raw := f.blobs.Bytes(key)
	raw[len(raw)-20] ^= 1
	f.blobs.Put(t.Context(), key, bytes.NewReader(raw), int64(len(raw)))
	_, err := f.verify(t)
	var be *audit.BrokenError
	if !errors.As(err, &be) || be.Checkpoint != 1 || !strings.Contains(be.Reason, "does not open") {
		t.Errorf("Check() with a changed anchor = %v; want it named", err)
	}
}

// cutBackTo makes f's database look restored from a backup taken at
// checkpoint n: later events and checkpoints gone, heads moved back.
func cutBackTo(t *testing.T, f *fixture, n int64, lastSeq int64) {
	t.Helper()
	dropGuards(t, f.db)
	exec(t, f.db, `DELETE FROM audit_events WHERE seq > $1`, lastSeq)
	exec(t, f.db, `DELETE FROM audit_checkpoints WHERE n > $1`, n)
	for part := range audit.Chains {
		moveHead(t, f.db, part)
	}
}

// TestAnchorsAreNeverOverwritten: after the checkpoints in the database were
// cut back, a new checkpoint does not replace the anchor of the old one of its
// number: the old anchor is the evidence.
func TestAnchorsAreNeverOverwritten(t *testing.T) {
	f := newFixture(t, sqltest.OpenSQLite(t))
	for i := range 3 {
		for j := range 5 {
			f.record(t, audit.Event{At: t0, Action: "x", Target: fmt.Sprint(i, j)})
		}
		f.checkpoint(t)
	}
	old := f.blobs.Bytes(audit.AnchorPrefix + "0000000000000002")
	cutBackTo(t, f, 1, 5)
	f.record(t, audit.Event{At: t0, Action: "y"})
	if err := f.log.Checkpoint(t.Context(), t0.Add(2*time.Hour)); !errors.Is(err, audit.ErrAnchorTaken) {
		t.Errorf("Checkpoint() over an existing anchor = %v, want ErrAnchorTaken", err)
	}
	if got := f.blobs.Bytes(audit.AnchorPrefix + "0000000000000002"); !bytes.Equal(got, old) {
		t.Error("the anchor of checkpoint 2 was overwritten")
	}
	if _, err := f.verify(t); err == nil {
		t.Error("Check() after the cut = nil")
	}
}

// TestRestoredSetsNewerAnchorsAside: a database restored beside a bucket that
// outlived it verifies; the anchors of the lost checkpoints are kept aside and
// the restore says which they were; checkpoints then go on.
func TestRestoredSetsNewerAnchorsAside(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		for i := range 3 {
			for j := range 5 {
				f.record(t, audit.Event{At: t0, Action: "x", Target: fmt.Sprint(i, j)})
			}
			f.checkpoint(t)
		}
		cutBackTo(t, f, 1, 5) // as restored from a backup made at checkpoint 1
		if err := f.log.Restored(t.Context(), "20260101T000000000Z"); err != nil {
			t.Fatal(err)
		}
		if keys := anchors(t, f); len(keys) != 1 {
			t.Errorf("anchors after Restored: %v, want checkpoint 1's", keys)
		}
		for _, n := range []string{"2", "3"} {
			if f.blobs.Bytes(audit.SupersededPrefix+"20260101T000000000Z/000000000000000"+n) == nil {
				t.Errorf("the anchor of lost checkpoint %s was not kept", n)
			}
		}
		events, _ := f.log.List(t.Context(), audit.Filter{Action: "backup.restore"})
		if len(events) != 1 || events[0].Detail["superseded_checkpoints"] != "2-3" {
			t.Errorf("restore events = %+v", events)
		}
		f.checkpoint(t)
		r, err := f.verify(t)
		if err != nil || r.Checkpoint != 2 || r.Anchor != 2 {
			t.Errorf("Check() after the restore and a checkpoint = %+v, %v", r, err)
		}
	})
}
