package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/medbox-jp/medbox/internal/backup"
	"github.com/medbox-jp/medbox/internal/clocktest"
	"github.com/medbox-jp/medbox/internal/sqldb/sqltest"
)

// TestBackupDrill (R-X7): the operator's drill through the commands, on each
// engine — seed over HTTP → `medbox backup DEST --keep 2` → wipe → `medbox
// restore` — and the restored instance serves every file as it was, with every
// table's rows and an audit chain that holds; restored after the boxes expired,
// the command sweeps them before anyone can reach them. The rules of backups
// themselves (nothing readable in one, generations never overwritten, refused
// restores, every table in foreign-key order) are internal/backup's own tests.
func TestBackupDrill(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { backupDrill(t, func() string { return "" }) })
	t.Run("postgres", func(t *testing.T) { backupDrill(t, func() string { return sqltest.NewPostgresURL(t) }) })
}

func backupDrill(t *testing.T, newDB func() string) {
	ctx := context.Background()
	srcDB := newDB()
	in := startInstance(t, instanceOptions{database: srcDB, env: smallChunks})
	x := newExchange(t, in)
	line := []byte("紹介状 患者-9f2c")
	files := map[string][32]byte{}
	for i, data := range [][]byte{bytes.Repeat(append(line, '\n'), 30_000), jpeg(80, 700_000)} {
		name := []string{"notes.txt", "scan.jpg"}[i]
		id := x.sender.upload(x.box, name, data)
		files[id] = sha256.Sum256(data)
	}
	x.rcpt.json("POST", "/api/v1/boxes/"+x.box+"/comments", map[string]string{"body": "了解 " + string(line)}, nil)
	in.deliver()
	if err := in.app.Audit.Checkpoint(ctx, in.clock.Now()); err != nil { // anchored before any backup
		t.Fatal(err)
	}
	counts := tableCounts(t, in)

	dest := t.TempDir()
	env := func(data, db string) func(string) string {
		return envOf(map[string]string{"MEDBOX_DATA": data, "MEDBOX_DATABASE": db})
	}
	var out bytes.Buffer
	backupNow := func() error {
		return run(ctx, []string{"backup", dest, "--keep", "2"}, process{getenv: env(in.data, srcDB), stdout: &out, now: in.clock.Now})
	}
	for range 3 { // three generations, a minute apart; keep two
		if err := backupNow(); err != nil {
			t.Fatalf("backup: %v\n%s", err, out.String())
		}
		in.clock.Advance(time.Minute)
	}
	store, _ := openDest(ctx, dest)
	if gens, _ := backup.Generations(ctx, store); len(gens) != 2 {
		t.Errorf("generations kept: %v, want 2", gens)
	}
	keyFile, err := os.ReadFile(filepath.Join(in.data, "master.key"))
	if err != nil {
		t.Fatal(err)
	}

	// Wipe: a new, empty instance that has only the master key.
	fresh := t.TempDir()
	if err := os.WriteFile(filepath.Join(fresh, "master.key"), keyFile, 0o600); err != nil {
		t.Fatal(err)
	}
	dstDB := newDB()
	if err := run(ctx, []string{"restore", dest}, process{getenv: env(fresh, dstDB), stdout: &out, now: in.clock.Now}); err != nil {
		t.Fatalf("restore: %v\n%s", err, out.String())
	}
	// Restored three days later, past the box's 72-hour expiry: what expired
	// since the backup is swept before anyone can reach it.
	late, lateDB := t.TempDir(), newDB()
	if err := os.WriteFile(filepath.Join(late, "master.key"), keyFile, 0o600); err != nil {
		t.Fatal(err)
	}
	later := clocktest.At(in.clock.Now().Add(73 * time.Hour))
	if err := run(ctx, []string{"restore", dest}, process{getenv: env(late, lateDB), stdout: &out, now: later.Now}); err != nil {
		t.Fatalf("restore after expiry: %v\n%s", err, out.String())
	}
	a, err := openTestCommand(t, process{getenv: env(late, lateDB), stdout: &out, now: later.Now})
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"boxes", "files", "comments"} {
		var n int
		if err := a.DB.QueryRowContext(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil || n != 0 {
			t.Errorf("restored after expiry: %d rows in %s (%v); want none", n, table, err)
		}
	}
	a.Close()

	in2 := startInstance(t, instanceOptions{database: dstDB, clock: in.clock, env: map[string]string{"MEDBOX_DATA": fresh, "MEDBOX_CHUNK_SIZE": "256KiB"}})
	got := tableCounts(t, in2)
	for table, n := range counts {
		if table == "jobs" || table == "audit_events" || table == "audit_head" || table == "audit_checkpoints" || table == "sessions" {
			continue // the restored instance has done work of its own since
		}
		if got[table] != n {
			t.Errorf("table %s: %d rows after restore, %d before", table, got[table], n)
		}
	}
	if r, err := in2.app.Audit.Check(ctx); err != nil || r.Anchor == 0 {
		t.Errorf("audit log after restore: %+v, %v; want it intact, with the restored anchors", r, err)
	}
	rcpt := in2.client()
	rcpt.login("rcpt@b.example.jp", "correct horse battery")
	for id, sum := range files {
		status, body, _ := rcpt.do("GET", "/api/v1/files/"+id+"/content", nil, nil)
		if status != http.StatusOK || sha256.Sum256(body) != sum {
			t.Errorf("file %s after restore: %d, sha256 match %v", id, status, sha256.Sum256(body) == sum)
		}
	}
}

// tableCounts returns the row count of every table the backup knows.
func tableCounts(t *testing.T, in *instance) map[string]int {
	out := map[string]int{}
	for _, table := range backup.Tables {
		var n int
		if err := in.db().QueryRowContext(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
			t.Fatalf("count %s: %v", table, err)
		}
		out[table] = n
	}
	return out
}
