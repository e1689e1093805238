package seal

import (
	"errors"
	"fmt"
	"strings"
)

// DetachedKey is a data key kept outside the database, wrapped by the master key:
// for a backup, whose own database copy cannot hold the key that seals it. It
// names the master key that wrapped it; restoring needs that master key, which is
// never part of the backup.
type DetachedKey struct {
	Label    string `json:"label"`
	MasterID string `json:"master_id"`
	Wrapped  []byte `json:"wrapped"`
}

// NewDetachedKey makes a random data key and wraps it under the current master key,
// bound to label.
func (m *Master) NewDetachedKey(label string) (DataKey, DetachedKey, error) {
	masterID, mk, err := m.currentKey()
	if err != nil {
		return DataKey{}, DetachedKey{}, fmt.Errorf("new detached key: %w", err)
	}
	dk := newDataKey()
	return dk, DetachedKey{Label: label, MasterID: masterID, Wrapped: wrap(mk, masterID, detachedID(label), dk)}, nil
}

// OpenDetachedKey unwraps k. It fails if the master key that wrapped it is no
// longer in the key file, or if k was altered or relabelled.
func (m *Master) OpenDetachedKey(k DetachedKey) (DataKey, error) {
	if k.Label == "" || k.MasterID == "" {
		return DataKey{}, errors.New("open detached key: label and master id are required")
	}
	mk, err := m.key(k.MasterID)
	if err != nil {
		return DataKey{}, fmt.Errorf("open detached key %s: %w", k.Label, err)
	}
	dk, err := unwrap(mk, k.MasterID, detachedID(k.Label), k.Wrapped)
	if err != nil {
		return DataKey{}, fmt.Errorf("open detached key %s: %w", k.Label, err)
	}
	return dk, nil
}

// detachedID keeps detached labels apart from database key ids (hex), so a
// wrapped key cannot be moved between the two.
func detachedID(label string) KeyID {
	return KeyID("detached:" + strings.ReplaceAll(label, "\x00", ""))
}
