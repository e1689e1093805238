package seal

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"

	"github.com/minio/sio"

	"github.com/medbox-jp/medbox/internal/blob"
)

// Store seals objects before they reach a backing blob.Store, and opens them on
// the way out. Only ciphertext ever reaches the backing store: objects are
// encrypted as they stream through, never staged in plaintext.
type Store struct {
	raw blob.Store
}

// New returns a Store that keeps its sealed objects in raw.
func New(raw blob.Store) *Store { return &Store{raw: raw} }

// With returns a blob.Store that seals and opens objects with dk. Its sizes,
// ranges and listings are in plaintext bytes. With the zero DataKey every
// operation fails.
func (s *Store) With(dk DataKey) blob.Store { return &sealed{raw: s.raw, dk: dk} }

// List walks the keys stored under prefix without decrypting anything; the sizes
// it reports are the sealed sizes. It is for sweeps that look for objects whose
// owner is gone.
func (s *Store) List(ctx context.Context, prefix string, fn func(key string, sealedSize int64) error) error {
	return s.raw.List(ctx, prefix, fn)
}

// Delete removes a stored object; it needs no key, so it works after DestroyKey.
func (s *Store) Delete(ctx context.Context, key string) error { return s.raw.Delete(ctx, key) }

// DeleteAll removes every stored object whose key starts with prefix.
func (s *Store) DeleteAll(ctx context.Context, prefix string) error {
	var keys []string
	if err := s.raw.List(ctx, prefix, func(key string, _ int64) error {
		keys = append(keys, key)
		return nil
	}); err != nil {
		return fmt.Errorf("delete objects under %q: %w", prefix, err)
	}
	for _, key := range keys {
		if err := s.raw.Delete(ctx, key); err != nil {
			return fmt.Errorf("delete objects under %q: %w", prefix, err)
		}
	}
	return nil
}

// Ping checks the backing store, when it can be checked.
func (s *Store) Ping(ctx context.Context) error {
	if p, ok := s.raw.(blob.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

// sealed is a Store bound to one data key.
type sealed struct {
	raw blob.Store
	dk  DataKey
}

var errNoKey = errors.New("seal: zero data key")

func (s *sealed) check(key string) error {
	if err := blob.ValidKey(key); err != nil {
		return err
	}
	if s.dk.key == nil {
		return errNoKey
	}
	return nil
}

// Ping checks the backing store.
func (s *sealed) Ping(ctx context.Context) error { return (&Store{raw: s.raw}).Ping(ctx) }

// Put encrypts r as it streams to the backing store. With the plaintext size
// known, the backing store is told the exact sealed size.
func (s *sealed) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	if err := s.check(key); err != nil {
		return err
	}
	ok := objectKey(s.dk, key)
	if size >= 0 {
		r = blob.Exact(r, size)
	} else {
		// Find out whether r is empty, which DARE cannot say.
		var first [1]byte
		n, err := io.ReadFull(r, first[:])
		if err != nil && err != io.EOF {
			return fmt.Errorf("seal %s: %w", key, err)
		}
		if n == 0 {
			size = 0
		} else {
			r = io.MultiReader(bytes.NewReader(first[:]), r)
		}
	}
	if size == 0 {
		if _, err := r.Read(make([]byte, 1)); err != io.EOF {
			return fmt.Errorf("seal %s: %w", key, err)
		}
		return s.raw.Put(ctx, key, bytes.NewReader(emptyMarker(ok)), emptySize)
	}
	enc, err := sio.EncryptReader(r, dareConfig(ok, 0))
	if err != nil {
		return fmt.Errorf("seal %s: %w", key, err)
	}
	if size > 0 {
		size = sealedSize(size)
		if size < 0 {
			return fmt.Errorf("seal %s: object too large", key)
		}
	}
	return s.raw.Put(ctx, key, enc, size)
}

// Get fetches just the packages holding the range, decrypts them from the right
// sequence number, and trims them to the range. A range that reaches the end of
// the object reads through the final package, so a cut-off end is detected.
func (s *sealed) Get(ctx context.Context, key string, off, length int64) (io.ReadCloser, error) {
	if err := s.check(key); err != nil {
		return nil, err
	}
	if off < 0 {
		return nil, fmt.Errorf("get %s: negative offset %d", key, off)
	}
	plain, err := s.Stat(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	ok := objectKey(s.dk, key)
	if plain == 0 {
		return s.getEmpty(ctx, key, ok)
	}
	n := max(plain-off, 0)
	if length >= 0 {
		n = min(n, length)
	}
	if n == 0 {
		return io.NopCloser(bytes.NewReader(nil)), nil
	}
	first, last := off/payloadSize, (off+n-1)/payloadSize
	toEnd := off+n == plain
	rawLen := (last - first + 1) * packageSize
	if toEnd {
		rawLen = -1
	}
	rc, err := s.raw.Get(ctx, key, first*packageSize, rawLen)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	dec, err := sio.DecryptReader(rc, dareConfig(ok, uint32(first)))
	if err != nil {
		rc.Close()
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	var r io.Reader = corruptReader{dec}
	if skip := off - first*payloadSize; skip > 0 {
		if _, err := io.CopyN(io.Discard, r, skip); err != nil {
			rc.Close()
			return nil, fmt.Errorf("get %s: %w", key, err)
		}
	}
	if !toEnd {
		r = io.LimitReader(r, n)
	}
	return readCloser{r, rc}, nil
}

// getEmpty checks an empty object's marker.
func (s *sealed) getEmpty(ctx context.Context, key string, ok []byte) (io.ReadCloser, error) {
	rc, err := s.raw.Get(ctx, key, 0, -1)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	defer rc.Close()
	got, err := io.ReadAll(io.LimitReader(rc, emptySize+1))
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	if subtle.ConstantTimeCompare(got, emptyMarker(ok)) != 1 {
		return nil, fmt.Errorf("get %s: %w: bad empty-object marker", key, ErrCorrupt)
	}
	return io.NopCloser(bytes.NewReader(nil)), nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

// Stat returns the plaintext size, computed from the sealed size.
func (s *sealed) Stat(ctx context.Context, key string) (int64, error) {
	if err := s.check(key); err != nil {
		return 0, err
	}
	n, err := s.raw.Stat(ctx, key)
	if err != nil {
		return 0, err
	}
	plain, err := plainSize(n)
	if err != nil {
		return 0, fmt.Errorf("stat %s: %w", key, err)
	}
	return plain, nil
}

// Delete removes the sealed object.
func (s *sealed) Delete(ctx context.Context, key string) error {
	if err := s.check(key); err != nil {
		return err
	}
	return s.raw.Delete(ctx, key)
}

// List reports plaintext sizes.
func (s *sealed) List(ctx context.Context, prefix string, fn func(key string, size int64) error) error {
	if s.dk.key == nil {
		return errNoKey
	}
	return s.raw.List(ctx, prefix, func(key string, size int64) error {
		plain, err := plainSize(size)
		if err != nil {
			return fmt.Errorf("list %q: %s: %w", prefix, key, err)
		}
		return fn(key, plain)
	})
}
