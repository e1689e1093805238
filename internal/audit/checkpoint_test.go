package audit_test

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

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
