// Package audit keeps the append-only, hash-chained record of every operation
// (R-X5). Events are written in the caller's transaction, so an operation and its
// record commit together or not at all; each event's hash covers the previous one,
// and Verify finds the first link that does not hold.
//
// An event names people only by their pseudonymous member id and never carries a
// password, token or message body.
package audit

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"strings"
	"time"

	"github.com/medbox-jp/medbox/internal/sqldb"
)

// Results of an operation.
const (
	OK     = "ok"
	Denied = "denied"
	Failed = "failed"
)

// Event is one recorded operation.
type Event struct {
	Seq    int64             `json:"seq"`
	At     time.Time         `json:"at"`
	Actor  string            `json:"actor"`  // member id, "cli", "system" or "" for a stranger
	Action string            `json:"action"` // e.g. "member.approve"
	Target string            `json:"target"` // what was acted on: a member, box or file id
	Box    string            `json:"box,omitempty"`
	Addr   string            `json:"addr"`   // client address
	Result string            `json:"result"` // OK, Denied or Failed
	Detail map[string]string `json:"detail,omitempty"`
}

// secretWords may not appear in detail keys: an event must never hold a secret.
var secretWords = []string{"password", "token", "secret", "otp", "key", "cookie"}

// record appends e to the log inside the caller's transaction. The chain tip is
// locked by the UPDATE until the transaction ends, so concurrent writers line up and
// the chain never forks.
func record(ctx context.Context, tx *sqldb.Tx, e Event) error {
	if e.Action == "" || e.At.IsZero() {
		return errors.New("record audit event: action and time are required")
	}
	if e.Result == "" {
		e.Result = OK
	}
	for k := range e.Detail {
		lk := strings.ToLower(k)
		for _, w := range secretWords {
			if strings.Contains(lk, w) {
				return fmt.Errorf("record audit event %s: detail key %q looks like a secret", e.Action, k)
			}
		}
	}
	var prev []byte
	err := tx.QueryRowContext(ctx, `UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash`).Scan(&e.Seq, &prev)
	if err != nil {
		return fmt.Errorf("record audit event %s: advance chain: %w", e.Action, err)
	}
	detail, err := encodeDetail(e.Detail)
	if err != nil {
		return fmt.Errorf("record audit event %s: %w", e.Action, err)
	}
	sum := chainHash(prev, e, detail)
	_, err = tx.ExecContext(ctx, `INSERT INTO audit_events
		(seq, at, actor, action, target, box_id, addr, result, detail, prev_hash, hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		e.Seq, sqldb.Millis(e.At), e.Actor, e.Action, e.Target, e.Box, e.Addr, e.Result, detail, prev, sum)
	if err != nil {
		return fmt.Errorf("record audit event %s: insert: %w", e.Action, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE audit_head SET hash = $1 WHERE id = 1`, sum); err != nil {
		return fmt.Errorf("record audit event %s: move chain tip: %w", e.Action, err)
	}
	return nil
}

func encodeDetail(d map[string]string) (string, error) {
	if len(d) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(d) // map keys are sorted, so the encoding is canonical
	return string(b), err
}

// chainHash is SHA-256 over the previous hash and every field of the event, each
// length-prefixed so that no two events encode alike.
func chainHash(prev []byte, e Event, detail string) []byte {
	h := sha256.New()
	h.Write([]byte("medbox-audit-v1"))
	writeField(h, prev)
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(e.Seq))
	h.Write(n[:])
	binary.BigEndian.PutUint64(n[:], uint64(sqldb.Millis(e.At)))
	h.Write(n[:])
	for _, s := range []string{e.Actor, e.Action, e.Target, e.Box, e.Addr, e.Result, detail} {
		writeField(h, []byte(s))
	}
	return h.Sum(nil)
}

func writeField(h hash.Hash, b []byte) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(b)))
	h.Write(n[:])
	h.Write(b)
}

// BrokenError reports the first event whose link in the chain does not hold.
type BrokenError struct {
	Seq    int64
	Reason string
}

func (e *BrokenError) Error() string {
	return fmt.Sprintf("audit chain broken at event %d: %s", e.Seq, e.Reason)
}

// verify walks the whole chain in order and returns how many events it checked. It
// returns a *BrokenError for the first event that was changed, removed or inserted,
// and also when the chain tip does not match the last event (events cut off the end).
func verify(ctx context.Context, db *sqldb.DB) (int64, error) {
	rows, err := db.QueryContext(ctx, `SELECT seq, at, actor, action, target, box_id, addr, result, detail, prev_hash, hash
		FROM audit_events ORDER BY seq`)
	if err != nil {
		return 0, fmt.Errorf("verify audit chain: %w", err)
	}
	defer rows.Close()
	prev := make([]byte, sha256.Size)
	var n, want int64 = 0, 1
	for rows.Next() {
		var e Event
		var at int64
		var detail string
		var prevHash, sum []byte
		if err := rows.Scan(&e.Seq, &at, &e.Actor, &e.Action, &e.Target, &e.Box, &e.Addr, &e.Result, &detail, &prevHash, &sum); err != nil {
			return n, fmt.Errorf("verify audit chain: %w", err)
		}
		e.At = sqldb.FromMillis(at)
		switch {
		case e.Seq != want:
			return n, &BrokenError{Seq: want, Reason: fmt.Sprintf("event missing (next present is %d)", e.Seq)}
		case string(prevHash) != string(prev):
			return n, &BrokenError{Seq: e.Seq, Reason: "previous-hash link does not match"}
		case string(chainHash(prev, e, detail)) != string(sum):
			return n, &BrokenError{Seq: e.Seq, Reason: "content does not match its hash"}
		}
		prev, want = sum, want+1
		n++
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("verify audit chain: %w", err)
	}
	var tipSeq int64
	var tip []byte
	if err := db.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&tipSeq, &tip); err != nil {
		return n, fmt.Errorf("verify audit chain: read tip: %w", err)
	}
	if tipSeq != n || string(tip) != string(prev) {
		return n, &BrokenError{Seq: n + 1, Reason: fmt.Sprintf("chain tip says %d events, found %d", tipSeq, n)}
	}
	return n, nil
}

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
}

// list returns events matching f in sequence order.
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
	q1 := `SELECT seq, at, actor, action, target, box_id, addr, result, detail FROM audit_events`
	if len(where) > 0 {
		q1 += " WHERE " + strings.Join(where, " AND ")
	}
	q1 += fmt.Sprintf(" ORDER BY seq LIMIT %d", limit)
	rows, err := q.QueryContext(ctx, q1, args...)
	if err != nil {
		return nil, fmt.Errorf("list audit events: %w", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var at int64
		var detail string
		if err := rows.Scan(&e.Seq, &at, &e.Actor, &e.Action, &e.Target, &e.Box, &e.Addr, &e.Result, &detail); err != nil {
			return nil, fmt.Errorf("list audit events: %w", err)
		}
		e.At = sqldb.FromMillis(at)
		if detail != "{}" && detail != "" {
			if err := json.Unmarshal([]byte(detail), &e.Detail); err != nil {
				return nil, fmt.Errorf("list audit events: event %d detail: %w", e.Seq, err)
			}
		}
		out = append(out, e)
	}
	return out, rows.Err()
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
