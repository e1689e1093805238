package audit

import (
	"bytes"
	"context"
	"crypto/hmac"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/medbox-jp/medbox/internal/blob"
	"github.com/medbox-jp/medbox/internal/sqldb"
)

// AnchorPrefix is where checkpoints are anchored in the blob store, one sealed
// object per checkpoint, named by its number.
const AnchorPrefix = "audit/checkpoints/"

// checkpoint is every chain's head at one moment. Its JSON encoding is what the
// checkpoint's MAC covers, stored as it was made.
type checkpoint struct {
	N      int64     `json:"n"`
	At     time.Time `json:"at"`
	Events int64     `json:"events"` // in all chains
	Chains []head    `json:"chains"` // chain -1 first, then 0…Chains-1
}

// head is the state of one chain: how many events it holds, the seq of the last
// one and that event's MAC (chain -1: its SHA-256 link), in hex.
type head struct {
	Part  int    `json:"part"`
	Count int64  `json:"count"`
	Last  int64  `json:"last_seq"`
	MAC   string `json:"mac"`
}

// sealedCheckpoint is a checkpoint as stored and anchored: its body, the MAC of
// the checkpoint before it and its own MAC, which covers both.
type sealedCheckpoint struct {
	N    int64  `json:"n"`
	Body string `json:"body"`
	Prev string `json:"prev"` // hex; empty for the first
	MAC  string `json:"mac"`  // hex
	cp   checkpoint
}

// checkpointMAC is HMAC-SHA256, under the checkpoint key, of the previous
// checkpoint's MAC and the body.
func checkpointMAC(k *keys, prev []byte, body string) []byte {
	h := k.checkpoint()
	h.Write([]byte("medbox-audit-checkpoint-v2"))
	writeField(h, prev)
	writeField(h, []byte(body))
	return h.Sum(nil)
}

// open checks s's MAC and decodes its body.
func (s *sealedCheckpoint) open(k *keys) error {
	prev, err1 := hex.DecodeString(s.Prev)
	mac, err2 := hex.DecodeString(s.MAC)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, checkpointMAC(k, prev, s.Body)) {
		return fmt.Errorf("checkpoint %d does not match its MAC", s.N)
	}
	if err := json.Unmarshal([]byte(s.Body), &s.cp); err != nil {
		return fmt.Errorf("checkpoint %d: %w", s.N, err)
	}
	if s.cp.N != s.N {
		return fmt.Errorf("checkpoint %d says it is number %d", s.N, s.cp.N)
	}
	return nil
}

// anchorKey names checkpoint n's object; the numbers sort as the names do.
func anchorKey(n int64) string { return fmt.Sprintf("%s%016d", AnchorPrefix, n) }

// AnchorNumber returns the checkpoint number of an anchor's object key, and
// false for every other key. Backups use it to copy only the anchors of the
// checkpoints their database snapshot holds.
func AnchorNumber(key string) (int64, bool) {
	rest, ok := strings.CutPrefix(key, AnchorPrefix)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(rest, 10, 64)
	return n, err == nil && len(rest) == 16
}

// LastCheckpoint returns the number of the newest checkpoint that q sees (0 if
// none), for a backup to read in its snapshot.
func LastCheckpoint(ctx context.Context, q sqldb.Querier) (int64, error) {
	var n int64
	if err := q.QueryRowContext(ctx, `SELECT coalesce(max(n), 0) FROM audit_checkpoints`).Scan(&n); err != nil {
		return 0, fmt.Errorf("read the last audit checkpoint: %w", err)
	}
	return n, nil
}

// readHeads reads every chain's head in one statement, so that they agree: each
// head moves in the transaction that adds its event.
func readHeads(ctx context.Context, q sqldb.Querier) ([]head, error) {
	rows, err := q.QueryContext(ctx, `SELECT part, seq, mac, last_seq FROM audit_chains
		UNION ALL SELECT -1, seq, hash, seq FROM audit_head ORDER BY 1`)
	if err != nil {
		return nil, fmt.Errorf("read audit chain heads: %w", err)
	}
	defer rows.Close()
	var out []head
	for rows.Next() {
		var h head
		var mac []byte
		if err := rows.Scan(&h.Part, &h.Count, &mac, &h.Last); err != nil {
			return nil, fmt.Errorf("read audit chain heads: %w", err)
		}
		h.MAC = hex.EncodeToString(mac)
		out = append(out, h)
	}
	return out, rows.Err()
}

// lastSealed returns the newest checkpoint in q, or nil.
func lastSealed(ctx context.Context, q sqldb.Querier) (*sealedCheckpoint, []byte, error) {
	var s sealedCheckpoint
	var mac []byte
	err := q.QueryRowContext(ctx, `SELECT n, body, mac FROM audit_checkpoints ORDER BY n DESC LIMIT 1`).Scan(&s.N, &s.Body, &mac)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, nil, nil
	case err != nil:
		return nil, nil, fmt.Errorf("read the last audit checkpoint: %w", err)
	}
	if err := json.Unmarshal([]byte(s.Body), &s.cp); err != nil {
		return nil, nil, fmt.Errorf("read audit checkpoint %d: %w", s.N, err)
	}
	s.MAC = hex.EncodeToString(mac)
	return &s, mac, nil
}

// Checkpoint records every chain's head, MAC'd and chained to the checkpoint
// before, and anchors it outside the database: sealed into the blob store and
// written to the instance log. When no event was added since the last checkpoint
// it only makes sure that one is anchored. The first checkpoint also seals the
// events written before the log was keyed. A periodic job.
func (l *Log) Checkpoint(ctx context.Context, now time.Time) error {
	var made, last *sealedCheckpoint
	var k *keys
	err := l.db.Tx(ctx, func(tx *sqldb.Tx) error {
		made, last = nil, nil
		heads, err := readHeads(ctx, tx)
		if err != nil {
			return err
		}
		var total int64
		for _, h := range heads {
			total += h.Count
		}
		if total == 0 {
			return nil // nothing to vouch for
		}
		if k, err = l.keysIn(ctx, tx, true); err != nil {
			return fmt.Errorf("audit checkpoint: %w", err)
		}
		var prevMAC []byte
		if last, prevMAC, err = lastSealed(ctx, tx); err != nil {
			return err
		}
		if last != nil && slices.Equal(last.cp.Chains, heads) {
			return nil
		}
		cp := checkpoint{N: 1, At: now.UTC(), Events: total, Chains: heads}
		if last != nil {
			cp.N = last.N + 1
		}
		body, _ := json.Marshal(cp)
		mac := checkpointMAC(k, prevMAC, string(body))
		if _, err := tx.ExecContext(ctx, `INSERT INTO audit_checkpoints (n, at, body, mac) VALUES ($1, $2, $3, $4)`,
			cp.N, sqldb.Millis(cp.At), string(body), mac); err != nil {
			return fmt.Errorf("store audit checkpoint %d: %w", cp.N, err)
		}
		made = &sealedCheckpoint{N: cp.N, Body: string(body), Prev: hex.EncodeToString(prevMAC), MAC: hex.EncodeToString(mac), cp: cp}
		return nil
	})
	if err != nil {
		return err
	}
	switch {
	case made != nil:
		l.log.InfoContext(ctx, "audit checkpoint", "n", made.N, "at", made.cp.At.Format(time.RFC3339Nano),
			"events", made.cp.Events, "mac", made.MAC)
		return l.anchor(ctx, k, made)
	case last != nil && l.anchors != nil:
		_, err := l.anchors.With(k.dk).Stat(ctx, anchorKey(last.N))
		if !errors.Is(err, blob.ErrNotFound) {
			return err
		}
		// The put after it was made failed: put it now.
		prev, err := l.prevMAC(ctx, last.N)
		if err != nil {
			return err
		}
		last.Prev = hex.EncodeToString(prev)
		return l.anchor(ctx, k, last)
	}
	return nil
}

// prevMAC returns the MAC of the checkpoint before n (nil for the first).
func (l *Log) prevMAC(ctx context.Context, n int64) ([]byte, error) {
	var mac []byte
	err := l.db.QueryRowContext(ctx, `SELECT mac FROM audit_checkpoints WHERE n = $1`, n-1).Scan(&mac)
	if errors.Is(err, sql.ErrNoRows) && n == 1 {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read audit checkpoint %d: %w", n-1, err)
	}
	return mac, nil
}

// ErrAnchorTaken means the blob store already holds an anchor, for another
// checkpoint, under the number of a new one: the database's checkpoints were cut
// back (or it was restored beside a newer bucket; see Restored). The old anchor
// is evidence and is never overwritten.
var ErrAnchorTaken = errors.New("an anchor for another checkpoint of that number exists: the audit log was cut back; run medbox audit verify")

// anchor seals s into the blob store, unless an anchor of that number exists.
func (l *Log) anchor(ctx context.Context, k *keys, s *sealedCheckpoint) error {
	if l.anchors == nil {
		return nil
	}
	switch old, err := l.readAnchor(ctx, k, s.N); {
	case err == nil && old.MAC == s.MAC:
		return nil
	case err == nil || !errors.Is(err, blob.ErrNotFound):
		l.log.ErrorContext(ctx, "audit anchor not written: another is in its place", "n", s.N, "err", err)
		return fmt.Errorf("anchor audit checkpoint %d: %w", s.N, ErrAnchorTaken)
	}
	b, _ := json.Marshal(s)
	if err := l.anchors.With(k.dk).Put(ctx, anchorKey(s.N), bytes.NewReader(b), int64(len(b))); err != nil {
		return fmt.Errorf("anchor audit checkpoint %d: %w", s.N, err)
	}
	return nil
}

// readAnchor reads and authenticates the anchor of checkpoint n.
func (l *Log) readAnchor(ctx context.Context, k *keys, n int64) (*sealedCheckpoint, error) {
	return l.readSealed(ctx, k, anchorKey(n), n)
}

// readSealed reads and authenticates checkpoint n stored under key.
func (l *Log) readSealed(ctx context.Context, k *keys, key string, n int64) (*sealedCheckpoint, error) {
	rc, err := l.anchors.With(k.dk).Get(ctx, key, 0, -1)
	if err != nil {
		return nil, fmt.Errorf("anchor of audit checkpoint %d: %w", n, err)
	}
	defer rc.Close()
	var s sealedCheckpoint
	b, err := io.ReadAll(io.LimitReader(rc, 1<<20))
	if err == nil {
		err = json.Unmarshal(b, &s)
	}
	if err == nil && s.N != n {
		err = fmt.Errorf("it holds checkpoint %d", s.N)
	}
	if err == nil {
		err = s.open(k)
	}
	if err != nil {
		return nil, fmt.Errorf("anchor of audit checkpoint %d: %w", n, err)
	}
	return &s, nil
}

// newestAnchor returns the number of the newest anchor in the blob store, 0 if
// there is none.
func (l *Log) newestAnchor(ctx context.Context) (int64, error) {
	var newest int64
	err := l.anchors.List(ctx, AnchorPrefix, func(key string, _ int64) error {
		if n, ok := AnchorNumber(key); ok && n > newest {
			newest = n
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("list audit anchors: %w", err)
	}
	return newest, nil
}
