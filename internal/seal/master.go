package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
)

// Master holds the master keys: the current one wraps new data keys, and all of
// them unwrap. It is safe for concurrent use.
type Master struct {
	path string // the key file; "" when parsed from bytes

	mu      sync.RWMutex
	current string
	keys    map[string]*masterKey
	stamp   fileStamp

	rotating sync.Mutex
}

type masterKey struct {
	raw  [32]byte
	aead cipher.AEAD
}

// LoadOrCreate reads the key file at path, or creates it with a new random key
// (mode 0600, in a directory of mode 0700) when there is none. A file that group
// or others may read is refused. Two processes starting at once agree on one key.
func LoadOrCreate(path string) (*Master, error) {
	for range 3 {
		kf, stamp, err := readKeyFile(path)
		if err == nil {
			m := &Master{path: path}
			if err := m.set(kf, stamp); err != nil {
				return nil, err
			}
			return m, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("load master keys: %w", err)
		}
		id, k := newMasterKey()
		err = writeKeyFile(path, keyFile{current: id, keys: map[string][32]byte{id: k}}, true)
		if err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("create master key file: %w", err)
		}
		// Created, or another process won the race: read what is there now.
	}
	return nil, fmt.Errorf("load master keys: %s keeps changing", path)
}

// Parse reads master keys from data in the key file format (see the package's
// key file documentation), for keys given through the environment. A Master from
// Parse cannot Rotate.
func Parse(data []byte) (*Master, error) {
	kf, err := parseKeyFile(data)
	if err != nil {
		return nil, fmt.Errorf("parse master keys: %w", err)
	}
	m := &Master{}
	if err := m.set(kf, fileStamp{}); err != nil {
		return nil, err
	}
	return m, nil
}

// CurrentID returns the id of the key that wraps new data keys.
func (m *Master) CurrentID() string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.current
}

// set takes in the keys of kf, keeping keys already known: a row wrapped by a
// key another process has since dropped stays readable here.
func (m *Master) set(kf keyFile, stamp fileStamp) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	keys := make(map[string]*masterKey, len(m.keys)+len(kf.keys))
	for id, k := range m.keys {
		keys[id] = k
	}
	for id, raw := range kf.keys {
		if old, ok := keys[id]; ok {
			if old.raw != raw {
				return fmt.Errorf("master key %s changed its value", id)
			}
			continue
		}
		block, err := aes.NewCipher(raw[:])
		if err != nil {
			return fmt.Errorf("master key %s: %w", id, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return fmt.Errorf("master key %s: %w", id, err)
		}
		keys[id] = &masterKey{raw: raw, aead: aead}
	}
	m.keys, m.current, m.stamp = keys, kf.current, stamp
	return nil
}

// reload re-reads the key file if it changed since it was read.
func (m *Master) reload(force bool) error {
	if m.path == "" {
		return nil
	}
	if !force {
		fi, err := os.Stat(m.path)
		if err != nil {
			return fmt.Errorf("check master key file: %w", err)
		}
		m.mu.RLock()
		same := stampOf(fi) == m.stamp
		m.mu.RUnlock()
		if same {
			return nil
		}
	}
	kf, stamp, err := readKeyFile(m.path)
	if err != nil {
		return fmt.Errorf("reload master keys: %w", err)
	}
	return m.set(kf, stamp)
}

// key returns the master key id, re-reading the file once if it is unknown:
// another process may have rotated.
func (m *Master) key(id string) (*masterKey, error) {
	for attempt := 0; ; attempt++ {
		m.mu.RLock()
		k, ok := m.keys[id]
		m.mu.RUnlock()
		if ok {
			return k, nil
		}
		if attempt > 0 || m.path == "" {
			return nil, fmt.Errorf("unknown master key %s", id)
		}
		if err := m.reload(true); err != nil {
			return nil, err
		}
	}
}

// currentKey returns the key that wraps new data keys, after checking the file
// for a rotation made elsewhere.
func (m *Master) currentKey() (string, *masterKey, error) {
	if err := m.reload(false); err != nil {
		return "", nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.current, m.keys[m.current], nil
}
