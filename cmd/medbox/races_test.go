package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

// TestAcknowledgedChunkCannotBeReplaced: once a chunk is acknowledged, sending it
// again with the same bytes is fine, and with other bytes is refused — the file
// holds exactly what complete checked.
func TestAcknowledgedChunkCannotBeReplaced(t *testing.T) {
	eachDBWith(t, smallChunks, func(t *testing.T, in *instance) {
		x := newExchange(t, in)
		data := jpeg(110, 600_000)
		status, u, _ := x.sender.createUpload(x.box, "a.jpg", int64(len(data)))
		must(t, status, http.StatusCreated, "create")
		for n := range u.ChunkCount {
			status, body := x.sender.putChunk(u, n, data)
			must(t, status, http.StatusNoContent, "chunk", string(body))
		}
		must(t, mustStatus(x.sender.putChunk(u, 0, data)), http.StatusNoContent, "same bytes again")
		evil := append([]byte("MZ"), data[2:256<<10]...)
		var e map[string]map[string]any
		status, body, _ := x.sender.do("PUT", "/api/v1/uploads/"+u.ID+"/chunks/0", bytes.NewReader(evil), nil)
		if status != http.StatusConflict || !bytes.Contains(body, []byte("chunk_conflict")) {
			t.Errorf("other bytes for an acknowledged chunk: %d %s", status, body)
		}
		var done struct{ File map[string]any }
		must(t, x.sender.json("POST", "/api/v1/uploads/"+u.ID+"/complete", nil, &done), http.StatusCreated, "complete", e)
		status, got, _ := x.rcpt.do("GET", "/api/v1/files/"+done.File["id"].(string)+"/content", nil, nil)
		if status != http.StatusOK || !bytes.Equal(got, data) {
			t.Errorf("file after a refused rewrite: %d, equal %v", status, bytes.Equal(got, data))
		}
	})
}

// TestDeleteRacingExpiry: senders deleting files while expiry runs (as on two
// instances) give each file's bytes back once; expiry finishes every box.
func TestDeleteRacingExpiry(t *testing.T) {
	eachDBWith(t, smallChunks, func(t *testing.T, in *instance) {
		x := newExchange(t, in)
		var files []string
		var boxes []string
		for i := range 12 {
			b := x.newBox(t, x.rcptID)
			boxes = append(boxes, b)
			files = append(files, x.sender.upload(b, fmt.Sprintf("f%d.jpg", i), jpeg(uint64(120+i), 3000)))
		}
		in.clock.Advance(73 * time.Hour)
		x.sender.relogin()
		var wg sync.WaitGroup
		for _, f := range files {
			wg.Go(func() { x.sender.do("DELETE", "/api/v1/files/"+f, nil, nil) })
		}
		for range 3 {
			wg.Go(func() {
				if err := in.app.boxes.ExpireDue(context.Background(), in.clock.Now()); err != nil {
					t.Errorf("ExpireDue: %v", err)
				}
			})
		}
		wg.Wait()
		if err := in.app.boxes.ExpireDue(context.Background(), in.clock.Now()); err != nil {
			t.Fatalf("ExpireDue after the race: %v", err)
		}
		var left int
		in.db().QueryRowContext(context.Background(), `SELECT count(*) FROM boxes`).Scan(&left)
		if left != 0 {
			t.Errorf("%d boxes left after expiry", left)
		}
		stored, counted, err := in.app.boxes.Recount(context.Background())
		if err != nil || fmt.Sprint(stored) != fmt.Sprint(counted) {
			t.Errorf("stored usage %v, recount %v (%v)", stored, counted, err)
		}
		_ = boxes
	})
}
