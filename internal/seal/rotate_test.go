package seal_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medbox-jp/medbox/internal/blob/blobtest"
	"github.com/medbox-jp/medbox/internal/clocktest"
	"github.com/medbox-jp/medbox/internal/seal"
	"github.com/medbox-jp/medbox/internal/sqldb"
	"github.com/medbox-jp/medbox/internal/sqldb/sqltest"
)

var now = clocktest.Start()

// sealedFixture makes n data keys and seals one small object under each.
type sealedFixture struct {
	ids   []seal.KeyID
	raw   *blobtest.Memory
	plain func(i int) []byte
}

func newSealedFixture(t *testing.T, db *sqldb.DB, m *seal.Master, n int) *sealedFixture {
	t.Helper()
	f := &sealedFixture{raw: blobtest.NewMemory(), plain: func(i int) []byte { return []byte(fmt.Sprintf("object %d of the fixture", i)) }}
	for i := range n {
		id, dk, err := m.NewKey(t.Context(), db, now)
		if err != nil {
			t.Fatal(err)
		}
		f.ids = append(f.ids, id)
		if err := seal.New(f.raw).With(dk).Put(t.Context(), fmt.Sprintf("f/%d", i), bytes.NewReader(f.plain(i)), -1); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// check opens every object with its key loaded through m.
func (f *sealedFixture) check(t *testing.T, db *sqldb.DB, m *seal.Master) {
	t.Helper()
	for i, id := range f.ids {
		dk, err := m.Key(t.Context(), db, id)
		if err != nil {
			t.Fatalf("Key(%s) = %v", id, err)
		}
		got, err := readAll(t, seal.New(f.raw).With(dk), fmt.Sprintf("f/%d", i), 0, -1)
		if err != nil || !bytes.Equal(got, f.plain(i)) {
			t.Fatalf("object %d after rotation: %q, %v", i, got, err)
		}
	}
}

func masterIDs(t *testing.T, db *sqldb.DB) map[string]int {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), `SELECT master_id, count(*) FROM seal_keys GROUP BY master_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			t.Fatal(err)
		}
		got[id] = n
	}
	return got
}

func TestRotate(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqldb.DB) {
		path := filepath.Join(t.TempDir(), "master.key")
		m, err := seal.LoadOrCreate(path)
		if err != nil {
			t.Fatal(err)
		}
		oldID := m.CurrentID()
		f := newSealedFixture(t, db, m, 450)  // more than two rewrap batches
		stale, err := seal.LoadOrCreate(path) // another instance, started before the rotation
		if err != nil {
			t.Fatal(err)
		}

		n, err := m.Rotate(t.Context(), db)
		if err != nil {
			t.Fatalf("Rotate = %v", err)
		}
		if n != 450 {
			t.Errorf("Rotate rewrapped %d keys, want 450", n)
		}
		newID := m.CurrentID()
		if newID == oldID {
			t.Fatal("current master key unchanged by Rotate")
		}
		if got := masterIDs(t, db); len(got) != 1 || got[newID] != 450 {
			t.Errorf("rows by master key = %v, want all 450 under %s", got, newID)
		}
		text, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(text), oldID) || strings.Count(string(text), "\nkey ") != 1 {
			t.Errorf("key file after rotation still lists the old key or more than one:\n%s", text)
		}
		if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
			t.Errorf("key file mode after rotation = %04o", fi.Mode().Perm())
		}

		// A process started afresh has only the new key and reads everything.
		fresh, err := seal.LoadOrCreate(path)
		if err != nil {
			t.Fatal(err)
		}
		f.check(t, db, fresh)
		// The stale instance re-reads the file on meeting the new master id …
		f.check(t, db, stale)
		// … and wraps new keys with the new master key.
		id, _, err := stale.NewKey(t.Context(), db, now)
		if err != nil {
			t.Fatal(err)
		}
		var mid string
		if err := db.QueryRowContext(t.Context(), `SELECT master_id FROM seal_keys WHERE id = $1`, string(id)).Scan(&mid); err != nil {
			t.Fatal(err)
		}
		if mid != newID {
			t.Errorf("stale instance wrapped a new key under %s, want %s", mid, newID)
		}
	})
}

// TestRotateAfterCrash starts from the state a crash right after step 1 leaves:
// the file lists the old key and a new current one, rows are under the old key.
func TestRotateAfterCrash(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqldb.DB) {
		path := filepath.Join(t.TempDir(), "master.key")
		m, err := seal.LoadOrCreate(path)
		if err != nil {
			t.Fatal(err)
		}
		oldID := m.CurrentID()
		f := newSealedFixture(t, db, m, 30)

		text, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		half := strings.Replace(string(text), "current "+oldID, "current mk-half", 1) +
			"key mk-half " + strings.Repeat("A", 43) + "=\n"
		if err := os.WriteFile(path, []byte(half), 0o600); err != nil {
			t.Fatal(err)
		}

		restarted, err := seal.LoadOrCreate(path)
		if err != nil {
			t.Fatal(err)
		}
		if restarted.CurrentID() != "mk-half" {
			t.Fatalf("current = %s, want mk-half", restarted.CurrentID())
		}
		f.check(t, db, restarted)
		f.ids = append(f.ids, newSealedFixture(t, db, restarted, 1).ids...) // under mk-half
		f.ids = f.ids[:30]

		if _, err := restarted.Rotate(t.Context(), db); err != nil {
			t.Fatalf("Rotate after a crash = %v", err)
		}
		if got := masterIDs(t, db); len(got) != 1 || got[restarted.CurrentID()] != 31 {
			t.Errorf("rows by master key = %v, want all 31 under %s", got, restarted.CurrentID())
		}
		fresh, err := seal.LoadOrCreate(path)
		if err != nil {
			t.Fatal(err)
		}
		f.check(t, db, fresh)
	})
}

func TestRotateKeepsKeysItCannotRewrap(t *testing.T) {
	db := sqltest.OpenSQLite(t)
	path := filepath.Join(t.TempDir(), "master.key")
	m, err := seal.LoadOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	oldID := m.CurrentID()
	newSealedFixture(t, db, m, 3)
	if _, err := db.ExecContext(t.Context(), `INSERT INTO seal_keys (id, master_id, wrapped, created_at) VALUES ('orphan', 'mk-lost', X'00', 0)`); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Rotate(t.Context(), db); err == nil {
		t.Fatal("Rotate succeeded with a row under an unknown master key")
	}
	text, _ := os.ReadFile(path)
	if !strings.Contains(string(text), "key "+oldID) {
		t.Errorf("failed rotation dropped the old key from the file:\n%s", text)
	}
}

func TestKeyLifecycle(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		m, err := seal.LoadOrCreate(filepath.Join(t.TempDir(), "master.key"))
		if err != nil {
			t.Fatal(err)
		}
		f := newSealedFixture(t, db, m, 2)
		f.check(t, db, m)

		// A wrapped key moved to another row does not unwrap there.
		if _, err := db.ExecContext(ctx, `UPDATE seal_keys SET wrapped = (SELECT wrapped FROM seal_keys WHERE id = $1) WHERE id = $2`,
			string(f.ids[0]), string(f.ids[1])); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Key(ctx, db, f.ids[1]); err == nil {
			t.Error("Key() unwrapped a wrapped key copied from another row")
		}

		if err := seal.DestroyKey(ctx, db, f.ids[0]); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Key(ctx, db, f.ids[0]); !errors.Is(err, seal.ErrKeyNotFound) {
			t.Errorf("Key() after DestroyKey = %v, want ErrKeyNotFound", err)
		}
		if err := seal.DestroyKey(ctx, db, f.ids[0]); err != nil {
			t.Errorf("DestroyKey of a destroyed key = %v, want nil", err)
		}

		// Keys from the environment wrap and unwrap but cannot rotate.
		env, err := seal.Parse([]byte(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))))
		if err != nil {
			t.Fatal(err)
		}
		id, _, err := env.NewKey(ctx, db, now)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := env.Key(ctx, db, id); err != nil {
			t.Errorf("Key() with keys from the environment = %v", err)
		}
		if _, err := env.Rotate(ctx, db); err == nil {
			t.Error("Rotate succeeded for keys without a file")
		}
	})
}
