// Package blobtest holds what every blob.Store must do, as a test suite (Run) that
// each backend and the encryption wrapper pass, and an honest in-memory Store
// (NewMemory) for tests of packages that store objects.
package blobtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/medbox-jp/medbox/internal/blob"
	"github.com/medbox-jp/medbox/internal/blob/internal/object"
)

// Memory is a blob.Store in memory. It keeps the contract — atomic replacement,
// exact sizes, sorted listing — so tests that use it test real behaviour.
type Memory struct {
	mu   sync.RWMutex
	objs map[string][]byte // never modified once stored; Put swaps in a new slice
}

var (
	_ blob.Store  = (*Memory)(nil)
	_ blob.Pinger = (*Memory)(nil)
)

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory { return &Memory{objs: make(map[string][]byte)} }

// Bytes returns a copy of the object stored under key, or nil if there is none.
func (m *Memory) Bytes(key string) []byte {
	m.mu.RLock()
	defer m.mu.RUnlock()
	b, ok := m.objs[key]
	if !ok {
		return nil
	}
	return bytes.Clone(b)
}

// Ping always succeeds.
func (m *Memory) Ping(ctx context.Context) error { return nil }

// Put reads all of r before replacing the object, so a failed read leaves the old one.
func (m *Memory) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	if err := blob.ValidKey(key); err != nil {
		return err
	}
	b, err := readAll(object.ContextReader(ctx, r), size)
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	m.mu.Lock()
	m.objs[key] = b
	m.mu.Unlock()
	return nil
}

// Get returns a reader over the stored bytes.
func (m *Memory) Get(ctx context.Context, key string, off, length int64) (io.ReadCloser, error) {
	if err := blob.ValidKey(key); err != nil {
		return nil, err
	}
	if off < 0 {
		return nil, fmt.Errorf("get %s: negative offset %d", key, off)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	m.mu.RLock()
	b, ok := m.objs[key]
	m.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("get %s: %w", key, blob.ErrNotFound)
	}
	n := object.Range(off, length, int64(len(b)))
	if n > 0 {
		b = b[off : off+n]
	} else {
		b = nil
	}
	return io.NopCloser(object.ContextReader(ctx, bytes.NewReader(b))), nil
}

// Stat returns the stored object's length.
func (m *Memory) Stat(ctx context.Context, key string) (int64, error) {
	if err := blob.ValidKey(key); err != nil {
		return 0, err
	}
	m.mu.RLock()
	b, ok := m.objs[key]
	m.mu.RUnlock()
	if !ok {
		return 0, fmt.Errorf("stat %s: %w", key, blob.ErrNotFound)
	}
	return int64(len(b)), nil
}

// Delete forgets the object.
func (m *Memory) Delete(ctx context.Context, key string) error {
	if err := blob.ValidKey(key); err != nil {
		return err
	}
	m.mu.Lock()
	delete(m.objs, key)
	m.mu.Unlock()
	return nil
}

// List calls fn on a snapshot of the matching keys, without holding the lock, so
// fn may use the store.
func (m *Memory) List(ctx context.Context, prefix string, fn func(key string, size int64) error) error {
	if err := blob.ValidPrefix(prefix); err != nil {
		return err
	}
	type obj struct {
		key  string
		size int64
	}
	var objs []obj
	m.mu.RLock()
	for k, b := range m.objs {
		if strings.HasPrefix(k, prefix) {
			objs = append(objs, obj{k, int64(len(b))})
		}
	}
	m.mu.RUnlock()
	slices.SortFunc(objs, func(a, b obj) int { return strings.Compare(a.key, b.key) })
	for _, o := range objs {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("list %q: %w", prefix, err)
		}
		if err := fn(o.key, o.size); err != nil {
			return err
		}
	}
	return nil
}

// readAll reads r, which must hold exactly size bytes unless size is -1, into one
// allocation when the size is known.
func readAll(r io.Reader, size int64) ([]byte, error) {
	if size < 0 {
		return io.ReadAll(r)
	}
	r = object.Exact(r, size)
	b := make([]byte, size)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	if _, err := r.Read(make([]byte, 1)); err != io.EOF {
		return nil, err
	}
	return b, nil
}
