package job_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/medbox-jp/medbox/internal/job"
	"github.com/medbox-jp/medbox/internal/sqldb"
	"github.com/medbox-jp/medbox/internal/sqldb/sqltest"
)

func TestBackoff(t *testing.T) {
	t.Parallel()
	for attempt, base := range map[int]time.Duration{
		0: 10 * time.Second, 1: 10 * time.Second, 2: 20 * time.Second, 3: 40 * time.Second,
		9: 2560 * time.Second, 10: time.Hour, 12: time.Hour, 1000: time.Hour,
	} {
		for range 50 {
			if d := job.Backoff(attempt); d < base || d > base+base/5 {
				t.Fatalf("Backoff(%d) = %v, want within [%v, %v]", attempt, d, base, base+base/5)
			}
		}
	}
}

func TestFailedJobIsRetriedAfterBackoff(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqldb.DB) {
		c := newClock(start)
		q := newQueue(db, "a", c)
		var runs counter
		q.Handle("test.flaky", func(_ context.Context, j *job.Job) error {
			runs.inc()
			if j.Attempt < 3 {
				return fmt.Errorf("flaky attempt %d", j.Attempt)
			}
			return nil
		})
		enqueue(t, db, c.Now(), "test.flaky", notice{})

		runDue(t, q)
		for attempt := 1; attempt <= 2; attempt++ {
			r := jobRow(t, db, "test.flaky")
			wait := time.Duration(r.RunAt-c.Now().UnixMilli()) * time.Millisecond
			base := 10 * time.Second << (attempt - 1)
			if r.State != "queued" || wait < base || wait > base+base/5 {
				t.Fatalf("after failed attempt %d: state %q, retry in %v; want queued, in [%v, %v]", attempt, r.State, wait, base, base+base/5)
			}
			if want := fmt.Sprintf("flaky attempt %d", attempt); r.LastError != want {
				t.Errorf("last_error = %q, want %q", r.LastError, want)
			}
			c.Advance(base - time.Second)
			runDue(t, q)
			if runs.get() != attempt {
				t.Fatalf("ran %d times before the back-off of attempt %d was over, want %d", runs.get(), attempt, attempt)
			}
			c.Advance(base/5 + 2*time.Second)
			runDue(t, q)
			if runs.get() != attempt+1 {
				t.Fatalf("ran %d times after the back-off of attempt %d, want %d", runs.get(), attempt, attempt+1)
			}
		}
		if r := jobRow(t, db, "test.flaky"); r.State != "done" || r.Attempts != 3 || r.LastError != "" {
			t.Errorf("job: state %q, %d attempts, last_error %q; want done, 3, empty", r.State, r.Attempts, r.LastError)
		}
	})
}

func TestJobDiesAfterMaxAttempts(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqldb.DB) {
		c := newClock(start)
		q := newQueue(db, "a", c)
		var runs counter
		q.Handle("test.broken", func(context.Context, *job.Job) error { runs.inc(); return errors.New("server on fire") })
		enqueue(t, db, c.Now(), "test.broken", notice{To: "bob@example.jp"}, job.MaxAttempts(3))
		for range 5 {
			runDue(t, q)
			c.Advance(2 * time.Hour)
		}
		if runs.get() != 3 {
			t.Errorf("ran %d times, want 3 (MaxAttempts)", runs.get())
		}
		r := jobRow(t, db, "test.broken")
		if r.State != "dead" || r.Attempts != 3 || r.LastError != "server on fire" || !r.FinishedAt.Valid {
			t.Errorf("job: state %q, %d attempts, last_error %q, finished %v; want dead, 3, the error, set", r.State, r.Attempts, r.LastError, r.FinishedAt.Valid)
		}
		st, err := q.Stats(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if st.Dead != 1 {
			t.Errorf("Stats().Dead = %d, want 1", st.Dead)
		}
	})
}

func TestPermanentErrorBuriesAtOnce(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqldb.DB) {
		c := newClock(start)
		q := newQueue(db, "a", c)
		var runs counter
		q.Handle("test.hopeless", func(context.Context, *job.Job) error {
			runs.inc()
			return fmt.Errorf("check input: %w", job.Permanent(errors.New("no such box")))
		})
		// A payload that does not decode is permanent too.
		q.Handle("test.garbled", func(_ context.Context, j *job.Job) error {
			var n int
			return j.Decode(&n)
		})
		enqueue(t, db, c.Now(), "test.hopeless", notice{})
		enqueue(t, db, c.Now(), "test.garbled", notice{})
		runDue(t, q)
		c.Advance(2 * time.Hour)
		runDue(t, q)
		if runs.get() != 1 {
			t.Errorf("ran %d times, want 1", runs.get())
		}
		for _, kind := range []string{"test.hopeless", "test.garbled"} {
			if r := jobRow(t, db, kind); r.State != "dead" || r.Attempts != 1 || r.LastError == "" {
				t.Errorf("%s: state %q, %d attempts, last_error %q; want dead after 1 with the error", kind, r.State, r.Attempts, r.LastError)
			}
		}
		if !job.IsPermanent(fmt.Errorf("wrapped: %w", job.Permanent(errors.New("x")))) || job.IsPermanent(errors.New("x")) {
			t.Error("IsPermanent does not see through wrapping, or sees what is not there")
		}
	})
}

func TestPanickingHandlerCountsAsFailure(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqldb.DB) {
		c := newClock(start)
		reg := prometheus.NewRegistry()
		q := job.New(db, job.Options{Owner: "a", Now: c.Now, Registry: reg, Logger: slog.New(slog.DiscardHandler)})
		var runs counter
		q.Handle("test.panicky", func(_ context.Context, j *job.Job) error {
			runs.inc()
			if j.Attempt == 1 {
				var pending []string
				_ = pending[j.Attempt] // a real runtime panic, not a call to panic
			}
			return nil
		})
		q.Handle("test.calm", func(context.Context, *job.Job) error { runs.inc(); return nil })
		enqueue(t, db, c.Now(), "test.panicky", notice{})
		enqueue(t, db, c.Now(), "test.calm", notice{})

		runDue(t, q) // must not crash the test binary, and must go on to the next job
		if runs.get() != 2 {
			t.Fatalf("ran %d handlers, want 2: the queue goes on after a panic", runs.get())
		}
		r := jobRow(t, db, "test.panicky")
		if r.State != "queued" || !strings.Contains(r.LastError, "panicked") || !strings.Contains(r.LastError, "index out of range") {
			t.Fatalf("after the panic: state %q, last_error %.80q; want queued with the panic", r.State, r.LastError)
		}
		if got := jobRuns(t, reg, "test.panicky", "error"); got != 1 {
			t.Errorf("medbox_jobs_total{kind=test.panicky,result=error} = %v, want 1", got)
		}
		c.Advance(time.Minute)
		runDue(t, q)
		if r := jobRow(t, db, "test.panicky"); r.State != "done" || r.Attempts != 2 {
			t.Errorf("retried job: state %q after %d attempts, want done after 2", r.State, r.Attempts)
		}
		if got := jobRuns(t, reg, "test.panicky", "ok"); got != 1 {
			t.Errorf("medbox_jobs_total{kind=test.panicky,result=ok} = %v, want 1", got)
		}
	})
}

// jobRuns reads the counter medbox_jobs_total for kind and result from reg.
func jobRuns(t *testing.T, reg *prometheus.Registry, kind, result string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "medbox_jobs_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["kind"] == kind && labels["result"] == result {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}
