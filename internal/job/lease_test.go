package job_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/medbox-jp/medbox/internal/job"
	"github.com/medbox-jp/medbox/internal/sqldb"
	"github.com/medbox-jp/medbox/internal/sqldb/sqltest"
)

// blocker is a handler step that signals when it starts and waits to be released.
type blocker struct {
	started chan struct{}
	release chan struct{}
	once    sync.Once
}

func newBlocker() *blocker {
	return &blocker{started: make(chan struct{}), release: make(chan struct{})}
}

func (b *blocker) block() { close(b.started); <-b.release }
func (b *blocker) free()  { b.once.Do(func() { close(b.release) }) }

// runDueAsync runs q.RunDue in the background; the returned channel yields its
// error. The run is released and awaited when t ends, also after a failure.
func runDueAsync(t *testing.T, q *job.Queue, bs ...*blocker) <-chan error {
	done := make(chan error, 1)
	go func() {
		_, err := q.RunDue(context.WithoutCancel(t.Context()))
		done <- err
	}()
	t.Cleanup(func() {
		for _, b := range bs {
			b.free()
		}
	})
	return done
}

func TestExpiredLeaseIsClaimedByAnotherInstance(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqldb.DB) {
		c := newClock(start)
		a := newQueue(db, "instance-a", c)
		b := newQueue(db, "instance-b", c)
		stuck := newBlocker()
		a.Handle("test.slow", func(context.Context, *job.Job) error {
			stuck.block()
			return errors.New("instance a gave up late")
		})
		var bRuns counter
		b.Handle("test.slow", func(context.Context, *job.Job) error { bRuns.inc(); return nil })
		enqueue(t, db, c.Now(), "test.slow", notice{})

		aDone := runDueAsync(t, a, stuck)
		<-stuck.started
		c.Advance(30 * time.Second) // within a's one-minute lease
		runDue(t, b)
		if r := jobRow(t, db, "test.slow"); bRuns.get() != 0 || r.State != "running" || r.LeaseOwner.String != "instance-a" {
			t.Fatalf("within the lease: b ran %d times, job %q held by %q; want 0, running, instance-a", bRuns.get(), r.State, r.LeaseOwner.String)
		}

		c.Advance(31 * time.Second) // a's lease has run out: a is presumed dead
		runDue(t, b)
		if bRuns.get() != 1 {
			t.Fatalf("after the lease ran out b ran %d times, want 1", bRuns.get())
		}
		stuck.free()
		if err := <-aDone; err != nil {
			t.Fatalf("a.RunDue: %v", err)
		}
		r := jobRow(t, db, "test.slow")
		if r.State != "done" || r.Attempts != 2 || r.LastError != "" || r.Payload != "{}" {
			t.Errorf("after a's late failure: state %q, %d attempts, last_error %q, payload %q; want b's result: done, 2, empty, {}",
				r.State, r.Attempts, r.LastError, r.Payload)
		}
	})
}

func TestLateFinishOfSameInstanceIsIgnored(t *testing.T) {
	t.Parallel()
	// Two workers of one instance share its owner name; a worker whose lease ran
	// out must not overwrite the claim of the sibling that took the job over.
	sqltest.Each(t, func(t *testing.T, db *sqldb.DB) {
		c := newClock(start)
		q := newQueue(db, "instance-a", c)
		first, second := newBlocker(), newBlocker()
		q.Handle("test.slow", func(_ context.Context, j *job.Job) error {
			if j.Attempt == 1 {
				first.block()
				return errors.New("stale worker failed")
			}
			second.block()
			return nil
		})
		enqueue(t, db, c.Now(), "test.slow", notice{})

		firstDone := runDueAsync(t, q, first)
		<-first.started
		c.Advance(61 * time.Second)
		secondDone := runDueAsync(t, q, second)
		<-second.started

		first.free()
		if err := <-firstDone; err != nil {
			t.Fatalf("first RunDue: %v", err)
		}
		if r := jobRow(t, db, "test.slow"); r.State != "running" || r.Attempts != 2 {
			t.Fatalf("after the stale worker failed: state %q, %d attempts; want running, 2 (the second claim holds)", r.State, r.Attempts)
		}
		second.free()
		if err := <-secondDone; err != nil {
			t.Fatalf("second RunDue: %v", err)
		}
		if r := jobRow(t, db, "test.slow"); r.State != "done" || r.Attempts != 2 || r.LastError != "" {
			t.Errorf("job: state %q, %d attempts, last_error %q; want done, 2, empty", r.State, r.Attempts, r.LastError)
		}
	})
}

func TestHeartbeatKeepsALongJob(t *testing.T) {
	t.Parallel()
	// On the real clock: the heartbeat runs on timers, a third of a lease apart.
	sqltest.Each(t, func(t *testing.T, db *sqldb.DB) {
		const lease = time.Second
		opts := func(owner string) job.Options {
			return job.Options{Owner: owner, Lease: lease, Logger: slog.New(slog.DiscardHandler)}
		}
		a, b := job.New(db, opts("instance-a")), job.New(db, opts("instance-b"))
		long := newBlocker()
		a.Handle("test.long", func(context.Context, *job.Job) error { long.block(); return nil })
		var bRuns counter
		b.Handle("test.long", func(context.Context, *job.Job) error { bRuns.inc(); return nil })
		enqueue(t, db, time.Now(), "test.long", notice{})

		aDone := runDueAsync(t, a, long)
		<-long.started
		for end := time.Now().Add(3 * lease); time.Now().Before(end); time.Sleep(lease / 10) {
			runDue(t, b)
		}
		long.free()
		if err := <-aDone; err != nil {
			t.Fatalf("a.RunDue: %v", err)
		}
		if r := jobRow(t, db, "test.long"); bRuns.get() != 0 || r.State != "done" || r.Attempts != 1 {
			t.Errorf("after a job three leases long: b ran it %d times, state %q after %d attempts; want 0, done after 1",
				bRuns.get(), r.State, r.Attempts)
		}
	})
}

func TestStoppedQueuePutsBackItsJob(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqldb.DB) {
		c := newClock(start)
		a, b := newQueue(db, "instance-a", c), newQueue(db, "instance-b", c)
		started := make(chan struct{})
		a.Handle("test.cut", func(ctx context.Context, _ *job.Job) error {
			close(started)
			<-ctx.Done() // a handler that honours its context
			return ctx.Err()
		})
		var bRuns counter
		b.Handle("test.cut", func(context.Context, *job.Job) error { bRuns.inc(); return nil })
		enqueue(t, db, c.Now(), "test.cut", notice{}, job.MaxAttempts(1))

		runCtx, stop := context.WithCancel(t.Context())
		ran := make(chan error, 1)
		go func() { ran <- a.Run(runCtx) }()
		<-started
		stop()
		if err := <-ran; !errors.Is(err, context.Canceled) {
			t.Errorf("Run() = %v, want %v", err, context.Canceled)
		}
		if r := jobRow(t, db, "test.cut"); r.State != "queued" || r.Attempts != 0 || r.LeaseOwner.Valid {
			t.Fatalf("after the stop: state %q, %d attempts, held by %q; want queued, 0, nobody (put back, not failed)",
				r.State, r.Attempts, r.LeaseOwner.String)
		}
		runDue(t, b) // at once: no back-off, and its only attempt is still unused
		if r := jobRow(t, db, "test.cut"); bRuns.get() != 1 || r.State != "done" || r.Attempts != 1 {
			t.Errorf("on the other instance: ran %d times, state %q after %d attempts; want 1, done after 1", bRuns.get(), r.State, r.Attempts)
		}
	})
}
