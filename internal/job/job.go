// Package job is the durable background queue: work written in the caller's
// transaction (so a change and its follow-up commit together), claimed with leases
// so that exactly one instance runs each job, retried with back-off, and a
// periodic schedule whose every slot runs once across all instances.
package job

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/medbox-jp/medbox/internal/sqldb"
)

// Job is one claimed unit of work.
type Job struct {
	ID          string
	Kind        string
	Payload     []byte
	Attempt     int // 1 on the first run
	MaxAttempts int
}

// Decode unmarshals the payload into v.
func (j *Job) Decode(v any) error {
	if err := json.Unmarshal(j.Payload, v); err != nil {
		return Permanent(fmt.Errorf("decode %s payload: %w", j.Kind, err))
	}
	return nil
}

// DefaultMaxAttempts is how often a job runs before it is given up as dead.
const DefaultMaxAttempts = 12

type enqueueOptions struct {
	runAt       time.Time
	key         string
	maxAttempts int
}

// Option adjusts Enqueue.
type Option func(*enqueueOptions)

// At delays the job until t.
func At(t time.Time) Option { return func(o *enqueueOptions) { o.runAt = t } }

// Key makes the job unique: a second Enqueue with the same key is ignored, also
// after the first has run, so "once per item" work happens once.
func Key(key string) Option { return func(o *enqueueOptions) { o.key = key } }

// MaxAttempts bounds the runs of the job.
func MaxAttempts(n int) Option { return func(o *enqueueOptions) { o.maxAttempts = n } }

// Enqueue writes a job of kind with payload (marshalled as JSON) through q — the
// caller's transaction, so the job exists exactly when the change that caused it
// commits — written at now, the caller's clock. After the commit, local workers
// are woken at once.
func Enqueue(ctx context.Context, q sqldb.Querier, now time.Time, kind string, payload any, opts ...Option) error {
	o := enqueueOptions{maxAttempts: DefaultMaxAttempts}
	for _, opt := range opts {
		opt(&o)
	}
	b, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("enqueue %s: %w", kind, err)
	}
	var key any
	if o.key != "" {
		key = o.key
	}
	runAt := int64(0) // due at once, whatever the clock says
	if !o.runAt.IsZero() {
		runAt = sqldb.Millis(o.runAt)
	}
	_, err = q.ExecContext(ctx, `INSERT INTO jobs (id, kind, payload, dedup_key, state, run_at, max_attempts, created_at)
		VALUES ($1, $2, $3, $4, 'queued', $5, $6, $7) ON CONFLICT DO NOTHING`,
		newID(), kind, string(b), key, runAt, o.maxAttempts, sqldb.Millis(now))
	if err != nil {
		return fmt.Errorf("enqueue %s: %w", kind, err)
	}
	if tx, ok := q.(*sqldb.Tx); ok {
		tx.AfterCommit(wakeAll)
	} else {
		wakeAll()
	}
	return nil
}

func newID() string { return strings.ToLower(rand.Text()) }

// permanent marks an error that retrying cannot fix.
type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// Permanent wraps err so the job is not retried.
func Permanent(err error) error { return permanent{err} }

// IsPermanent reports whether err was marked Permanent.
func IsPermanent(err error) bool {
	var p permanent
	return errors.As(err, &p)
}

// Local queues register here so that Enqueue can wake them after a commit.
var (
	wakeMu  sync.Mutex
	wakeChs = map[chan struct{}]bool{}
)

func wakeAll() {
	wakeMu.Lock()
	defer wakeMu.Unlock()
	for ch := range wakeChs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}
