package main

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/medbox-jp/medbox/internal/erase"
)

// TestErasedWithinAMinuteOnARunningServer (R-X4): on a running instance — its
// own job workers, nothing run by hand — a file deleted early leaves no byte of
// its name in the SQLite file or its log within a minute of the deletion (the
// erasure window on the instance's clock, then the workers' poll in real time).
// internal/erase tests every kind of deletion and text on both databases.
func TestErasedWithinAMinuteOnARunningServer(t *testing.T) {
	in := startInstance(t, instanceOptions{env: smallChunks})
	x := newExchange(t, in)
	name := "CANARY-running-患者.jpg"
	id := x.sender.upload(x.box, name, jpeg(61, 300_000))
	db := filepath.Join(in.data, "medbox.db")
	readable := func() bool {
		for _, f := range []string{db, db + "-wal"} {
			if b, err := os.ReadFile(f); err == nil && bytes.Contains(b, []byte(name)) {
				return true
			}
		}
		return false
	}
	if !readable() {
		t.Fatal("the file name is not in the database files before the deletion: the test would prove nothing")
	}
	must(t, x.sender.json("DELETE", "/api/v1/files/"+id, nil, nil), http.StatusNoContent, "delete file")
	start := time.Now()
	in.clock.Advance(erase.Window) // the window's pass is due; the instance's workers find it
	for readable() {
		if time.Since(start) > time.Minute {
			t.Fatalf("the deleted file's name is still in %s or its log after a minute", db)
		}
		time.Sleep(100 * time.Millisecond) // polling the files, not waiting for luck
	}
	t.Logf("erased %v after the window", time.Since(start).Round(10*time.Millisecond))
}
