package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash"

	"github.com/medbox-jp/medbox/internal/seal"
	"github.com/medbox-jp/medbox/internal/sqldb"
)

// The labels of the two MAC keys derived from the audit key. A checkpoint MAC
// can never pass for an event MAC.
const (
	chainLabel      = "medbox/audit/chain/v2"
	checkpointLabel = "medbox/audit/checkpoint/v2"
)

// keys are what the audit key gives: the MAC keys of events and checkpoints, and
// the data key that seals anchors.
type keys struct {
	id         seal.KeyID
	dk         seal.DataKey
	chain      func() hash.Hash
	checkpoint func() hash.Hash
}

func newKeys(id seal.KeyID, dk seal.DataKey) (*keys, error) {
	chain, err := dk.MAC(chainLabel)
	if err != nil {
		return nil, err
	}
	cp, err := dk.MAC(checkpointLabel)
	if err != nil {
		return nil, err
	}
	return &keys{id: id, dk: dk, chain: chain, checkpoint: cp}, nil
}

// errNoKey means the log has no audit key yet: nothing keyed was ever written.
var errNoKey = errors.New("the audit log has no key yet")

// readKeys opens the audit key named in audit_key. errNoKey if there is none.
func (l *Log) readKeys(ctx context.Context, q sqldb.Querier) (*keys, error) {
	var id string
	err := q.QueryRowContext(ctx, `SELECT key_id FROM audit_key WHERE id = 1`).Scan(&id)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, errNoKey
	case err != nil:
		return nil, fmt.Errorf("read the audit key: %w", err)
	}
	dk, err := l.master.Key(ctx, q, seal.KeyID(id))
	if err != nil {
		return nil, fmt.Errorf("open the audit key: %w", err)
	}
	return newKeys(seal.KeyID(id), dk)
}

// keysIn returns the audit key for work in tx, making it on the first keyed
// append (create). A key is remembered only once the transaction that read or
// made it has committed, so a rolled-back key is never used again.
func (l *Log) keysIn(ctx context.Context, tx *sqldb.Tx, create bool) (*keys, error) {
	if k := l.cached.Load(); k != nil {
		return k, nil
	}
	k, err := l.readKeys(ctx, tx)
	if errors.Is(err, errNoKey) && create {
		k, err = l.makeKey(ctx, tx)
	}
	if err != nil {
		return nil, err
	}
	tx.AfterCommit(func() { l.cached.CompareAndSwap(nil, k) })
	return k, nil
}

// makeKey makes the audit key in tx. When another transaction made one first,
// its key wins and the new one is destroyed.
func (l *Log) makeKey(ctx context.Context, tx *sqldb.Tx) (*keys, error) {
	now := l.now()
	id, dk, err := l.master.NewKey(ctx, tx, now)
	if err != nil {
		return nil, fmt.Errorf("make the audit key: %w", err)
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO audit_key (id, key_id, created_at) VALUES (1, $1, $2) ON CONFLICT (id) DO NOTHING`,
		string(id), sqldb.Millis(now))
	if err != nil {
		return nil, fmt.Errorf("make the audit key: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		if err := seal.DestroyKey(ctx, tx, id); err != nil {
			return nil, err
		}
		return l.readKeys(ctx, tx)
	}
	return newKeys(id, dk)
}
