package job_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/medbox-jp/medbox/internal/job"
	"github.com/medbox-jp/medbox/internal/sqldb"
	"github.com/medbox-jp/medbox/internal/sqldb/sqltest"
)

type notice struct {
	To   string `json:"to"`
	Note string `json:"note"`
}

func TestEnqueueCommitsWithTheTransaction(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		q := newQueue(db, "a", newClock(start))
		var got []notice
		q.Handle("test.notice", func(ctx context.Context, j *job.Job) error {
			var n notice
			if err := j.Decode(&n); err != nil {
				return err
			}
			got = append(got, n)
			return nil
		})

		errRollback := errors.New("roll back")
		err := db.Tx(ctx, func(tx *sqldb.Tx) error {
			if err := job.Enqueue(ctx, tx, start, "test.notice", notice{To: "rolled back"}); err != nil {
				return err
			}
			return errRollback
		})
		if !errors.Is(err, errRollback) {
			t.Fatalf("Tx() = %v, want %v", err, errRollback)
		}
		runDue(t, q)
		if len(got) != 0 || countJobs(t, db, "test.notice") != 0 {
			t.Fatalf("after rollback: ran %v, %d rows; want nothing", got, countJobs(t, db, "test.notice"))
		}

		err = db.Tx(ctx, func(tx *sqldb.Tx) error {
			return job.Enqueue(ctx, tx, start, "test.notice", notice{To: "committed", Note: "日本語"})
		})
		if err != nil {
			t.Fatalf("Tx(): %v", err)
		}
		runDue(t, q)
		runDue(t, q)
		if want := []notice{{To: "committed", Note: "日本語"}}; len(got) != 1 || got[0] != want[0] {
			t.Errorf("ran %v, want %v once", got, want)
		}
		if r := jobRow(t, db, "test.notice"); r.State != "done" || r.Attempts != 1 {
			t.Errorf("job state %q after %d attempts, want done after 1", r.State, r.Attempts)
		}
	})
}

func TestKeyMakesAJobUnique(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqldb.DB) {
		q := newQueue(db, "a", newClock(start))
		var runs counter
		q.Handle("test.once", func(context.Context, *job.Job) error { runs.inc(); return nil })

		enqueue(t, db, start, "test.once", notice{Note: "first"}, job.Key("box-1:shared"))
		enqueue(t, db, start, "test.once", notice{Note: "second"}, job.Key("box-1:shared"))
		if n := countJobs(t, db, "test.once"); n != 1 {
			t.Fatalf("%d jobs after enqueueing one key twice, want 1", n)
		}
		runDue(t, q)
		enqueue(t, db, start, "test.once", notice{Note: "after it ran"}, job.Key("box-1:shared"))
		runDue(t, q)
		if runs.get() != 1 {
			t.Errorf("ran %d times, want 1: the key holds also after the job ran", runs.get())
		}
		enqueue(t, db, start, "test.once", notice{Note: "other key"}, job.Key("box-2:shared"))
		runDue(t, q)
		if runs.get() != 2 {
			t.Errorf("ran %d times, want 2: another key is another job", runs.get())
		}
	})
}

func TestFinishedJobPayloadIsErased(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqldb.DB) {
		q := newQueue(db, "a", newClock(start))
		q.Handle("test.personal", func(context.Context, *job.Job) error { return nil })
		enqueue(t, db, start, "test.personal", notice{To: "alice@example.jp"})
		if r := jobRow(t, db, "test.personal"); !strings.Contains(r.Payload, "alice@example.jp") {
			t.Fatalf("queued payload = %q, want the address", r.Payload)
		}
		runDue(t, q)
		if r := jobRow(t, db, "test.personal"); r.State != "done" || r.Payload != "{}" {
			t.Errorf("finished job: state %q, payload %q; want done, {}", r.State, r.Payload)
		}
	})
}

func TestJobOfUnknownKindWaits(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqldb.DB) {
		q := newQueue(db, "a", newClock(start))
		enqueue(t, db, start, "test.elsewhere", notice{})
		runDue(t, q)
		if r := jobRow(t, db, "test.elsewhere"); r.State != "queued" || r.Attempts != 0 {
			t.Errorf("job without a handler here: state %q, %d attempts; want queued, 0 (another instance may handle it)", r.State, r.Attempts)
		}
	})
}
