package seal

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/medbox-jp/medbox/internal/sqldb"
)

// KeyID names a data key: the id of its row in seal_keys.
type KeyID string

// DataKey is a 256-bit key that seals one group of objects (a file's chunks, a
// licence proof, a preview). It never prints: fmt, %#v and slog show a
// placeholder, and the bytes sit behind a func, so even reflection-driven
// printing of a struct that holds a DataKey in an unexported field (where fmt
// cannot call the methods) shows only a code address. The zero DataKey seals
// nothing.
type DataKey struct {
	key func() *[32]byte
}

func newDataKey() DataKey {
	k := new([32]byte)
	rand.Read(k[:])
	return DataKey{key: func() *[32]byte { return k }}
}

const redacted = "seal.DataKey(REDACTED)"

// IsZero reports whether dk is the zero DataKey, which holds no key.
func (dk DataKey) IsZero() bool { return dk.key == nil }

// String returns a placeholder, never the key.
func (DataKey) String() string { return redacted }

// GoString returns a placeholder, never the key.
func (DataKey) GoString() string { return redacted }

// Format prints a placeholder for every verb.
func (DataKey) Format(f fmt.State, _ rune) { io.WriteString(f, redacted) }

// LogValue makes slog print a placeholder.
func (DataKey) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalText refuses, so that a DataKey cannot leak through JSON or text encoding.
func (DataKey) MarshalText() ([]byte, error) {
	return nil, errors.New("seal: a data key cannot be marshaled")
}

// ErrKeyNotFound means there is no data key with that id: never made, or destroyed.
var ErrKeyNotFound = errors.New("seal: data key not found")

// wrapFormat is the first byte of a wrapped key: AES-256-GCM, nonce ‖ ciphertext.
const wrapFormat = 1

// NewKey makes a random data key and inserts it, wrapped by the current master
// key, with q — the caller's transaction, so the key exists exactly when the rows
// that use it do.
func (m *Master) NewKey(ctx context.Context, q sqldb.Querier, now time.Time) (KeyID, DataKey, error) {
	var idb [16]byte
	rand.Read(idb[:])
	id := KeyID(hex.EncodeToString(idb[:]))
	dk := newDataKey()
	masterID, mk, err := m.currentKey()
	if err != nil {
		return "", DataKey{}, fmt.Errorf("new data key: %w", err)
	}
	const stmt = `INSERT INTO seal_keys (id, master_id, wrapped, created_at) VALUES ($1, $2, $3, $4)`
	if _, err := q.ExecContext(ctx, stmt, string(id), masterID, wrap(mk, masterID, id, dk), sqldb.Millis(now)); err != nil {
		return "", DataKey{}, fmt.Errorf("store data key %s: %w", id, err)
	}
	return id, dk, nil
}

// Key returns the data key id, unwrapped. ErrKeyNotFound if it does not exist.
func (m *Master) Key(ctx context.Context, q sqldb.Querier, id KeyID) (DataKey, error) {
	var masterID string
	var wrapped []byte
	err := q.QueryRowContext(ctx, `SELECT master_id, wrapped FROM seal_keys WHERE id = $1`, string(id)).Scan(&masterID, &wrapped)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return DataKey{}, fmt.Errorf("load data key %s: %w", id, ErrKeyNotFound)
	case err != nil:
		return DataKey{}, fmt.Errorf("load data key %s: %w", id, err)
	}
	mk, err := m.key(masterID)
	if err != nil {
		return DataKey{}, fmt.Errorf("load data key %s: %w", id, err)
	}
	dk, err := unwrap(mk, masterID, id, wrapped)
	if err != nil {
		return DataKey{}, fmt.Errorf("load data key %s: %w", id, err)
	}
	return dk, nil
}

// DestroyKey deletes the data key id, which makes every object sealed with it
// unreadable for good. It returns nil if the key is already gone.
func DestroyKey(ctx context.Context, q sqldb.Querier, id KeyID) error {
	if _, err := q.ExecContext(ctx, `DELETE FROM seal_keys WHERE id = $1`, string(id)); err != nil {
		return fmt.Errorf("destroy data key %s: %w", id, err)
	}
	return nil
}

// wrapAAD binds a wrapped key to its row and its master key, so a wrapped key
// copied to another row, or relabelled with another master id, does not unwrap.
func wrapAAD(masterID string, id KeyID) []byte {
	return []byte("medbox/seal/key/v1\x00" + string(id) + "\x00" + masterID)
}

func wrap(mk *masterKey, masterID string, id KeyID, dk DataKey) []byte {
	out := make([]byte, 1+mk.aead.NonceSize(), 1+mk.aead.NonceSize()+32+mk.aead.Overhead())
	out[0] = wrapFormat
	rand.Read(out[1:])
	return mk.aead.Seal(out, out[1:], dk.key()[:], wrapAAD(masterID, id)) // #nosec G407 -- the nonce is filled from crypto/rand on the line above
}

func unwrap(mk *masterKey, masterID string, id KeyID, wrapped []byte) (DataKey, error) {
	ns := mk.aead.NonceSize()
	if len(wrapped) != 1+ns+32+mk.aead.Overhead() || wrapped[0] != wrapFormat {
		return DataKey{}, errors.New("wrapped key has the wrong format")
	}
	k := new([32]byte)
	if _, err := mk.aead.Open(k[:0], wrapped[1:1+ns], wrapped[1+ns:], wrapAAD(masterID, id)); err != nil {
		return DataKey{}, fmt.Errorf("unwrap with master key %s: %w", masterID, err)
	}
	return DataKey{key: func() *[32]byte { return k }}, nil
}
