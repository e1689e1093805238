package audit

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/medbox-jp/medbox/internal/sqldb"
)

// chainState is what the walk knows of one chain.
type chainState struct {
	count   int64  // events seen
	lastSeq int64  // seq of the last one
	mac     []byte // its stored link
}

// events walks every chain in position order, then compares each chain's end
// with its head row and with the claims.
func (v *verifier) events(ctx context.Context) error {
	rows, err := v.q.QueryContext(ctx, `SELECT `+eventColumns+`, part, part_seq, prev_hash, hash, mac
		FROM audit_events ORDER BY part, part_seq, seq`)
	if err != nil {
		return fmt.Errorf("read events: %w", err)
	}
	defer rows.Close()
	chains := map[int]*chainState{}
	for rows.Next() {
		var e Event
		var at, pos int64
		var part int
		var detail string
		var prevHash, hash, mac []byte
		if err := rows.Scan(&e.Seq, &at, &e.Actor, &e.Action, &e.Target, &e.Box, &e.Addr, &e.Result, &detail,
			&part, &pos, &prevHash, &hash, &mac); err != nil {
			return fmt.Errorf("read events: %w", err)
		}
		e.At = sqldb.FromMillis(at)
		v.report.Events++
		if part < legacyChain || part >= Chains {
			v.problem(e.Seq, part, 0, "event %d names chain %d, which does not exist: inserted", e.Seq, part)
			continue
		}
		c := chains[part]
		if c == nil {
			c = &chainState{mac: make([]byte, sha256.Size)}
			chains[part] = c
		}
		v.link(c, part, pos, e, detail, prevHash, hash, mac)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read events: %w", err)
	}
	heads, err := readHeads(ctx, v.q)
	if err != nil {
		return err
	}
	headOf := map[int]head{}
	for _, h := range heads {
		headOf[h.Part] = h
	}
	for part := legacyChain; part < Chains; part++ {
		c := chains[part]
		if c == nil {
			c = &chainState{mac: make([]byte, sha256.Size)}
		}
		v.ends(part, c, headOf[part])
	}
	v.report.Unanchored = max(0, v.report.Events-v.anchored)
	return nil
}

// link checks one event against the one before it in its chain.
func (v *verifier) link(c *chainState, part int, pos int64, e Event, detail string, prevHash, hash, mac []byte) {
	want := c.count + 1
	stored := mac
	if part == legacyChain {
		stored = hash
	}
	switch {
	case pos < want:
		v.problem(e.Seq, part, 0, "event %d of chain %d appears twice (again as seq %d): inserted", pos, part, e.Seq)
		return
	case pos > want && want == 1:
		v.problem(e.Seq, part, 0, "%s of chain %d removed: its first event is event %d (seq %d)",
			plural(pos-want, "event"), part, pos, e.Seq)
	case pos > want:
		v.problem(e.Seq, part, 0, "%s of chain %d removed: event %d (seq %d) follows event %d (seq %d)",
			plural(pos-want, "event"), part, pos, e.Seq, want-1, c.lastSeq)
	case e.Seq <= c.lastSeq:
		v.problem(e.Seq, part, 0, "event %d of chain %d has seq %d, not after %d: moved", pos, part, e.Seq, c.lastSeq)
	case part == legacyChain && e.Seq != pos:
		v.problem(e.Seq, part, 0, "event %d of the chain from before keying has seq %d: moved", pos, e.Seq)
	case part == legacyChain && !bytes.Equal(prevHash, c.mac):
		v.problem(e.Seq, part, 0, "event %d of chain -1: its previous-hash link does not match event %d", pos, pos-1)
	case part == legacyChain && !bytes.Equal(legacyHash(c.mac, e, detail), hash):
		v.problem(e.Seq, part, 0, "event %d of chain -1: its content does not match its hash: changed", pos)
	case part != legacyChain && v.k == nil:
		v.problem(e.Seq, part, 0, "a keyed event, but the database has no audit key")
	case part != legacyChain && !hmac.Equal(eventMAC(v.k.chain, c.mac, part, pos, e, detail), mac):
		v.problem(e.Seq, part, 0, "event %d of chain %d does not match its MAC: changed, forged, or the event before it in the chain was", pos, part)
	}
	for _, cl := range v.claims {
		if h, ok := cl.heads[part]; ok && h.Count == pos && (h.Last != e.Seq || h.MAC != hex.EncodeToString(stored)) {
			v.problem(e.Seq, part, cl.n, "event %d of chain %d is not the one %s recorded (seq %d)", pos, part, cl.from, h.Last)
		}
	}
	c.count, c.lastSeq, c.mac = pos, e.Seq, stored
}

// ends compares where a chain ends with its head row and the claims. Of those
// that say the chain was longer, the longest is reported.
func (v *verifier) ends(part int, c *chainState, h head) {
	longest, by, byN := h, "its head", int64(0)
	for _, cl := range v.claims {
		ch, ok := cl.heads[part]
		switch {
		case !ok && c.count > 0:
			v.problem(0, part, cl.n, "%s does not know chain %d", cl.from, part)
		case !ok:
		case ch.Count > longest.Count:
			longest, by, byN = ch, cl.from, cl.n
		case part == legacyChain && ch.Count < c.count:
			v.problem(ch.Last+1, part, cl.n, "the chain from before keying has %d events, but %s sealed %d: events added after seq %d",
				c.count, cl.from, ch.Count, ch.Last)
		}
	}
	at := c.lastSeq
	if at == 0 {
		at = max(h.Last, 1)
	}
	switch {
	case longest.Count > c.count:
		// Exactly one event gone: the claim names it. More: they follow the last
		// that survives.
		first := c.lastSeq + 1
		if longest.Count-c.count == 1 {
			first = longest.Last
		}
		if c.count == 0 {
			v.problem(first, part, byN, "chain %d is empty, but %s says it had %d, up to seq %d: all removed", part, by, longest.Count, longest.Last)
			return
		}
		v.problem(first, part, byN, "chain %d ends at its event %d (seq %d), but %s says it had %d, up to seq %d: %s after seq %d removed",
			part, c.count, c.lastSeq, by, longest.Count, longest.Last, plural(longest.Count-c.count, "event"), c.lastSeq)
	case h.Count < c.count:
		v.problem(at, part, 0, "chain %d holds %d events, but its head says %d: events added after seq %d without their head",
			part, c.count, h.Count, h.Last)
	case h.MAC != hex.EncodeToString(c.mac) || h.Last != c.lastSeq && c.count > 0:
		v.problem(at, part, 0, "the head of chain %d does not match its last event (seq %d)", part, c.lastSeq)
	}
}

func plural(n int64, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
