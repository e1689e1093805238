package job_test

import (
	"database/sql"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/medbox-jp/medbox/internal/clocktest"
	"github.com/medbox-jp/medbox/internal/job"
	"github.com/medbox-jp/medbox/internal/sqldb"
	"github.com/medbox-jp/medbox/internal/sqldb/sqltest"
)

// start is where test clocks begin: on the hour, so the housekeeping slot is stable.
var start = clocktest.Start()

func newClock(t time.Time) *clocktest.Clock { return clocktest.At(t) }

// newQueue returns a queue named owner on db that tells time by c.
func newQueue(db *sqldb.DB, owner string, c *clocktest.Clock) *job.Queue {
	return job.New(db, job.Options{Owner: owner, Now: c.Now, Logger: slog.New(slog.DiscardHandler), Lease: time.Minute})
}

// runDue runs q's due jobs and fails t on error.
func runDue(t *testing.T, q *job.Queue) {
	t.Helper()
	if _, err := q.RunDue(t.Context()); err != nil {
		t.Fatalf("RunDue: %v", err)
	}
}

// enqueue writes a job at now outside any transaction and fails t on error.
func enqueue(t *testing.T, db *sqldb.DB, now time.Time, kind string, payload any, opts ...job.Option) {
	t.Helper()
	if err := job.Enqueue(t.Context(), db, now, kind, payload, opts...); err != nil {
		t.Fatalf("Enqueue(%s): %v", kind, err)
	}
}

// row is a job as stored.
type row struct {
	State      string
	Attempts   int
	LastError  string
	Payload    string
	RunAt      int64
	LeaseOwner sql.NullString
	FinishedAt sql.NullInt64
}

// jobRow reads the only job of kind.
func jobRow(t *testing.T, db *sqldb.DB, kind string) row {
	t.Helper()
	var r row
	err := db.QueryRowContext(t.Context(), `SELECT state, attempts, last_error, payload, run_at, lease_owner, finished_at
		FROM jobs WHERE kind = $1`, kind).Scan(&r.State, &r.Attempts, &r.LastError, &r.Payload, &r.RunAt, &r.LeaseOwner, &r.FinishedAt)
	if err != nil {
		t.Fatalf("read %s job: %v", kind, err)
	}
	return r
}

// countJobs counts the jobs of kind.
func countJobs(t *testing.T, db *sqldb.DB, kind string) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(t.Context(), `SELECT count(*) FROM jobs WHERE kind = $1`, kind).Scan(&n); err != nil {
		t.Fatalf("count %s jobs: %v", kind, err)
	}
	return n
}

// counter counts handler runs.
type counter struct {
	mu sync.Mutex
	n  int
}

func (c *counter) inc() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
}

func (c *counter) get() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// eachPair runs fn on SQLite and on PostgreSQL with two separate handles on one
// fresh database, as two instances of the service have.
func eachPair(t *testing.T, fn func(t *testing.T, a, b *sqldb.DB)) {
	t.Helper()
	open := func(t *testing.T, url, dir string) *sqldb.DB {
		t.Helper()
		db, err := sqldb.Open(t.Context(), url, dir)
		if err != nil {
			t.Fatalf("open database: %v", err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		fn(t, open(t, "", dir), open(t, "", dir))
	})
	t.Run("postgres", func(t *testing.T) {
		url := sqltest.NewPostgresURL(t)
		fn(t, open(t, url, ""), open(t, url, ""))
	})
}
