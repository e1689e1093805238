package audit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/medbox-jp/medbox/internal/seal"
	"github.com/medbox-jp/medbox/internal/sqldb"
)

// Options wire a Log.
type Options struct {
	DB     *sqldb.DB
	Master *seal.Master // wraps the audit key, whose subkeys MAC the chains
	// Anchors is where checkpoints are anchored outside the database, sealed
	// under the audit key, under AnchorPrefix (which backups copy). Nil: no
	// anchors are written or read (a log kept for a test of another feature).
	Anchors *seal.Store
	Now     func() time.Time
	Log     *slog.Logger // checkpoints are also written here
}

// Log is the audit log of an instance: every feature records its events through
// it, in the feature's own transaction, stamped by the instance's clock; the
// administrator's pages, the API and `medbox audit verify` read and check it.
type Log struct {
	db      *sqldb.DB
	master  *seal.Master
	anchors *seal.Store
	now     func() time.Time
	log     *slog.Logger
	cached  atomic.Pointer[keys]
}

// New returns the log kept in o.DB.
func New(o Options) (*Log, error) {
	if o.DB == nil || o.Master == nil || o.Now == nil {
		return nil, errors.New("audit log: a database, a master key and a clock are required")
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return &Log{db: o.DB, master: o.Master, anchors: o.Anchors, now: o.Now, log: o.Log}, nil
}

// Record appends e inside the caller's transaction, so the operation and its
// record commit together or not at all. An event without a time happens now.
func (l *Log) Record(ctx context.Context, tx *sqldb.Tx, e Event) error {
	if e.At.IsZero() {
		e.At = l.now()
	}
	return l.record(ctx, tx, e)
}

// Verify checks the whole log and returns how many events it checked, or a
// *BrokenError naming the earliest event that does not hold. Check says more.
func (l *Log) Verify(ctx context.Context) (int64, error) {
	r, err := l.Check(ctx)
	return r.Events, err
}

// List returns the events matching f in sequence order, or newest first.
func (l *Log) List(ctx context.Context, f Filter) ([]Event, error) { return list(ctx, l.db, f) }

// Export writes every event matching f to w as CSV (with a header row) or JSON
// lines, and returns how many it wrote.
func (l *Log) Export(ctx context.Context, f Filter, format string, w io.Writer) (int, error) {
	return export(ctx, l.db, f, format, w)
}

// CountRecent counts, through q (the caller's transaction or the database),
// successful events of action on target since a time, for rate limits that must
// hold across instances (such as reset mails per address).
func (l *Log) CountRecent(ctx context.Context, q sqldb.Querier, target, action string, since time.Time) (int, error) {
	return countRecent(ctx, q, target, action, since)
}

// Append records e in a transaction of its own, for an event that changes
// nothing else (an administrator verifying or exporting the log).
func (l *Log) Append(ctx context.Context, e Event) error {
	return l.db.Tx(ctx, func(tx *sqldb.Tx) error { return l.Record(ctx, tx, e) })
}

// QueryError names the field of an export query that does not parse.
type QueryError struct{ Field string }

func (e *QueryError) Error() string {
	return fmt.Sprintf("audit query: %s is neither YYYY-MM-DD nor RFC 3339", e.Field)
}

// jst is the time zone whose calendar dates ParseQuery reads.
var jst = time.FixedZone("JST", 9*3600)

// ParseQuery reads an export request's member, since and until (dates as Japan
// sees them, YYYY-MM-DD, until inclusive; or RFC 3339 instants) and format (csv,
// or JSON lines by default).
func ParseQuery(q url.Values) (f Filter, format string, err error) {
	f.About = q.Get("member")
	for _, x := range []struct {
		key  string
		dst  *time.Time
		days int
	}{{"since", &f.Since, 0}, {"until", &f.Until, 1}} {
		v := q.Get(x.key)
		if v == "" {
			continue
		}
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			*x.dst = t
			continue
		}
		t, err := time.ParseInLocation("2006-01-02", v, jst)
		if err != nil {
			return f, "", &QueryError{Field: x.key}
		}
		*x.dst = t.AddDate(0, 0, x.days)
	}
	format = q.Get("format")
	if format != "csv" {
		format = "jsonl"
	}
	return f, format, nil
}
