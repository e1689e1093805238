package job_test

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/medbox-jp/medbox/internal/job"
	"github.com/medbox-jp/medbox/internal/sqldb"
	"github.com/medbox-jp/medbox/internal/sqldb/sqltest"
)

func TestTwoInstancesRunEachJobOnce(t *testing.T) {
	t.Parallel()
	const jobs = 1000
	eachPair(t, func(t *testing.T, dbA, dbB *sqldb.DB) {
		ctx := t.Context()
		err := dbA.Tx(ctx, func(tx *sqldb.Tx) error {
			for i := range jobs {
				if err := job.Enqueue(ctx, tx, start, "test.count", i); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("enqueue %d jobs: %v", jobs, err)
		}

		var seen sync.Map // job number → *atomic.Int32 runs
		var total atomic.Int32
		allSeen := make(chan struct{})
		var by [2]atomic.Int32
		handler := func(instance int) job.Handler {
			return func(_ context.Context, j *job.Job) error {
				var n int
				if err := j.Decode(&n); err != nil {
					return err
				}
				runs, _ := seen.LoadOrStore(n, new(atomic.Int32))
				runs.(*atomic.Int32).Add(1)
				by[instance].Add(1)
				if total.Add(1) == jobs {
					close(allSeen)
				}
				return nil
			}
		}
		runCtx, stop := context.WithCancel(ctx)
		var wg sync.WaitGroup
		for i, db := range []*sqldb.DB{dbA, dbB} {
			q := job.New(db, job.Options{Owner: []string{"instance-a", "instance-b"}[i], Workers: 4,
				Poll: 20 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
			q.Handle("test.count", handler(i))
			wg.Go(func() { q.Run(runCtx) })
		}
		select {
		case <-allSeen:
		case <-time.After(time.Minute): // usually a few seconds; this only guards against a hang
			t.Errorf("only %d of %d jobs ran within a minute", total.Load(), jobs)
		}
		stop()
		wg.Wait() // every handler has returned: a job run twice is counted by now

		for i := range jobs {
			v, ok := seen.Load(i)
			if !ok {
				t.Errorf("job %d never ran", i)
				continue
			}
			if n := v.(*atomic.Int32).Load(); n != 1 {
				t.Errorf("job %d ran %d times, want once", i, n)
			}
		}
		var done int
		err = dbA.QueryRowContext(ctx, `SELECT count(*) FROM jobs WHERE kind = 'test.count' AND state = 'done' AND attempts = 1`).Scan(&done)
		if err != nil {
			t.Fatal(err)
		}
		if done != jobs {
			t.Errorf("%d jobs done at their first claim, want %d", done, jobs)
		}
		t.Logf("instance a ran %d jobs, instance b %d", by[0].Load(), by[1].Load())
	})
}

func TestRunWakesOnCommit(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqldb.DB) {
		// Workers poll only once an hour: the job can only be run this soon
		// because the commit wakes them.
		q := job.New(db, job.Options{Owner: "a", Workers: 1, Poll: time.Hour, Logger: slog.New(slog.DiscardHandler)})
		ran := make(chan struct{}, 1)
		q.Handle("test.wake", func(context.Context, *job.Job) error { ran <- struct{}{}; return nil })
		idle := make(chan struct{}, 1)
		q.OnIdle(func() {
			select {
			case idle <- struct{}{}:
			default:
			}
		})
		runCtx, stop := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		wg.Go(func() { q.Run(runCtx) })
		defer func() { stop(); wg.Wait() }()

		<-idle // the worker found nothing and waits: only a wake-up brings it back within the hour
		err := db.Tx(t.Context(), func(tx *sqldb.Tx) error { return job.Enqueue(t.Context(), tx, start, "test.wake", nil) })
		if err != nil {
			t.Fatal(err)
		}
		select {
		case <-ran:
		case <-time.After(5 * time.Second):
			t.Fatal("the job did not run within 5 s of its commit")
		}
	})
}
