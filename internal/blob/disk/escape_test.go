package disk_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/medbox-jp/medbox/internal/blob"
	"github.com/medbox-jp/medbox/internal/blob/disk"
)

// TestKeysCannotEscape plants symbolic links in the store's tree that point
// outside it, and checks that no operation reads, writes or deletes through them.
func TestKeysCannotEscape(t *testing.T) {
	base := t.TempDir()
	outside := filepath.Join(base, "outside")
	if err := os.MkdirAll(outside, 0o700); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(outside, "secret")
	if err := os.WriteFile(secret, []byte("outside the store"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(base, "blobs")
	s, err := disk.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	for link, target := range map[string]string{
		"linkdir":  outside,                        // absolute link to a directory
		"rel":      filepath.Join("..", "outside"), // relative link climbing out
		"linkfile": secret,                         // link straight to a file
	} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	ctx := t.Context()
	for _, key := range []string{"linkdir/secret", "rel/secret", "linkfile"} {
		if rc, err := s.Get(ctx, key, 0, -1); err == nil {
			b, _ := io.ReadAll(rc)
			rc.Close()
			t.Errorf("Get(%q) read %q from outside the store", key, b)
		}
		if _, err := s.Stat(ctx, key); err == nil {
			t.Errorf("Stat(%q) succeeded through a link out of the store", key)
		}
	}
	var listed []string
	if err := s.List(ctx, "", func(k string, _ int64) error { listed = append(listed, k); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(listed) != 0 {
		t.Errorf("List shows %q; links are not objects", listed)
	}
	for _, key := range []string{"linkdir/secret", "rel/secret", "linkdir/new"} {
		if err := s.Put(ctx, key, strings.NewReader("overwritten"), -1); err == nil {
			t.Errorf("Put(%q) succeeded through a link out of the store", key)
		}
		s.Delete(ctx, key)
	}
	// Putting over the link to a file replaces the link, inside the store.
	if err := s.Put(ctx, "linkfile", strings.NewReader("overwritten"), -1); err != nil {
		t.Errorf("Put(linkfile) = %v", err)
	}
	if err := s.Delete(ctx, "linkfile"); err != nil {
		t.Errorf("Delete(linkfile) = %v", err)
	}
	if b, err := os.ReadFile(secret); err != nil || string(b) != "outside the store" {
		t.Errorf("file outside the store is now %q, %v", b, err)
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 1 {
		t.Errorf("directory outside the store has %d entries, want 1", len(ents))
	}

	// Keys that would name paths outside are refused before any file is touched.
	for _, key := range []string{"../outside/secret", "/etc/passwd", filepath.Join(outside, "secret"), "a/../../x"} {
		if _, err := s.Stat(ctx, key); !errors.Is(err, blob.ErrBadKey) {
			t.Errorf("Stat(%q) = %v, want ErrBadKey", key, err)
		}
	}
}

// TestNoLeftovers checks that failed Puts leave no temporary files and that
// Delete removes the directories it empties.
func TestNoLeftovers(t *testing.T) {
	dir := t.TempDir()
	s, err := disk.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := t.Context()
	boom := errors.New("boom")
	if err := s.Put(ctx, "f/a/1", io.MultiReader(strings.NewReader("part"), errReader{boom}), -1); !errors.Is(err, boom) {
		t.Errorf("Put(failing reader) = %v, want %v", err, boom)
	}
	if err := s.Put(ctx, "f/a/1", bytes.NewReader(make([]byte, 10)), 11); !errors.Is(err, blob.ErrSize) {
		t.Errorf("Put(short) = %v, want ErrSize", err)
	}
	if err := s.Put(ctx, "f/a/2", strings.NewReader("kept"), 4); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "f/b/1", strings.NewReader("gone"), 4); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "f/b/1"); err != nil {
		t.Fatal(err)
	}
	var files []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		rel, _ := filepath.Rel(dir, p)
		files = append(files, filepath.ToSlash(rel))
		return err
	})
	want := ". f f/a f/a/2 tmp~"
	if got := strings.Join(files, " "); got != want {
		t.Errorf("files on disk = %q, want %q", got, want)
	}
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping() = %v", err)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// TestStaleTemporaryFilesRemoved plants what a crash in Put leaves behind.
func TestStaleTemporaryFilesRemoved(t *testing.T) {
	dir := t.TempDir()
	tmp := filepath.Join(dir, "tmp~")
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	old, fresh := filepath.Join(tmp, "old"), filepath.Join(tmp, "fresh")
	for _, p := range []string{old, fresh} {
		if err := os.WriteFile(p, []byte("sealed bytes"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	long := time.Now().Add(-48 * time.Hour)
	if err := os.Chtimes(old, long, long); err != nil {
		t.Fatal(err)
	}
	s, err := disk.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := os.Stat(old); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale temporary file still there: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("recent temporary file (a Put in progress elsewhere) removed: %v", err)
	}
}
