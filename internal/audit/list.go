package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/medbox-jp/medbox/internal/sqldb"
)

// Filter selects events for Log.List and Log.Export. Zero fields do not filter.
type Filter struct {
	Actor  string // events done by this member
	About  string // events done by or to this member (actor or target)
	Box    string // events on this box
	Since  time.Time
	Until  time.Time
	Limit  int // default and maximum 10,000 per page
	After  int64
	Action string
	Newest bool // newest first, so that Limit keeps the newest events
}

const eventColumns = `seq, at, actor, action, target, box_id, addr, result, detail`

// list returns events matching f in sequence order (newest first if f.Newest).
func list(ctx context.Context, q sqldb.Querier, f Filter) ([]Event, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", fmt.Sprintf("$%d", len(args))))
	}
	if f.Actor != "" {
		add("actor = ?", f.Actor)
	}
	if f.About != "" {
		args = append(args, f.About)
		where = append(where, fmt.Sprintf("(actor = $%d OR target = $%d)", len(args), len(args)))
	}
	if f.Box != "" {
		add("box_id = ?", f.Box)
	}
	if f.Action != "" {
		add("action = ?", f.Action)
	}
	if !f.Since.IsZero() {
		add("at >= ?", sqldb.Millis(f.Since))
	}
	if !f.Until.IsZero() {
		add("at < ?", sqldb.Millis(f.Until))
	}
	if f.After > 0 {
		add("seq > ?", f.After)
	}
	limit := f.Limit
	if limit <= 0 || limit > 10000 {
		limit = 10000
	}
	q1 := `SELECT ` + eventColumns + ` FROM audit_events`
	if len(where) > 0 {
		q1 += " WHERE " + strings.Join(where, " AND ")
	}
	order := "seq"
	if f.Newest {
		order = "seq DESC"
	}
	q1 += fmt.Sprintf(" ORDER BY %s LIMIT %d", order, limit)
	out, _, err := scanEvents(ctx, q, q1, args...)
	return out, err
}

// scanEvents runs a query selecting eventColumns (and, if it selects them too,
// part and part_seq, whose greatest values per chain it returns).
func scanEvents(ctx context.Context, q sqldb.Querier, query string, args ...any) ([]Event, map[int]int64, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("list audit events: %w", err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []Event
	reached := map[int]int64{}
	for rows.Next() {
		var e Event
		var at, pos int64
		var part int
		var detail string
		dst := []any{&e.Seq, &at, &e.Actor, &e.Action, &e.Target, &e.Box, &e.Addr, &e.Result, &detail}
		positions := len(cols) > len(dst)
		if positions {
			dst = append(dst, &part, &pos)
		}
		if err := rows.Scan(dst...); err != nil {
			return nil, nil, fmt.Errorf("list audit events: %w", err)
		}
		e.At = sqldb.FromMillis(at)
		if detail != "{}" && detail != "" {
			if err := json.Unmarshal([]byte(detail), &e.Detail); err != nil {
				return nil, nil, fmt.Errorf("list audit events: event %d detail: %w", e.Seq, err)
			}
		}
		if positions {
			reached[part] = max(reached[part], pos)
		}
		out = append(out, e)
	}
	return out, reached, rows.Err()
}

// countRecent counts successful events of action on target since a time.
func countRecent(ctx context.Context, q sqldb.Querier, target, action string, since time.Time) (int, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT count(*) FROM audit_events WHERE target = $1 AND action = $2 AND result = 'ok' AND at > $3`,
		target, action, sqldb.Millis(since)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count %s events: %w", action, err)
	}
	return n, nil
}

// Cursor is how far a reader has read the log: the last position it read in
// each chain. The zero Cursor is the start of the log.
//
// A reader that follows the log must use a Cursor, not a seq: seq is taken when
// an append starts, and a transaction that started earlier may commit later, so
// "every event after seq N" can skip one. Within a chain, though, an event
// commits only after the one before it (its head row is locked until then), so
// a chain never shows a later event without the earlier ones.
type Cursor struct{ pos map[int]int64 }

// ParseCursor reads a cursor written by Cursor.String ("" is the start).
func ParseCursor(s string) (Cursor, error) {
	c := Cursor{pos: map[int]int64{}}
	if s == "" {
		return c, nil
	}
	for _, item := range strings.Split(s, ",") {
		p, n, ok := strings.Cut(item, ":")
		part, err1 := strconv.Atoi(p)
		pos, err2 := strconv.ParseInt(n, 10, 64)
		if !ok || err1 != nil || err2 != nil || part < legacyChain || part >= Chains || pos < 0 {
			return Cursor{}, fmt.Errorf("audit cursor %q: bad position %q", s, item)
		}
		c.pos[part] = pos
	}
	return c, nil
}

// String encodes c as "part:pos,…", chains in order, for storing.
func (c Cursor) String() string {
	var b strings.Builder
	for _, p := range slices.Sorted(maps.Keys(c.pos)) {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%d:%d", p, c.pos[p])
	}
	return b.String()
}

// sinceQuery selects, in seq order, the events past a cursor: one condition per
// chain, each served by the (part, part_seq) index.
var sinceQuery = func() string {
	var conds []string
	for p := legacyChain; p < Chains; p++ {
		conds = append(conds, fmt.Sprintf("(part = %d AND part_seq > $%d)", p, p-legacyChain+1))
	}
	return `SELECT ` + eventColumns + `, part, part_seq FROM audit_events WHERE ` + strings.Join(conds, " OR ") + ` ORDER BY seq LIMIT `
}()

// Since returns up to limit events past c, in seq order, and the cursor past
// them. Events are returned in seq order and seq grows along each chain, so
// what a page holds of each chain is a prefix of what is left of it.
func (l *Log) Since(ctx context.Context, c Cursor, limit int) ([]Event, Cursor, error) {
	if limit <= 0 || limit > 10000 {
		limit = 10000
	}
	args := make([]any, 0, Chains+1)
	for p := legacyChain; p < Chains; p++ {
		args = append(args, c.pos[p])
	}
	events, reached, err := scanEvents(ctx, l.db, sinceQuery+strconv.Itoa(limit), args...)
	if err != nil {
		return nil, c, err
	}
	next := Cursor{pos: maps.Clone(c.pos)}
	if next.pos == nil {
		next.pos = map[int]int64{}
	}
	for p, n := range reached {
		next.pos[p] = max(next.pos[p], n)
	}
	return events, next, nil
}
