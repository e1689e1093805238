package erase_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/medbox-jp/medbox/internal/box"
	"github.com/medbox-jp/medbox/internal/erase"
	"github.com/medbox-jp/medbox/internal/featuretest"
	"github.com/medbox-jp/medbox/internal/member"
	"github.com/medbox-jp/medbox/internal/sqldb"
)

// TestNothingDeletedRemainsInTheFiles (R-X4) puts a canary into every text a
// member can write — file name, message, comment, name, kana, workplace,
// department — deletes it the three ways MedBox deletes (a box expires, a file is
// deleted early, a member withdraws), lets the erasure pass that the deletion
// queued run at the end of its window, and then reads the database's raw files:
// SQLite's main file and write-ahead log, PostgreSQL's table, index and TOAST
// files. No byte of a canary may be left, and no stored object of a deleted file.
func TestNothingDeletedRemainsInTheFiles(t *testing.T) {
	tests := []struct {
		name   string
		delete func(t *testing.T, w *featuretest.World, c *canaries)
	}{
		{"box expires", func(t *testing.T, w *featuretest.World, c *canaries) {
			w.Clock.Advance(73 * time.Hour)
			if err := w.Boxes.ExpireDue(t.Context(), w.Clock.Now()); err != nil {
				t.Fatal(err)
			}
			c.only = []string{c.fileName, c.message, c.comment} // the member stays
		}},
		{"file deleted early", func(t *testing.T, w *featuretest.World, c *canaries) {
			if err := w.Boxes.DeleteFile(t.Context(), c.sender.ID, c.file, "192.0.2.1"); err != nil {
				t.Fatal(err)
			}
			c.only = []string{c.fileName} // the box, its message and comment stay
		}},
		{"member withdraws", func(t *testing.T, w *featuretest.World, c *canaries) {
			if err := w.Members.Withdraw(t.Context(), c.sender.ID, featuretest.Password, "192.0.2.1"); err != nil {
				t.Fatal(err)
			}
		}},
	}
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c := plant(t, w, strings.ReplaceAll(tt.name, " ", "-"))
				w.RunJobs()
				if hits := c.find(t, w); len(hits) == 0 {
					t.Fatalf("the canaries are not in the files before deleting (%v): the test would prove nothing", c.all())
				}
				tt.delete(t, w, c)
				w.RunJobs() // mail and blob erasure; the compaction waits for its window
				w.Clock.Advance(erase.Window)
				w.RunJobs()
				for canary, where := range c.find(t, w) {
					if c.only == nil || contains(c.only, canary) {
						t.Errorf("%q is still readable in %s", canary, strings.Join(where, ", "))
					}
				}
				if n := countFiles(t, filepath.Join(w.Config.Data, "blobs", box.FilePrefix(c.file))); n != 0 {
					t.Errorf("%d stored objects of the deleted file remain", n)
				}
			})
		}
	})
}

// canaries is one member's words, planted where a member can write them.
type canaries struct {
	sender            *member.Member
	file              box.FileID
	fileName, message string
	comment           string
	name, kana, work  string
	department        string
	only              []string // the canaries this deletion must erase; nil: all
}

func (c *canaries) all() []string {
	return []string{c.fileName, c.message, c.comment, c.name, c.kana, c.work, c.department}
}

func plant(t *testing.T, w *featuretest.World, tag string) *canaries {
	ctx := t.Context()
	c := &canaries{
		fileName: "CANARY-" + tag + "-患者名ファイル.jpg", message: "CANARY-" + tag + "-message 所見",
		comment: "CANARY-" + tag + "-comment 了解", name: "カナリア " + tag, kana: "かなりあ " + strings.ToLower(tag),
		work: "CANARY-" + tag + "-病院", department: "CANARY-" + tag + "-科",
	}
	c.name = "鳥 " + fmt.Sprint(len(tag)) + "号" // names are validated as real names: keep it plain and unique per case
	c.kana = "とり " + kanaOf(tag)
	c.sender = w.Member(featuretest.NewMember{Name: c.name, NameKana: c.kana, Workplace: c.work, Department: c.department,
		Email: "canary-" + tag + "@hospital.example.jp"})
	rcpt := w.Member(featuretest.NewMember{})
	b, err := w.Boxes.Create(ctx, c.sender.ID, box.Draft{Recipients: []member.ID{rcpt.ID}, Message: c.message, ExpiresIn: 72 * time.Hour}, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	data := jpegBytes(t)
	u, err := w.Uploads.Create(ctx, c.sender.ID, b.ID, c.fileName, int64(len(data)), "", "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Uploads.PutChunk(ctx, c.sender.ID, u.ID, 0, bytes.NewReader(data), int64(len(data)), nil); err != nil {
		t.Fatal(err)
	}
	f, err := w.Uploads.Complete(ctx, c.sender.ID, u.ID, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	c.file = f.ID
	if _, err := w.Boxes.AddComment(ctx, rcpt.ID, b.ID, c.comment, "192.0.2.2"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Boxes.AddComment(ctx, c.sender.ID, b.ID, c.comment+" 返信", "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	return c
}

// kanaOf turns a tag into a distinct run of hiragana (names must be kana).
func kanaOf(tag string) string {
	var b strings.Builder
	for _, r := range tag {
		b.WriteRune('あ' + r%40)
	}
	return b.String()
}

// find returns, for each canary still readable, the files it is in.
func (c *canaries) find(t *testing.T, w *featuretest.World) map[string][]string {
	t.Helper()
	files := rawFiles(t, w)
	hits := map[string][]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // a file that went away (a rewritten table) holds nothing
		}
		for _, canary := range c.all() {
			if bytes.Contains(b, []byte(canary)) {
				hits[canary] = append(hits[canary], filepath.Base(f))
			}
		}
	}
	return hits
}

// rawFiles lists the database's own files: SQLite's main file and log, or every
// table, index and TOAST file of the PostgreSQL database, flushed to disk first.
func rawFiles(t *testing.T, w *featuretest.World) []string {
	t.Helper()
	ctx := context.Background()
	if w.DB.Dialect() == sqldb.SQLite {
		base := filepath.Join(w.Config.Data, "medbox.db")
		return []string{base, base + "-wal", base + "-journal"}
	}
	var dir string
	if err := w.DB.QueryRowContext(ctx, `SHOW data_directory`).Scan(&dir); err != nil {
		t.Fatalf("PostgreSQL's data directory (the tests connect as a superuser): %v", err)
	}
	if _, err := w.DB.ExecContext(ctx, `CHECKPOINT`); err != nil {
		t.Fatal(err)
	}
	rows, err := w.DB.QueryContext(ctx, `SELECT pg_relation_filepath(c.oid) FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'i', 't') AND n.nspname IN (current_schema(), 'pg_toast') AND pg_relation_filepath(c.oid) IS NOT NULL`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			t.Fatal(err)
		}
		matches, _ := filepath.Glob(filepath.Join(dir, p) + "*") // with its further segments and forks
		out = append(out, matches...)
	}
	if len(out) == 0 {
		t.Fatal("no PostgreSQL files found")
	}
	return out
}

func countFiles(t *testing.T, dir string) int {
	n := 0
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func jpegBytes(t *testing.T) []byte {
	img := image.NewGray(image.Rect(0, 0, 32, 32))
	for i := range img.Pix {
		img.Pix[i] = byte(i)
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
