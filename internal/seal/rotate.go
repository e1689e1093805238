package seal

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"github.com/medbox-jp/medbox/internal/sqldb"
)

// rotateBatch is how many rows one rewrap transaction touches, so that rotation
// never holds a write lock for long while the service runs.
const rotateBatch = 200

// Rotate replaces the master keys with a new one while the service runs, and
// returns how many data keys it rewrapped. Every step leaves a consistent state,
// so a crash at any point loses nothing and Rotate can simply be run again:
//
//  1. A new key is added to the key file as the current one (atomic replace).
//     From then on every process wraps new data keys with it: NewKey checks the
//     file for changes, and Key re-reads it on meeting an unknown master id.
//  2. Every row under another master key is rewrapped, in small transactions.
//  3. The key file is rewritten with only the new key.
//  4. Rows another process wrapped with an old key before it saw the new file
//     are rewrapped once more, with the old keys this process still holds.
//
// Only one Rotate may run at a time (it is an administrator's command).
func (m *Master) Rotate(ctx context.Context, db *sqldb.DB) (n int, err error) {
	if m.path == "" {
		return 0, errors.New("rotate master key: keys from the environment cannot rotate; use a key file")
	}
	m.rotating.Lock()
	defer m.rotating.Unlock()
	if err := m.reload(true); err != nil {
		return 0, fmt.Errorf("rotate master key: %w", err)
	}
	kf, _, err := readKeyFile(m.path)
	if err != nil {
		return 0, fmt.Errorf("rotate master key: %w", err)
	}
	newID, newKey := newMasterKey()
	kf.keys = maps.Clone(kf.keys)
	kf.keys[newID] = newKey
	kf.current = newID
	if err := m.writeAndLoad(kf); err != nil {
		return 0, fmt.Errorf("rotate master key: add the new key: %w", err)
	}
	n, err = m.rewrapAll(ctx, db, newID)
	if err != nil {
		return n, fmt.Errorf("rotate master key: %w", err)
	}
	final := keyFile{current: newID, keys: map[string][32]byte{newID: newKey}}
	if err := m.writeAndLoad(final); err != nil {
		return n, fmt.Errorf("rotate master key: drop the old keys: %w", err)
	}
	late, err := m.rewrapAll(ctx, db, newID)
	if err != nil {
		return n + late, fmt.Errorf("rotate master key: %w", err)
	}
	return n + late, nil
}

func (m *Master) writeAndLoad(kf keyFile) error {
	if err := writeKeyFile(m.path, kf, false); err != nil {
		return err
	}
	return m.reload(true)
}

// rewrapAll rewraps, batch by batch, every row not under the master key to.
func (m *Master) rewrapAll(ctx context.Context, db *sqldb.DB, to string) (int, error) {
	total := 0
	for {
		var n int
		err := db.Tx(ctx, func(tx *sqldb.Tx) error {
			var err error
			n, err = m.rewrapBatch(ctx, tx, to)
			return err
		})
		total += n
		if err != nil {
			return total, err
		}
		if n == 0 {
			return total, nil
		}
	}
}

func (m *Master) rewrapBatch(ctx context.Context, tx *sqldb.Tx, to string) (int, error) {
	toKey, err := m.key(to)
	if err != nil {
		return 0, err
	}
	type row struct {
		id       KeyID
		masterID string
		wrapped  []byte
	}
	const q = `SELECT id, master_id, wrapped FROM seal_keys WHERE master_id <> $1 ORDER BY id LIMIT $2`
	rows, err := tx.QueryContext(ctx, q, to, rotateBatch)
	if err != nil {
		return 0, fmt.Errorf("find keys to rewrap: %w", err)
	}
	var batch []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.masterID, &r.wrapped); err != nil {
			rows.Close()
			return 0, fmt.Errorf("find keys to rewrap: %w", err)
		}
		batch = append(batch, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("find keys to rewrap: %w", err)
	}
	for _, r := range batch {
		from, err := m.key(r.masterID)
		if err != nil {
			return 0, fmt.Errorf("rewrap data key %s: %w", r.id, err)
		}
		dk, err := unwrap(from, r.masterID, r.id, r.wrapped)
		if err != nil {
			return 0, fmt.Errorf("rewrap data key %s: %w", r.id, err)
		}
		const u = `UPDATE seal_keys SET master_id = $1, wrapped = $2 WHERE id = $3 AND master_id = $4`
		if _, err := tx.ExecContext(ctx, u, to, wrap(toKey, to, r.id, dk), string(r.id), r.masterID); err != nil {
			return 0, fmt.Errorf("rewrap data key %s: %w", r.id, err)
		}
	}
	return len(batch), nil
}
