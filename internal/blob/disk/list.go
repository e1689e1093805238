package disk

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/medbox-jp/medbox/internal/blob/internal/object"
)

// List walks the directories under prefix. Within a directory, entries are
// visited in the order of their keys: a subdirectory d sorts as "d/", since every
// key below it starts so. That makes the walk produce keys in increasing order
// without collecting them first.
func (s *Store) List(ctx context.Context, prefix string, fn func(key string, size int64) error) error {
	if err := object.ValidPrefix(prefix); err != nil {
		return err
	}
	dir, name := ".", prefix
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		dir, name = prefix[:i], prefix[i+1:]
	}
	err := s.walk(ctx, dir, name, fn)
	if se, ok := err.(stopError); ok {
		return se.err
	}
	if err != nil {
		return fmt.Errorf("list %q: %w", prefix, err)
	}
	return nil
}

// stopError carries fn's error out of the walk untouched.
type stopError struct{ err error }

func (e stopError) Error() string { return e.err.Error() }

type entry struct {
	name  string // as it sorts: a directory with a trailing '/'
	isDir bool
	size  int64
}

func (s *Store) walk(ctx context.Context, dir, namePrefix string, fn func(string, int64) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	entries, err := s.readDir(dir, namePrefix)
	if err != nil {
		return err
	}
	for _, e := range entries {
		key := e.name
		if dir != "." {
			key = dir + "/" + e.name
		}
		if e.isDir {
			if err := s.walk(ctx, strings.TrimSuffix(key, "/"), "", fn); err != nil {
				return err
			}
			continue
		}
		if err := fn(key, e.size); err != nil {
			return stopError{err}
		}
	}
	return nil
}

// readDir returns dir's objects and subdirectories whose names start with
// namePrefix, in key order. Names no key could have (the temporary directory)
// and anything but regular files and directories are left out.
func (s *Store) readDir(dir, namePrefix string) ([]entry, error) {
	d, err := s.root.Open(dir)
	if err != nil {
		if errors.Is(notFound(err), object.ErrNotFound) {
			return nil, nil
		}
		return nil, err
	}
	defer d.Close()
	if fi, err := d.Stat(); err != nil || !fi.IsDir() {
		return nil, err // an object where the prefix wants a directory: nothing below it
	}
	des, err := d.ReadDir(-1)
	if err != nil {
		return nil, err
	}
	var out []entry
	for _, de := range des {
		name := de.Name()
		if !strings.HasPrefix(name, namePrefix) || object.ValidKey(name) != nil {
			continue
		}
		switch t := de.Type(); {
		case t.IsDir():
			out = append(out, entry{name: name + "/", isDir: true})
		case t.IsRegular():
			fi, err := de.Info()
			if errors.Is(err, fs.ErrNotExist) {
				continue // deleted since ReadDir
			}
			if err != nil {
				return nil, err
			}
			out = append(out, entry{name: name, size: fi.Size()})
		}
	}
	slices.SortFunc(out, func(a, b entry) int { return strings.Compare(a.name, b.name) })
	return out, nil
}
