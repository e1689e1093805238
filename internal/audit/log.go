package audit

import (
	"context"
	"errors"
	"io"
	"time"

	"fmt"
	"github.com/medbox-jp/medbox/internal/sqldb"
	"net/url"
)

// Log is the audit log of an instance: every feature records its events through
// it, in the feature's own transaction, stamped by the instance's clock; the
// administrator's pages, the API and `medbox audit verify` read and check it.
type Log struct {
	db  *sqldb.DB
	now func() time.Time
}

// New returns the log kept in db, telling time by now.
func New(db *sqldb.DB, now func() time.Time) (*Log, error) {
	if db == nil || now == nil {
		return nil, errors.New("audit log: a database and a clock are required")
	}
	return &Log{db: db, now: now}, nil
}

// Record appends e inside the caller's transaction, so the operation and its
// record commit together or not at all. An event without a time happens now.
func (l *Log) Record(ctx context.Context, tx *sqldb.Tx, e Event) error {
	if e.At.IsZero() {
		e.At = l.now()
	}
	return record(ctx, tx, e)
}

// Verify walks the whole chain and returns how many events it checked, or a
// *BrokenError naming the first event that does not hold.
func (l *Log) Verify(ctx context.Context) (int64, error) { return verify(ctx, l.db) }

// List returns the events matching f in sequence order.
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
