package audit

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"math/rand/v2"

	"github.com/medbox-jp/medbox/internal/sqldb"
)

// Chains is the number of keyed chains (the rows of audit_chains). Up to this
// many transactions append at once without waiting for each other.
const Chains = 32

// legacyChain holds the events written before the log was keyed: one SHA-256
// chain whose tip is audit_head, and whose positions are the events' seq.
const legacyChain = -1

// link is where an append goes: a chain, its next position, the MAC of the
// event before, and the event's global seq.
type link struct {
	part int
	pos  int64
	prev []byte
	seq  int64
}

// record appends e to the log inside the caller's transaction: it takes a chain
// head (locked until the transaction ends), links the event to the head and moves
// the head on. The head row holds the last MAC itself: read through the row
// lock, it is always the newest, where a read of the events table in the same
// statement could see a snapshot from before the previous append committed.
func (l *Log) record(ctx context.Context, tx *sqldb.Tx, e Event) error {
	detail, err := check(&e)
	if err != nil {
		return err
	}
	k, err := l.keysIn(ctx, tx, true)
	if err != nil {
		return fmt.Errorf("record audit event %s: %w", e.Action, err)
	}
	at, err := advance(ctx, tx)
	if err != nil {
		return fmt.Errorf("record audit event %s: advance a chain: %w", e.Action, err)
	}
	e.Seq = at.seq
	mac := eventMAC(k.chain, at.prev, at.part, at.pos, e, detail)
	const insert = `INSERT INTO audit_events (seq, at, actor, action, target, box_id, addr, result, detail, part, part_seq, mac)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`
	args := []any{e.Seq, sqldb.Millis(e.At), e.Actor, e.Action, e.Target, e.Box, e.Addr, e.Result, detail, at.part, at.pos, mac}
	if tx.Dialect() == sqldb.Postgres {
		// The event and its head in one round trip, so the head is held briefly.
		_, err = tx.ExecContext(ctx, `WITH e AS (`+insert+`) UPDATE audit_chains SET mac = $12, last_seq = $1 WHERE part = $10`, args...)
	} else if _, err = tx.ExecContext(ctx, insert, args...); err == nil {
		_, err = tx.ExecContext(ctx, `UPDATE audit_chains SET mac = $1, last_seq = $2 WHERE part = $3`, mac, e.Seq, at.part)
	}
	if err != nil {
		return fmt.Errorf("record audit event %s: %w", e.Action, err)
	}
	return nil
}

// advance takes the head of a chain and the next global seq. On PostgreSQL it
// takes a head no other transaction holds (SKIP LOCKED), starting the search at
// a random chain, and waits only when every head is taken; SQLite has one writer
// at a time, so any head will do.
func advance(ctx context.Context, tx *sqldb.Tx) (link, error) {
	var at link
	start := rand.IntN(Chains) // #nosec G404 -- spreads load; not a secret
	scan := func(row *sql.Row) error { return row.Scan(&at.part, &at.pos, &at.prev, &at.seq) }
	if tx.Dialect() == sqldb.Postgres {
		err := scan(tx.QueryRowContext(ctx, `UPDATE audit_chains SET seq = seq + 1
			WHERE part = (SELECT part FROM audit_chains ORDER BY (part + $1) % $2 LIMIT 1 FOR UPDATE SKIP LOCKED)
			RETURNING part, seq, mac, nextval('audit_events_seq')`, start, Chains))
		if errors.Is(err, sql.ErrNoRows) { // every head is held: wait for one
			err = scan(tx.QueryRowContext(ctx, `UPDATE audit_chains SET seq = seq + 1 WHERE part = $1
				RETURNING part, seq, mac, nextval('audit_events_seq')`, start))
		}
		return at, err
	}
	err := scan(tx.QueryRowContext(ctx, `UPDATE audit_chains SET seq = seq + 1 WHERE part = $1
		RETURNING part, seq, mac, (SELECT coalesce(max(seq), 0) + 1 FROM audit_events)`, start))
	return at, err
}

// eventMAC is the keyed link of an event: HMAC-SHA256 over the MAC of the event
// before it in its chain, its chain and position, its global seq and every
// field, each length-prefixed or fixed-width so that no two events encode alike.
func eventMAC(mac func() hash.Hash, prev []byte, part int, pos int64, e Event, detail string) []byte {
	h := mac()
	h.Write([]byte("medbox-audit-v2"))
	writeField(h, prev)
	writeInt(h, int64(part))
	writeInt(h, pos)
	writeInt(h, e.Seq)
	writeInt(h, sqldb.Millis(e.At))
	for _, s := range []string{e.Actor, e.Action, e.Target, e.Box, e.Addr, e.Result, detail} {
		writeField(h, []byte(s))
	}
	return h.Sum(nil)
}

// legacyHash is the unkeyed link of chain -1, as events were written before the
// log was keyed: SHA-256 over the previous hash and every field.
func legacyHash(prev []byte, e Event, detail string) []byte {
	h := sha256.New()
	h.Write([]byte("medbox-audit-v1"))
	writeField(h, prev)
	writeInt(h, e.Seq)
	writeInt(h, sqldb.Millis(e.At))
	for _, s := range []string{e.Actor, e.Action, e.Target, e.Box, e.Addr, e.Result, detail} {
		writeField(h, []byte(s))
	}
	return h.Sum(nil)
}

func writeInt(h hash.Hash, v int64) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(v))
	h.Write(n[:])
}

func writeField(h hash.Hash, b []byte) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(b)))
	h.Write(n[:])
	h.Write(b)
}
