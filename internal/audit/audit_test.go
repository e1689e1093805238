package audit_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/medbox-jp/medbox/internal/audit"
	"github.com/medbox-jp/medbox/internal/blob/blobtest"
	"github.com/medbox-jp/medbox/internal/clocktest"
	"github.com/medbox-jp/medbox/internal/seal"
	"github.com/medbox-jp/medbox/internal/sqldb"
	"github.com/medbox-jp/medbox/internal/sqldb/sqltest"
)

var t0 = clocktest.Start()

// fixture is a log on a database, with its master key file, its anchor store
// and what it wrote to the instance log.
type fixture struct {
	db      *sqldb.DB
	keyFile string
	master  *seal.Master
	blobs   *blobtest.Memory
	out     *bytes.Buffer
	mu      sync.Mutex
	log     *audit.Log
}

func newFixture(t *testing.T, db *sqldb.DB) *fixture {
	t.Helper()
	f := &fixture{db: db, keyFile: filepath.Join(t.TempDir(), "master.key"), blobs: blobtest.NewMemory(), out: &bytes.Buffer{}}
	var err error
	if f.master, err = seal.LoadOrCreate(f.keyFile); err != nil {
		t.Fatal(err)
	}
	f.log = f.newLog(t)
	return f
}

// newLog returns a log on f's database with nothing remembered, as a new
// process (`medbox audit verify`) opens it.
func (f *fixture) newLog(t *testing.T) *audit.Log {
	t.Helper()
	l, err := audit.New(audit.Options{DB: f.db, Master: f.master, Anchors: seal.New(f.blobs), Now: clocktest.At(t0).Now,
		Log: slog.New(slog.NewTextHandler(lockedWriter{f}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

type lockedWriter struct{ f *fixture }

func (w lockedWriter) Write(p []byte) (int, error) {
	w.f.mu.Lock()
	defer w.f.mu.Unlock()
	return w.f.out.Write(p)
}

func (f *fixture) record(t *testing.T, e audit.Event) {
	t.Helper()
	if err := f.db.Tx(t.Context(), func(tx *sqldb.Tx) error { return f.log.Record(t.Context(), tx, e) }); err != nil {
		t.Fatalf("Record: %v", err)
	}
}

func (f *fixture) checkpoint(t *testing.T) {
	t.Helper()
	if err := f.log.Checkpoint(t.Context(), t0.Add(time.Hour)); err != nil {
		t.Fatalf("Checkpoint: %v", err)
	}
}

// verify checks the log as a new process would.
func (f *fixture) verify(t *testing.T, pins ...audit.Pin) (audit.Report, error) {
	t.Helper()
	return f.newLog(t).Check(t.Context(), pins...)
}

func TestChainVerifiesAndListFilters(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		for i := range 5 {
			f.record(t, audit.Event{At: t0.Add(time.Duration(i) * time.Minute), Actor: "m1", Action: "member.signin", Target: "m1", Addr: "192.0.2.1", Detail: map[string]string{"n": fmt.Sprint(i)}})
		}
		f.record(t, audit.Event{At: t0.Add(time.Hour), Actor: "adm", Action: "member.approve", Target: "m2", Addr: "192.0.2.9"})
		n, err := f.newLog(t).Verify(t.Context())
		if err != nil || n != 6 {
			t.Fatalf("Verify() = %d, %v; want 6, nil", n, err)
		}
		got, err := f.log.List(t.Context(), audit.Filter{About: "m2"})
		if err != nil || len(got) != 1 || got[0].Action != "member.approve" || got[0].Result != audit.OK || got[0].Seq != 6 {
			t.Fatalf("List(About m2) = %+v, %v", got, err)
		}
		got, _ = f.log.List(t.Context(), audit.Filter{Actor: "m1", Since: t0.Add(2 * time.Minute)})
		if len(got) != 3 || got[0].Detail["n"] != "2" {
			t.Errorf("List(Actor m1 since +2m) = %+v", got)
		}
	})
}

func TestConcurrentWritersKeepEveryChainValid(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		const writers, each = 40, 5
		var wg sync.WaitGroup
		for i := range writers {
			wg.Go(func() {
				for j := range each {
					err := db.Tx(t.Context(), func(tx *sqldb.Tx) error {
						// Two events in one transaction, as some operations record.
						if err := f.log.Record(t.Context(), tx, audit.Event{At: t0, Action: "x", Target: fmt.Sprint(i, "/", j)}); err != nil {
							return err
						}
						return f.log.Record(t.Context(), tx, audit.Event{At: t0, Action: "y", Target: fmt.Sprint(i, "/", j)})
					})
					if err != nil {
						t.Error(err)
					}
				}
			})
			if i == writers/2 {
				wg.Go(func() { f.checkpoint(t) }) // a checkpoint amid the appends
			}
		}
		// Verifying while appends go on sees a consistent log.
		done := make(chan struct{})
		checked := make(chan int)
		go func() {
			n := 0
			for {
				select {
				case <-done:
					checked <- n
					return
				default:
				}
				if _, err := f.newLog(t).Check(t.Context()); err != nil {
					t.Errorf("Check() amid appends: %v", err)
				}
				n++
			}
		}()
		wg.Wait()
		close(done)
		if n := <-checked; n == 0 {
			t.Error("no Check ran amid the appends")
		}
		f.checkpoint(t)
		r, err := f.verify(t)
		if err != nil || r.Events != 2*writers*each {
			t.Fatalf("Check() = %+v, %v; want %d events, nil", r, err, 2*writers*each)
		}
		var chains int
		db.QueryRowContext(t.Context(), `SELECT count(DISTINCT part) FROM audit_events`).Scan(&chains)
		if chains < 8 {
			t.Errorf("events in %d chains; appends should spread over many", chains)
		}
	})
}

// TestSinceMissesNothing: a reader following the log with a Cursor while
// writers append sees every event exactly once, though events commit out of
// seq order.
func TestSinceMissesNothing(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		const writers, each = 16, 20
		done := make(chan struct{})
		var wg sync.WaitGroup
		for i := range writers {
			wg.Go(func() {
				for j := range each {
					err := db.Tx(t.Context(), func(tx *sqldb.Tx) error {
						if err := f.log.Record(t.Context(), tx, audit.Event{At: t0, Action: "x", Target: fmt.Sprint(i, "/", j)}); err != nil {
							return err
						}
						if j%3 == 0 { // hold the seq taken while later ones commit
							time.Sleep(2 * time.Millisecond)
						}
						return nil
					})
					if err != nil {
						t.Error(err)
					}
				}
			})
		}
		go func() { wg.Wait(); close(done) }()
		seen := map[int64]int{}
		var c audit.Cursor
		read := func() {
			events, next, err := f.log.Since(t.Context(), c, 7)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range events {
				seen[e.Seq]++
			}
			if c, err = audit.ParseCursor(next.String()); err != nil {
				t.Fatal(err)
			}
		}
	follow:
		for {
			select {
			case <-done:
				break follow
			default:
				read()
			}
		}
		for range writers * each {
			read()
		}
		if len(seen) != writers*each {
			t.Errorf("the reader saw %d events, want %d", len(seen), writers*each)
		}
		for seq, n := range seen {
			if n != 1 {
				t.Errorf("event %d read %d times", seq, n)
			}
		}
	})
}

func TestRolledBackEventLeavesNoTrace(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		boom := errors.New("boom")
		rollBack := func() {
			err := db.Tx(t.Context(), func(tx *sqldb.Tx) error {
				if err := f.log.Record(t.Context(), tx, audit.Event{At: t0, Action: "b"}); err != nil {
					return err
				}
				return boom
			})
			if !errors.Is(err, boom) {
				t.Fatal(err)
			}
		}
		rollBack() // the first event, whose transaction also made the audit key
		f.record(t, audit.Event{At: t0, Action: "a"})
		rollBack()
		f.record(t, audit.Event{At: t0, Action: "c"})
		if n, err := f.newLog(t).Verify(t.Context()); err != nil || n != 2 {
			t.Fatalf("Verify() = %d, %v; want 2, nil", n, err)
		}
	})
}

func TestSecretsRefused(t *testing.T) {
	f := newFixture(t, sqltest.OpenSQLite(t))
	err := f.db.Tx(t.Context(), func(tx *sqldb.Tx) error {
		return f.log.Record(t.Context(), tx, audit.Event{At: t0, Action: "member.reset", Detail: map[string]string{"new_password": "x"}})
	})
	if err == nil {
		t.Fatal("Record accepted a detail key that looks like a password")
	}
}

// TestRotatedMasterKeyStillVerifies: `medbox keys rotate` rewraps the audit key
// with the rest, so events from before the rotation verify with the new master
// key alone, and new ones continue the same chains.
func TestRotatedMasterKeyStillVerifies(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		for i := range 10 {
			f.record(t, audit.Event{At: t0, Action: "before", Target: fmt.Sprint(i)})
		}
		f.checkpoint(t)
		old := f.master.CurrentID()
		if _, err := f.master.Rotate(t.Context(), db); err != nil {
			t.Fatal(err)
		}
		for i := range 10 {
			f.record(t, audit.Event{At: t0, Action: "after", Target: fmt.Sprint(i)})
		}
		f.checkpoint(t)
		// A new process, whose key file holds only the new master key.
		m, err := seal.LoadOrCreate(f.keyFile)
		if err != nil {
			t.Fatal(err)
		}
		if m.CurrentID() == old {
			t.Fatal("the master key did not change")
		}
		f.master = m
		r, err := f.verify(t)
		if err != nil || r.Events != 20 || r.Checkpoint != 2 || r.Anchor != 2 {
			t.Fatalf("Check() after rotation = %+v, %v; want 20 events, checkpoint and anchor 2", r, err)
		}
	})
}
