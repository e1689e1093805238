// Package disk is the blob store in a local directory: one file per object, each
// key a path under a directory opened with os.Root, so that no key — and no symbolic
// link planted in the tree — can reach a file outside it.
package disk

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sync"
	"syscall"
	"time"

	"github.com/medbox-jp/medbox/internal/blob/internal/object"
)

// tmpDir holds files being written. Its name has a '~', which no key may contain,
// so it can never collide with an object and List never reports it.
const tmpDir = "tmp~"

// Store is a blob store in a directory. It is safe for concurrent use, also by
// several processes sharing the directory.
type Store struct {
	root *os.Root
}

// Open opens the store in dir, creating the directory (mode 0700) if needed.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create blob directory: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open blob directory: %w", err)
	}
	if err := root.MkdirAll(tmpDir, 0o700); err != nil {
		root.Close()
		return nil, fmt.Errorf("create blob temporary directory: %w", err)
	}
	s := &Store{root: root}
	s.removeStale(time.Now().Add(-staleAfter))
	return s, nil
}

// staleAfter is when a temporary file is taken for the leftover of a crash.
const staleAfter = 24 * time.Hour

// removeStale deletes temporary files older than before, left by a process that
// died in a Put. Best effort: a failure here only leaves garbage behind.
func (s *Store) removeStale(before time.Time) {
	d, err := s.root.Open(tmpDir)
	if err != nil {
		return
	}
	defer d.Close()
	entries, _ := d.ReadDir(-1)
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && fi.ModTime().Before(before) {
			s.root.Remove(tmpDir + "/" + e.Name())
		}
	}
}

// Close releases the directory.
func (s *Store) Close() error { return s.root.Close() }

// Ping checks that a file can be created in the directory.
func (s *Store) Ping(ctx context.Context) error {
	f, name, err := s.createTemp()
	if err != nil {
		return fmt.Errorf("ping blob directory: %w", err)
	}
	f.Close()
	if err := s.root.Remove(name); err != nil {
		return fmt.Errorf("ping blob directory: %w", err)
	}
	return nil
}

var copyBufs = sync.Pool{New: func() any { return new([256 << 10]byte) }}

// Put writes r to a temporary file, flushes it to stable storage, renames it over
// key and flushes the directory, so that the object appears whole or not at all.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	if err := object.ValidKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	f, tmp, err := s.createTemp()
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	committed := false
	defer func() {
		if !committed {
			f.Close()
			s.root.Remove(tmp)
		}
	}()
	if size >= 0 {
		r = object.Exact(r, size)
	}
	buf := copyBufs.Get().(*[256 << 10]byte)
	_, err = io.CopyBuffer(struct{ io.Writer }{f}, object.ContextReader(ctx, r), buf[:])
	copyBufs.Put(buf)
	if err != nil {
		return fmt.Errorf("put %s: write: %w", key, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("put %s: flush: %w", key, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("put %s: close: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	if err := s.publish(tmp, key); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	committed = true
	return nil
}

func (s *Store) createTemp() (*os.File, string, error) {
	var b [12]byte
	rand.Read(b[:])
	name := tmpDir + "/" + hex.EncodeToString(b[:])
	f, err := s.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, "", fmt.Errorf("create temporary file: %w", err)
	}
	return f, name, nil
}

// publish renames tmp to key, creating the key's directories, and makes the new
// names durable. A concurrent Delete may remove an emptied directory between the
// MkdirAll and the Rename, so that pair is retried.
func (s *Store) publish(tmp, key string) error {
	dir := path.Dir(key)
	for attempt := 0; ; attempt++ {
		created, err := s.mkdirs(dir)
		if err != nil {
			return err
		}
		err = s.root.Rename(tmp, key)
		if err == nil {
			return s.syncDirs(dir, created)
		}
		if !errors.Is(err, fs.ErrNotExist) || attempt == 10 {
			return fmt.Errorf("rename into place: %w", err)
		}
	}
}

// mkdirs makes dir and reports whether it had to create anything.
func (s *Store) mkdirs(dir string) (created bool, err error) {
	if dir == "." {
		return false, nil
	}
	if fi, err := s.root.Stat(dir); err == nil && fi.IsDir() {
		return false, nil
	}
	if err := s.root.MkdirAll(dir, 0o700); err != nil {
		return false, fmt.Errorf("create directory %s: %w", dir, err)
	}
	return true, nil
}

// syncDirs flushes dir, and its ancestors too when some of them were just made.
func (s *Store) syncDirs(dir string, ancestors bool) error {
	for {
		if err := s.syncDir(dir); err != nil {
			return err
		}
		if !ancestors || dir == "." {
			return nil
		}
		dir = path.Dir(dir)
	}
}

func (s *Store) syncDir(dir string) error {
	d, err := s.root.Open(dir)
	if err != nil {
		return fmt.Errorf("open directory %s to flush it: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("flush directory %s: %w", dir, err)
	}
	return nil
}

// Get opens the object and seeks to off.
func (s *Store) Get(ctx context.Context, key string, off, length int64) (io.ReadCloser, error) {
	if err := object.ValidKey(key); err != nil {
		return nil, err
	}
	if off < 0 {
		return nil, fmt.Errorf("get %s: negative offset %d", key, off)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	f, size, err := s.open(key)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	n := object.Range(off, length, size)
	if n > 0 {
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			f.Close()
			return nil, fmt.Errorf("get %s: seek: %w", key, err)
		}
	}
	return object.ReadCloser{Reader: object.ContextReader(ctx, io.LimitReader(f, n)), Closer: f}, nil
}

// open opens key's file and returns its size; ErrNotFound if it is not a file.
func (s *Store) open(key string) (*os.File, int64, error) {
	f, err := s.root.Open(key)
	if err != nil {
		return nil, 0, notFound(err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, 0, object.ErrNotFound
	}
	return f, fi.Size(), nil
}

// Stat returns the size of key's file.
func (s *Store) Stat(ctx context.Context, key string) (int64, error) {
	if err := object.ValidKey(key); err != nil {
		return 0, err
	}
	fi, err := s.root.Stat(key)
	if err != nil {
		return 0, fmt.Errorf("stat %s: %w", key, notFound(err))
	}
	if !fi.Mode().IsRegular() {
		return 0, fmt.Errorf("stat %s: %w", key, object.ErrNotFound)
	}
	return fi.Size(), nil
}

// Delete removes key's file, flushes its directory and removes directories it
// leaves empty.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := object.ValidKey(key); err != nil {
		return err
	}
	if fi, err := s.root.Lstat(key); err != nil || fi.IsDir() {
		if err == nil || errors.Is(notFound(err), object.ErrNotFound) {
			return nil
		}
		return fmt.Errorf("delete %s: %w", key, err)
	}
	if err := s.root.Remove(key); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	dir := path.Dir(key)
	if err := s.syncDir(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	for ; dir != "."; dir = path.Dir(dir) {
		if s.root.Remove(dir) != nil { // not empty (or gone): stop pruning
			break
		}
	}
	return nil
}

// notFound turns "no such file" and "not a directory" (a key below an object)
// into ErrNotFound, keeping other errors — such as a path escaping the root.
func notFound(err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return object.ErrNotFound
	}
	return err
}
