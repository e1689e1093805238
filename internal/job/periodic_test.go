package job_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medbox-jp/medbox/internal/job"
	"github.com/medbox-jp/medbox/internal/sqldb"
	"github.com/medbox-jp/medbox/internal/sqldb/sqltest"
)

func TestPeriodicRunsOncePerSlotAcrossInstances(t *testing.T) {
	t.Parallel()
	const slots = 5
	eachPair(t, func(t *testing.T, dbA, dbB *sqldb.DB) {
		c := newClock(start.Add(5 * time.Second))
		var mu sync.Mutex
		runs := map[time.Time]int{}
		tick := job.Periodic{Name: "tick", Every: time.Minute, Run: func(_ context.Context, now time.Time) error {
			mu.Lock()
			defer mu.Unlock()
			runs[now.Truncate(time.Minute)]++
			return nil
		}}
		qs := []*job.Queue{newQueue(dbA, "instance-a", c), newQueue(dbB, "instance-b", c)}
		for _, q := range qs {
			q.Schedule(tick)
		}
		for range slots {
			var wg sync.WaitGroup
			for _, q := range qs {
				wg.Go(func() {
					for range 3 {
						if _, err := q.RunDue(t.Context()); err != nil {
							t.Errorf("RunDue: %v", err)
						}
					}
				})
			}
			wg.Wait()
			c.Advance(time.Minute)
		}
		for i := range slots {
			slot := start.Add(time.Duration(i) * time.Minute)
			if runs[slot] != 1 {
				t.Errorf("slot %s ran %d times, want once", slot.Format("15:04"), runs[slot])
			}
		}
		if len(runs) != slots {
			t.Errorf("ran in %d slots, want %d: %v", len(runs), slots, runs)
		}
	})
}

func TestPeriodicSlotIsLeftToInstancesWithTheTask(t *testing.T) {
	t.Parallel()
	// During a rolling upgrade an older instance lacks a new task; it must leave
	// the task's slots alone rather than bury them as unknown.
	sqltest.Each(t, func(t *testing.T, db *sqldb.DB) {
		c := newClock(start)
		var runs counter
		newer := newQueue(db, "newer", c)
		newer.Schedule(job.Periodic{Name: "new task", Every: time.Minute, Run: func(context.Context, time.Time) error {
			runs.inc()
			return nil
		}})
		older := newQueue(db, "older", c)
		if err := newer.SchedulePeriodic(t.Context()); err != nil {
			t.Fatal(err)
		}
		runDue(t, older)
		var state string
		if err := db.QueryRowContext(t.Context(), `SELECT state FROM jobs WHERE payload LIKE '%new task%'`).Scan(&state); err != nil {
			t.Fatalf("the slot's job: %v", err)
		}
		if state != "queued" {
			t.Fatalf("slot after the older instance ran: %q, want queued", state)
		}
		runDue(t, newer)
		if runs.get() != 1 {
			t.Errorf("task ran %d times, want 1", runs.get())
		}
	})
}

func TestHousekeepingDeletesOldJobs(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqldb.DB) {
		c := newClock(start)
		q := job.New(db, job.Options{Owner: "a", Now: c.Now, Retention: 24 * time.Hour, Logger: slog.New(slog.DiscardHandler)})
		var oldRuns counter
		q.Handle("test.old", func(context.Context, *job.Job) error { oldRuns.inc(); return nil })
		q.Handle("test.recent", func(context.Context, *job.Job) error { return nil })
		q.Handle("test.broken", func(context.Context, *job.Job) error { return errors.New("mailbox full") })

		enqueue(t, db, c.Now(), "test.old", notice{}, job.Key("once"))
		enqueue(t, db, c.Now(), "test.broken", notice{To: "carol@example.jp"}, job.MaxAttempts(1))
		runDue(t, q) // both finish at 09:00 on day 1
		if r := jobRow(t, db, "test.broken"); r.State != "dead" || !strings.Contains(r.Payload, "carol@example.jp") {
			t.Fatalf("fresh dead job: state %q, payload %q; want dead, kept for inspection", r.State, r.Payload)
		}

		c.Advance(23 * time.Hour) // 08:00 on day 2: not yet past retention
		enqueue(t, db, c.Now(), "test.recent", notice{})
		runDue(t, q)
		if n := countJobs(t, db, "test.old"); n != 1 {
			t.Fatalf("done job within retention: %d rows, want 1", n)
		}

		c.Advance(2 * time.Hour) // 10:00 on day 2: day 1's jobs are past retention
		runDue(t, q)
		if n := countJobs(t, db, "test.old"); n != 0 {
			t.Errorf("done job past retention: %d rows, want 0", n)
		}
		if n := countJobs(t, db, "test.recent"); n != 1 {
			t.Errorf("done job within retention: %d rows, want 1", n)
		}
		if r := jobRow(t, db, "test.broken"); r.State != "dead" || r.Payload != "{}" || r.LastError != "mailbox full" {
			t.Errorf("dead job past retention: state %q, payload %q, last_error %q; want dead, {}, kept", r.State, r.Payload, r.LastError)
		}

		// With the finished job gone, its key is free again.
		enqueue(t, db, c.Now(), "test.old", notice{}, job.Key("once"))
		runDue(t, q)
		if oldRuns.get() != 2 {
			t.Errorf("keyed job ran %d times, want 2 (the key was freed by housekeeping)", oldRuns.get())
		}
	})
}
