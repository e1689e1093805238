package backup_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/medbox-jp/medbox/internal/backup"
	"github.com/medbox-jp/medbox/internal/blob"
	"github.com/medbox-jp/medbox/internal/box"
	"github.com/medbox-jp/medbox/internal/featuretest"
	"github.com/medbox-jp/medbox/internal/member"
	"github.com/medbox-jp/medbox/internal/sqldb"
	"github.com/medbox-jp/medbox/internal/sqldb/sqltest"
)

// TestMain lets the test binary act as the DICOM worker, for the previews of
// the DICOM file the seed sends.
func TestMain(m *testing.M) { os.Exit(featuretest.Main(m)) }

// engines names the databases a World may stand on.
var engines = []string{"sqlite", "postgres"}

// newDatabase returns a fresh database of engine for featuretest.New.
func newDatabase(t *testing.T, engine string) string {
	if engine == "postgres" {
		return sqltest.NewPostgresURL(t)
	}
	return "" // SQLite in the World's data directory
}

// chunks keeps uploads several chunks long.
var chunks = map[string]string{"MEDBOX_CHUNK_SIZE": "256KiB"}

// canary is what a member sent and wrote; no byte of it may appear in a backup.
var canary = []byte("BACKUP-CANARY-患者-9f2c")

// seeded is what seed put into a World.
type seeded struct {
	sender, rcpt *member.Member
	box          box.ID
	files        map[box.FileID][32]byte // SHA-256 of each file's content
}

// seed fills w as members use it: a box with files several chunks long and a
// comment, opened and downloaded, a second factor, and the mail and previews
// that follow.
func seed(t *testing.T, w *featuretest.World) *seeded {
	t.Helper()
	ctx := context.Background()
	s := &seeded{files: map[box.FileID][32]byte{},
		sender: w.Member(featuretest.NewMember{Email: "sender@a.example.jp", Name: "送 信子", NameKana: "そう しんこ"}),
		rcpt:   w.Member(featuretest.NewMember{Email: "rcpt@b.example.jp", Name: "受 信男", NameKana: "じゅ しんお"}),
	}
	b, err := w.Boxes.Create(ctx, s.sender.ID, box.Draft{Recipients: []member.ID{s.rcpt.ID}, Message: "所見 " + string(canary)}, featuretest.Addr)
	if err != nil {
		t.Fatal(err)
	}
	s.box = b.ID
	notes := bytes.Repeat(append(canary, '\n'), 30_000) // about 750 kB: three chunks
	dcm, err := os.ReadFile(filepath.Join("..", "..", "testdata", "dicom", "ct_small.dcm"))
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"notes.txt": notes, "ct.dcm": dcm} {
		f := w.AddFile(s.sender.ID, s.box, name, data)
		s.files[f.ID] = sha256.Sum256(data)
	}
	if _, err := w.Boxes.AddComment(ctx, s.rcpt.ID, s.box, "了解 "+string(canary), featuretest.Addr); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Boxes.View(ctx, s.rcpt.ID, s.box, featuretest.Addr); err != nil {
		t.Fatal(err)
	}
	w.EnrolTOTP(string(s.rcpt.Email))
	w.RunJobs()
	return s
}

// options are a backup's or a restore's options for w.
func options(w *featuretest.World, keep int) backup.Options {
	return backup.Options{DB: w.DB, Blobs: w.Blobs, Master: w.Master, Now: w.Clock.Now, Keep: keep,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

// rows returns every row of every table of db, each row as text, sorted.
func rows(t *testing.T, db *sqldb.DB) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, table := range backup.Tables {
		rs, err := db.QueryContext(context.Background(), "SELECT * FROM "+table)
		if err != nil {
			t.Fatalf("read %s: %v", table, err)
		}
		cols, _ := rs.Columns()
		vals, ptrs := make([]any, len(cols)), make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		list := []string{}
		for rs.Next() {
			if err := rs.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			for i, v := range vals {
				if raw, ok := v.([]byte); ok {
					v = string(raw)
				}
				fmt.Fprintf(&b, "%s=%v;", cols[i], v)
			}
			list = append(list, b.String())
		}
		if err := rs.Err(); err != nil {
			t.Fatal(err)
		}
		rs.Close()
		sort.Strings(list)
		out[table] = list
	}
	return out
}

// objects returns every object of s by key.
func objects(t *testing.T, s blob.Store) map[string][]byte {
	t.Helper()
	ctx := context.Background()
	out := map[string][]byte{}
	err := s.List(ctx, "", func(k string, _ int64) error {
		rc, err := s.Get(ctx, k, 0, -1)
		if err != nil {
			return err
		}
		defer rc.Close()
		out[k], err = io.ReadAll(rc)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// masterKeys returns the secret bytes of the key file at path, raw and as written.
func masterKeys(t *testing.T, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "key" {
			raw, err := base64.StdEncoding.DecodeString(f[2])
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, raw, []byte(f[2]))
		}
	}
	if len(out) == 0 {
		t.Fatalf("no key in %s", path)
	}
	return out
}

// emptyWith returns a new, empty World on engine that holds the master key file
// keyFile, as an instance being restored does ("" for a key of its own).
func emptyWith(t *testing.T, engine, keyFile string, o featuretest.Options) *featuretest.World {
	t.Helper()
	data := t.TempDir()
	if keyFile != "" {
		b, err := os.ReadFile(keyFile)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(data, "master.key"), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := map[string]string{"MEDBOX_DATA": data}
	for k, v := range o.Env {
		env[k] = v
	}
	o.Env = env
	return featuretest.New(t, newDatabase(t, engine), o)
}
