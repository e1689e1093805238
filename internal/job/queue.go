package job

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/medbox-jp/medbox/internal/sqldb"
)

// Handler does one job. Returning an error retries it later (unless Permanent).
type Handler func(ctx context.Context, j *Job) error

// Options configure a Queue.
type Options struct {
	Owner    string           // names this instance in leases; must differ between instances
	Now      func() time.Time // the clock; tests move it
	Workers  int              // jobs run at once by this instance
	Lease    time.Duration    // how long a claim holds without a heartbeat
	Poll     time.Duration    // how often idle workers look for due jobs
	Logger   *slog.Logger
	Registry prometheus.Registerer // optional: job counters
	// Retention is how long finished jobs stay (their payload erased) before they
	// are deleted; their dedup keys hold for that long.
	Retention time.Duration
}

// Queue runs jobs of the kinds it has handlers for.
type Queue struct {
	db       *sqldb.DB
	o        Options
	mu       sync.Mutex
	handlers map[string]Handler
	periodic map[string]Periodic
	lastSlot map[string]time.Time
	wake     chan struct{}
	metrics  *metrics
	idle     func() // called when a worker has found nothing due and waits (tests)
}

// New returns a Queue on db.
func New(db *sqldb.DB, o Options) *Queue {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Workers <= 0 {
		o.Workers = 2
	}
	if o.Lease <= 0 {
		o.Lease = 5 * time.Minute
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Owner == "" {
		o.Owner = newID()
	}
	if o.Retention <= 0 {
		o.Retention = 7 * 24 * time.Hour
	}
	q := &Queue{db: db, o: o, handlers: map[string]Handler{}, periodic: map[string]Periodic{},
		lastSlot: map[string]time.Time{}, wake: make(chan struct{}, 1), metrics: newMetrics(o.Registry)}
	q.Schedule(Periodic{Name: "job housekeeping", Every: time.Hour, Run: q.housekeep})
	return q
}

// Handle registers fn for jobs of kind.
func (q *Queue) Handle(kind string, fn Handler) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.handlers[kind] = fn
}

// Kinds returns the kinds of job this queue has handlers for, sorted.
func (q *Queue) Kinds() []string {
	out := []string{}
	for _, k := range q.kinds() {
		out = append(out, k.(string))
	}
	return out
}

func (q *Queue) kinds() []any {
	q.mu.Lock()
	defer q.mu.Unlock()
	ks := make([]string, 0, len(q.handlers))
	for k := range q.handlers {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	out := make([]any, len(ks))
	for i, k := range ks {
		out[i] = k
	}
	return out
}

// Run works until ctx ends. On the way out it cancels the context of running jobs
// and waits for them; a job that then fails was cut short, not failed, and is put
// back at once, its attempt not counted, for this or another instance to run.
func (q *Queue) Run(ctx context.Context) error {
	wakeMu.Lock()
	wakeChs[q.wake] = true
	wakeMu.Unlock()
	defer func() {
		wakeMu.Lock()
		delete(wakeChs, q.wake)
		wakeMu.Unlock()
	}()
	var wg sync.WaitGroup
	for range q.o.Workers {
		wg.Go(func() { q.work(ctx) })
	}
	wg.Wait()
	return ctx.Err()
}

func (q *Queue) work(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-q.wake:
		}
		if err := q.schedulePeriodic(ctx); err != nil && ctx.Err() == nil {
			q.o.Logger.ErrorContext(ctx, "schedule periodic jobs", "err", err)
		}
		for ctx.Err() == nil {
			ran, err := q.runOne(ctx)
			if err != nil {
				if ctx.Err() == nil {
					q.o.Logger.ErrorContext(ctx, "claim job", "err", err)
				}
				break
			}
			if !ran {
				break
			}
		}
		timer.Reset(q.o.Poll)
		if q.idle != nil {
			q.idle()
		}
	}
}

// RunDue runs every job that is due now (periodic slots included), one after
// another, and returns how many ran. Tests and commands use it.
func (q *Queue) RunDue(ctx context.Context) (int, error) {
	if err := q.schedulePeriodic(ctx); err != nil {
		return 0, err
	}
	n := 0
	for {
		ran, err := q.runOne(ctx)
		if err != nil {
			return n, err
		}
		if !ran {
			return n, nil
		}
		n++
	}
}

// runOne claims one due job and runs it; it reports whether there was one.
func (q *Queue) runOne(ctx context.Context) (bool, error) {
	j, err := q.claim(ctx)
	if err != nil || j == nil {
		return false, err
	}
	q.mu.Lock()
	h := q.handlers[j.Kind]
	q.mu.Unlock()
	hctx, stop := context.WithCancel(ctx)
	beat := make(chan struct{})
	go q.heartbeat(hctx, j, beat)
	start := time.Now()
	err = q.call(hctx, h, j)
	stop()
	<-beat
	if err != nil && ctx.Err() != nil {
		if rerr := q.release(context.WithoutCancel(ctx), j); rerr != nil {
			return true, rerr
		}
		return true, nil
	}
	q.metrics.observe(j.Kind, err, time.Since(start))
	if ferr := q.finish(context.WithoutCancel(ctx), j, err); ferr != nil {
		return true, ferr
	}
	return true, nil
}

func (q *Queue) call(ctx context.Context, h Handler, j *Job) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("job %s panicked: %v\n%s", j.Kind, p, debug.Stack())
		}
	}()
	return h(ctx, j)
}

// claim takes the next due job with a lease: first a running job whose lease ran
// out (its instance died), then the queued job that has been due longest.
//
// Each is its own probe, an ordered walk of one index (jobs_lease, jobs_due) that
// stops at the first row of a kind this queue handles. A single query with OR
// across both states would collect and sort every due job on every claim, so
// draining a backlog of n jobs would cost n² row visits.
func (q *Queue) claim(ctx context.Context) (*Job, error) {
	kinds := q.kinds()
	if len(kinds) == 0 {
		return nil, nil
	}
	now := sqldb.Millis(q.o.Now())
	args := []any{q.o.Owner, now + q.o.Lease.Milliseconds(), now}
	in := ""
	for i, k := range kinds {
		if i > 0 {
			in += ", "
		}
		args = append(args, k)
		in += fmt.Sprintf("$%d", len(args))
	}
	lock := ""
	if q.db.Dialect() == sqldb.Postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	for _, due := range []string{
		`state = 'running' AND lease_until < $3 AND kind IN (` + in + `) ORDER BY lease_until`,
		`state = 'queued' AND run_at <= $3 AND kind IN (` + in + `) ORDER BY run_at`,
	} {
		query := `UPDATE jobs SET state = 'running', lease_owner = $1, lease_until = $2, attempts = attempts + 1
			WHERE id = (SELECT id FROM jobs WHERE ` + due + ` LIMIT 1` + lock + `)
			RETURNING id, kind, payload, attempts, max_attempts`
		var j Job
		var payload string
		err := q.db.QueryRowContext(ctx, query, args...).Scan(&j.ID, &j.Kind, &payload, &j.Attempt, &j.MaxAttempts)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("claim job: %w", err)
		}
		j.Payload = []byte(payload)
		return &j, nil
	}
	return nil, nil
}

// heartbeat extends the lease of a long job until ctx ends.
func (q *Queue) heartbeat(ctx context.Context, j *Job, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(q.o.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_, err := q.db.ExecContext(ctx, `UPDATE jobs SET lease_until = $1 WHERE `+ownClaim,
				sqldb.Millis(q.o.Now().Add(q.o.Lease)), j.ID, q.o.Owner, j.Attempt)
			if err != nil && ctx.Err() == nil {
				q.o.Logger.WarnContext(ctx, "extend job lease", "kind", j.Kind, "err", err)
			}
		}
	}
}

// release puts back a job whose run the stopping queue cut short: due as before,
// and without counting the attempt, so that a job allowed one attempt still gets it.
func (q *Queue) release(ctx context.Context, j *Job) error {
	_, err := q.db.ExecContext(ctx, `UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_until = NULL,
		attempts = attempts - 1 WHERE id = $1 AND lease_owner = $2 AND attempts = $3 AND state = 'running'`, j.ID, q.o.Owner, j.Attempt)
	if err != nil {
		return fmt.Errorf("put back job %s: %w", j.ID, err)
	}
	q.o.Logger.InfoContext(ctx, "job put back as the queue stops", "kind", j.Kind, "id", j.ID)
	return nil
}

// ownClaim matches a job row only while it is still held by this claim ($2 the
// job, $3 the owner, $4 the attempt). The owner alone is not enough: two workers of
// one instance share it, and after a lease ran out the job may have been claimed
// again by a sibling worker, whose claim a late finish must not overwrite.
const ownClaim = `id = $2 AND lease_owner = $3 AND attempts = $4 AND state = 'running'`

// finish records the outcome. A finished job's payload is erased: it may hold
// addresses or names that must not outlive their purpose.
func (q *Queue) finish(ctx context.Context, j *Job, runErr error) error {
	now := q.o.Now()
	if runErr == nil {
		_, err := q.db.ExecContext(ctx, `UPDATE jobs SET state = 'done', payload = '{}', lease_owner = NULL, lease_until = NULL,
			last_error = '', finished_at = $1 WHERE `+ownClaim, sqldb.Millis(now), j.ID, q.o.Owner, j.Attempt)
		if err != nil {
			return fmt.Errorf("finish job %s: %w", j.ID, err)
		}
		return nil
	}
	msg := runErr.Error()
	if len(msg) > 2000 {
		msg = msg[:2000]
	}
	if IsPermanent(runErr) || j.Attempt >= j.MaxAttempts {
		q.o.Logger.ErrorContext(ctx, "job failed for good", "kind", j.Kind, "id", j.ID, "attempt", j.Attempt, "err", runErr)
		_, err := q.db.ExecContext(ctx, `UPDATE jobs SET state = 'dead', lease_owner = NULL, lease_until = NULL, last_error = $1,
			finished_at = $5 WHERE `+ownClaim, msg, j.ID, q.o.Owner, j.Attempt, sqldb.Millis(now))
		if err != nil {
			return fmt.Errorf("bury job %s: %w", j.ID, err)
		}
		return nil
	}
	next := now.Add(Backoff(j.Attempt))
	q.o.Logger.WarnContext(ctx, "job failed; will retry", "kind", j.Kind, "id", j.ID, "attempt", j.Attempt, "retry_at", next, "err", runErr)
	_, err := q.db.ExecContext(ctx, `UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_until = NULL, last_error = $1,
		run_at = $5 WHERE `+ownClaim, msg, j.ID, q.o.Owner, j.Attempt, sqldb.Millis(next))
	if err != nil {
		return fmt.Errorf("requeue job %s: %w", j.ID, err)
	}
	return nil
}

// Backoff is the wait before retry number attempt+1: 10 s doubling to at most an
// hour, with up to 20 % jitter so that failures do not return in step. An attempt
// below 1 counts as 1.
func Backoff(attempt int) time.Duration {
	d := 10 * time.Second << min(max(attempt-1, 0), 9)
	d = min(d, time.Hour)
	return d + time.Duration(rand.Int64N(int64(d)/5+1)) // #nosec G404 -- jitter of retry back-off, not a secret
}

// housekeep deletes finished jobs past the retention, and erases the payload of
// dead ones so that nothing personal lingers in them.
func (q *Queue) housekeep(ctx context.Context, now time.Time) error {
	cut := sqldb.Millis(now.Add(-q.o.Retention))
	if _, err := q.db.ExecContext(ctx, `DELETE FROM jobs WHERE state = 'done' AND finished_at < $1`, cut); err != nil {
		return fmt.Errorf("delete old jobs: %w", err)
	}
	if _, err := q.db.ExecContext(ctx, `UPDATE jobs SET payload = '{}' WHERE state = 'dead' AND finished_at < $1 AND payload <> '{}'`, cut); err != nil {
		return fmt.Errorf("erase dead job payloads: %w", err)
	}
	return nil
}
