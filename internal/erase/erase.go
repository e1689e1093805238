// Package erase makes deleted personal data unreadable in the database's own
// files soon after it is deleted (R-X4): a box that expired, a file deleted
// early, a member who withdrew. Deleting a row is not enough — SQLite keeps old
// page images in its write-ahead log, PostgreSQL keeps a deleted row's bytes in
// its pages — so every such deletion queues a pass of sqldb.DB.Compact in the
// same transaction. Deletions within one Window share one pass at its end, which
// bounds both the work and the time the bytes remain (at most a Window and the
// queue's poll).
package erase

import (
	"context"
	"strconv"
	"time"

	"github.com/medbox-jp/medbox/internal/job"
	"github.com/medbox-jp/medbox/internal/sqldb"
)

// Kind is the job that compacts the database.
const Kind = "db.compact"

// Window is how long deletions gather before one pass erases them all.
const Window = 15 * time.Second

// Later queues, in the caller's transaction, the pass that erases what it deletes:
// the one at the end of the current window.
func Later(ctx context.Context, tx *sqldb.Tx, now time.Time) error {
	end := now.Truncate(Window).Add(Window)
	return job.Enqueue(ctx, tx, now, Kind, struct{}{}, job.Key("compact:"+strconv.FormatInt(end.UnixMilli(), 10)),
		job.At(end), job.MaxAttempts(30))
}

// Register makes q run the passes on db. A pass that meets readers on old data
// (sqldb.ErrBusy) is tried again after the queue's back-off.
func Register(q *job.Queue, db *sqldb.DB) {
	q.Handle(Kind, func(ctx context.Context, _ *job.Job) error { return db.Compact(ctx) })
}
