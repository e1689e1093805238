package seal_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/medbox-jp/medbox/internal/clocktest"
	"github.com/medbox-jp/medbox/internal/seal"
	"github.com/medbox-jp/medbox/internal/sqldb/sqltest"
)

func TestKeyFileCreatedPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secrets", "master.key")
	m, err := seal.LoadOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("key file mode = %04o, want 0600", perm)
	}
	if di, _ := os.Stat(filepath.Dir(path)); di.Mode().Perm() != 0o700 {
		t.Errorf("key directory mode = %04o, want 0700", di.Mode().Perm())
	}
	again, err := seal.LoadOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	if again.CurrentID() != m.CurrentID() {
		t.Errorf("second load has current key %s, want %s", again.CurrentID(), m.CurrentID())
	}
	if ents, _ := os.ReadDir(filepath.Dir(path)); len(ents) != 1 {
		t.Errorf("key directory holds %d entries, want only the key file", len(ents))
	}
}

func TestKeyFileRefusedWhenOthersMayRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	if _, err := seal.LoadOrCreate(path); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []os.FileMode{0o640, 0o604, 0o660} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		if _, err := seal.LoadOrCreate(path); err == nil {
			t.Errorf("LoadOrCreate accepted a key file of mode %04o", mode)
		}
	}
}

func TestConcurrentCreateAgrees(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	ids := make([]string, 8)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() {
			m, err := seal.LoadOrCreate(path)
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = m.CurrentID()
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("concurrent first starts made different keys: %v", ids)
		}
	}
}

func TestParse(t *testing.T) {
	k1 := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32))
	k2 := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{2}, 32))
	tests := []struct {
		name, text string
		wantCur    string // "" means an error is wanted
	}{
		{"file", "# c\nmedbox-master-keys v1\n\ncurrent a\nkey a " + k1 + "\nkey b " + k2 + "\n", "a"},
		{"bare key", k1 + "\n", "mk-"},
		{"no header", "current a\nkey a " + k1, ""},
		{"no current", "medbox-master-keys v1\nkey a " + k1, ""},
		{"current not listed", "medbox-master-keys v1\ncurrent b\nkey a " + k1, ""},
		{"short key", "medbox-master-keys v1\ncurrent a\nkey a " + k1[:20], ""},
		{"duplicate id", "medbox-master-keys v1\ncurrent a\nkey a " + k1 + "\nkey a " + k2, ""},
		{"bad id", "medbox-master-keys v1\ncurrent a/b\nkey a/b " + k1, ""},
		{"unknown line", "medbox-master-keys v1\ncurrent a\nkey a " + k1 + "\nkeys b " + k2, ""},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		m, err := seal.Parse([]byte(tt.text))
		switch {
		case tt.wantCur == "" && err == nil:
			t.Errorf("%s: Parse succeeded, want an error", tt.name)
		case tt.wantCur != "" && err != nil:
			t.Errorf("%s: Parse = %v", tt.name, err)
		case tt.wantCur != "" && !strings.HasPrefix(m.CurrentID(), tt.wantCur):
			t.Errorf("%s: current = %q, want %q…", tt.name, m.CurrentID(), tt.wantCur)
		}
	}
}

func TestDataKeyNeverPrints(t *testing.T) {
	db := sqltest.OpenSQLite(t)
	m, err := seal.LoadOrCreate(filepath.Join(t.TempDir(), "k"))
	if err != nil {
		t.Fatal(err)
	}
	_, dk, err := m.NewKey(t.Context(), db, clocktest.Start())
	if err != nil {
		t.Fatal(err)
	}
	type holder struct {
		Key seal.DataKey
		key seal.DataKey
	}
	var out bytes.Buffer
	for _, f := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d"} {
		fmt.Fprintf(&out, f+"\n", dk)
		fmt.Fprintf(&out, f+"\n", holder{dk, dk})
		fmt.Fprintf(&out, f+"\n", &holder{dk, dk})
	}
	slog.New(slog.NewJSONHandler(&out, nil)).Info("x", "key", dk, "holder", holder{Key: dk})
	slog.New(slog.NewTextHandler(&out, nil)).Info("x", "key", dk)
	if _, err := json.Marshal(holder{Key: dk}); err == nil {
		t.Error("json.Marshal of a DataKey succeeded")
	}
	// The raw key bytes are only reachable inside the package; compare through a
	// sealed object instead: the printed text must not contain any 8-byte run
	// that also starts the key in hex or base64.
	printed := out.String()
	if !strings.Contains(printed, "REDACTED") {
		t.Fatalf("no placeholder in the output:\n%s", printed)
	}
	for _, leak := range seal.KeyEncodingsForTest(dk) {
		if strings.Contains(printed, leak) {
			t.Fatalf("output contains the key (%q):\n%s", leak, printed)
		}
	}
}
