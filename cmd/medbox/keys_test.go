package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestKeyRotationWhileServing: `medbox keys rotate` rewraps every data key under a
// new master key while an instance serves; files stay readable, new uploads work,
// and the old master key is gone from the key file.
func TestKeyRotationWhileServing(t *testing.T) {
	in := startInstance(t, instanceOptions{env: smallChunks})
	x := newExchange(t, in)
	data := jpeg(50, 900_000)
	file := x.sender.upload(x.box, "before.jpg", data)
	keyFile := filepath.Join(in.data, "master.key")
	old, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	env := envOf(map[string]string{"MEDBOX_DATA": in.data})
	if err := run(context.Background(), []string{"keys", "rotate"}, process{getenv: env, stdout: &out, now: in.clock.Now}); err != nil {
		t.Fatalf("keys rotate: %v", err)
	}
	if !strings.Contains(out.String(), "rewrapped") {
		t.Errorf("keys rotate said %q", out.String())
	}
	now, _ := os.ReadFile(keyFile)
	oldID := keyLine(old)
	if oldID == "" || strings.Contains(string(now), oldID) {
		t.Errorf("old key %q still in the key file after rotation:\n%s", oldID, now)
	}
	status, body, _ := x.rcpt.do("GET", "/api/v1/files/"+file+"/content", nil, nil)
	if status != http.StatusOK || !bytes.Equal(body, data) {
		t.Errorf("file uploaded before rotation: %d, equal %v", status, bytes.Equal(body, data))
	}
	data2 := jpeg(51, 300_000)
	file2 := x.sender.upload(x.box, "after.jpg", data2)
	if status, body, _ := x.rcpt.do("GET", "/api/v1/files/"+file2+"/content", nil, nil); status != http.StatusOK || !bytes.Equal(body, data2) {
		t.Errorf("file uploaded after rotation: %d", status)
	}
	// The admin can still open licence proofs (their keys were rewrapped too).
	var q struct{ Members []map[string]any }
	x.admin.json("GET", "/api/v1/admin/members?status=active", nil, &q)
	if len(q.Members) == 0 {
		t.Fatal("no members")
	}
	if status, _, _ := x.admin.do("GET", "/api/v1/admin/members/"+q.Members[0]["id"].(string)+"/proof", nil, nil); status != http.StatusOK {
		t.Errorf("proof after rotation: %d", status)
	}
}

// keyLine returns the id of the current key of a key file.
func keyLine(b []byte) string {
	for _, l := range strings.Split(string(b), "\n") {
		if id, ok := strings.CutPrefix(l, "current "); ok {
			return strings.TrimSpace(id)
		}
	}
	return ""
}
