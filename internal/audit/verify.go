package audit

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/medbox-jp/medbox/internal/sqldb"
)

// BrokenError reports a link of the log that does not hold.
type BrokenError struct {
	// Seq is the global seq where the break shows: the event that fails its
	// check; when events were removed from the end of a chain, the removed event
	// if a head or checkpoint names it (one removed), else the seq just after
	// the last event that survives in that chain. 0 when only checkpoints are
	// concerned.
	Seq        int64
	Chain      int   // the chain (-1: the events from before keying)
	Checkpoint int64 // the checkpoint concerned, if any
	Reason     string
}

func (e *BrokenError) Error() string {
	if e.Seq == 0 {
		return fmt.Sprintf("audit log broken at checkpoint %d: %s", e.Checkpoint, e.Reason)
	}
	return fmt.Sprintf("audit log broken at event %d: %s", e.Seq, e.Reason)
}

// Report is what Check found.
type Report struct {
	Events       int64     // events checked, in every chain
	Checkpoint   int64     // the newest checkpoint in the database (0: none yet)
	CheckpointAt time.Time // when it was made
	Anchor       int64     // the newest checkpoint anchored in the blob store (0: none)
	AnchorAt     time.Time
	// Unanchored counts the events added after the newest anchored checkpoint:
	// the ones a truncation could remove without showing until the next one.
	Unanchored int64
	Problems   []*BrokenError // every break found, earliest first
}

// Pin is a checkpoint as recorded outside the database — a line of the
// instance log, a mail — that Check compares with the database.
type Pin struct {
	N   int64
	MAC []byte
}

// ParsePin reads "N:MAC" (MAC in hex), as the instance log writes it.
func ParsePin(s string) (Pin, error) {
	n, mac, ok := strings.Cut(s, ":")
	p := Pin{}
	var err error
	if p.N, err = strconv.ParseInt(n, 10, 64); !ok || err != nil || p.N < 1 {
		return p, fmt.Errorf("anchor %q: want N:MAC", s)
	}
	if p.MAC, err = hex.DecodeString(mac); err != nil || len(p.MAC) != sha256.Size {
		return p, fmt.Errorf("anchor %q: the MAC is not 64 hex digits", s)
	}
	return p, nil
}

// Check walks every chain, the chain heads, the checkpoints, the newest anchor
// in the blob store and any pins, and reports every link that does not hold. It
// returns the earliest problem as a *BrokenError, and other errors only when it
// could not read what it checks.
func (l *Log) Check(ctx context.Context, pins ...Pin) (Report, error) {
	v := &verifier{l: l}
	err := v.run(ctx, pins)
	r := v.report
	// Events in seq order first; then what concerns only checkpoints.
	order := func(e *BrokenError) int64 {
		if e.Seq == 0 {
			return math.MaxInt64
		}
		return e.Seq
	}
	slices.SortStableFunc(r.Problems, func(a, b *BrokenError) int { return cmp.Compare(order(a), order(b)) })
	if err != nil {
		return r, fmt.Errorf("verify audit log: %w", err)
	}
	if len(r.Problems) > 0 {
		return r, r.Problems[0]
	}
	return r, nil
}

// claim is what a checkpoint says about the chains, with where it comes from.
type claim struct {
	from  string // "checkpoint 12 of 2026-…", for the reasons
	n     int64
	heads map[int]head
}

type verifier struct {
	l        *Log
	q        sqldb.Querier // the snapshot the walk reads
	k        *keys
	report   Report
	claims   []claim
	anchored int64 // events the newest anchor vouches for
}

func (v *verifier) problem(seq int64, chain int, cp int64, format string, args ...any) {
	v.report.Problems = append(v.report.Problems, &BrokenError{Seq: seq, Chain: chain, Checkpoint: cp, Reason: fmt.Sprintf(format, args...)})
}

func (v *verifier) run(ctx context.Context, pins []Pin) error {
	k, err := v.l.readKeys(ctx, v.l.db)
	switch {
	case errors.Is(err, errNoKey):
	case err != nil:
		// Nothing keyed can be checked without the key; say so at the first keyed event.
		var first int64
		v.l.db.QueryRowContext(ctx, `SELECT coalesce(min(seq), 0) FROM audit_events WHERE part >= 0`).Scan(&first)
		v.problem(max(first, 1), 0, 0, "the audit key cannot be opened, so no keyed event can be checked: %v", err)
		return nil
	default:
		v.k = k
	}
	// The anchor first: its checkpoint committed before it was written, so the
	// snapshot taken after it holds that checkpoint, unless it was removed.
	anchored, err := v.anchor(ctx)
	if err != nil {
		return err
	}
	// One snapshot for the checkpoints, the events and the heads, so that
	// appends going on meanwhile do not look like a cut.
	return v.l.db.ReadTx(ctx, func(tx *sqldb.Tx) error {
		v.q = tx
		if v.k == nil { // made since, by the first append; the snapshot holds it
			if k, err := v.l.readKeys(ctx, tx); err == nil {
				v.k = k
			}
		}
		if err := v.checkpoints(ctx, anchored, pins); err != nil {
			return err
		}
		return v.events(ctx)
	})
}

// anchor reads the newest anchor in the blob store.
func (v *verifier) anchor(ctx context.Context) (*sealedCheckpoint, error) {
	if v.l.anchors == nil {
		return nil, nil
	}
	n, err := v.l.newestAnchor(ctx)
	if err != nil || n == 0 {
		return nil, err
	}
	if v.k == nil {
		v.problem(0, 0, n, "checkpoint %d is anchored in the blob store, but the database has no audit key: the log was replaced", n)
		return nil, nil
	}
	s, err := v.l.readAnchor(ctx, v.k, n)
	if err != nil {
		v.problem(0, 0, n, "the newest anchor does not open: %v", err)
		return nil, nil
	}
	v.report.Anchor, v.report.AnchorAt = n, s.cp.At
	return s, nil
}

// checkpoints walks the checkpoint chain and compares it with the anchor and
// the pins. The newest checkpoint that holds, the anchor and the pins become the
// claims the events are checked against.
func (v *verifier) checkpoints(ctx context.Context, anchored *sealedCheckpoint, pins []Pin) error {
	rows, err := v.q.QueryContext(ctx, `SELECT n, at, body, mac FROM audit_checkpoints ORDER BY n`)
	if err != nil {
		return fmt.Errorf("read checkpoints: %w", err)
	}
	defer rows.Close()
	var prev []byte
	var good *sealedCheckpoint
	broken := false
	wantPin := map[int64][]byte{}
	for _, p := range pins {
		wantPin[p.N] = p.MAC
	}
	for rows.Next() {
		var s sealedCheckpoint
		var at int64
		var mac []byte
		if err := rows.Scan(&s.N, &at, &s.Body, &mac); err != nil {
			return fmt.Errorf("read checkpoints: %w", err)
		}
		if broken {
			continue
		}
		s.Prev, s.MAC = hex.EncodeToString(prev), hex.EncodeToString(mac)
		var want int64 = 1
		if good != nil {
			want = good.N + 1
		}
		switch {
		case v.k == nil:
			v.problem(0, 0, s.N, "the database holds checkpoints but no audit key")
			broken = true
		case s.N != want:
			v.problem(0, 0, want, "checkpoint %d is missing (the next is %d)", want, s.N)
			broken = true
		default:
			if err := s.open(v.k); err != nil {
				v.problem(0, 0, s.N, "%v: changed, or the checkpoints before it were", err)
				broken = true
			} else if sqldb.Millis(s.cp.At) != at {
				v.problem(0, 0, s.N, "checkpoint %d's time was changed", s.N)
				broken = true
			}
		}
		if broken {
			continue
		}
		if pin, ok := wantPin[s.N]; ok {
			if !hmac.Equal(pin, mac) {
				v.problem(0, 0, s.N, "checkpoint %d is not the one recorded outside the database (MAC %x, recorded %x)", s.N, mac, pin)
			}
			delete(wantPin, s.N)
		}
		if anchored != nil && anchored.N == s.N && anchored.MAC != s.MAC {
			v.problem(0, 0, s.N, "checkpoint %d differs from its anchor in the blob store", s.N)
		}
		good, prev = &s, mac
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read checkpoints: %w", err)
	}
	for n := range wantPin {
		v.problem(0, 0, n, "checkpoint %d, recorded outside the database, is not in it (or not after a break): the log was cut back", n)
	}
	if good != nil {
		v.report.Checkpoint, v.report.CheckpointAt = good.N, good.cp.At
		v.addClaim(good, "checkpoint")
	}
	if anchored != nil && (good == nil || anchored.N > good.N) {
		v.problem(0, 0, anchored.N, "checkpoint %d of %s is anchored in the blob store but missing from the database: the log was cut back",
			anchored.N, anchored.cp.At.Format(time.RFC3339))
		v.addClaim(anchored, "anchored checkpoint")
	}
	if anchored != nil {
		v.anchored = anchored.cp.Events
	}
	return nil
}

func (v *verifier) addClaim(s *sealedCheckpoint, what string) {
	c := claim{from: fmt.Sprintf("%s %d of %s", what, s.N, s.cp.At.Format(time.RFC3339)), n: s.N, heads: map[int]head{}}
	for _, h := range s.cp.Chains {
		c.heads[h.Part] = h
	}
	v.claims = append(v.claims, c)
}
