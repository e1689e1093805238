package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/medbox-jp/medbox/internal/member"
	"github.com/medbox-jp/medbox/internal/upload"
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
				if err := in.app.Boxes.ExpireDue(context.Background(), in.clock.Now()); err != nil {
					t.Errorf("ExpireDue: %v", err)
				}
			})
		}
		wg.Wait()
		if err := in.app.Boxes.ExpireDue(context.Background(), in.clock.Now()); err != nil {
			t.Fatalf("ExpireDue after the race: %v", err)
		}
		var left int
		in.db().QueryRowContext(context.Background(), `SELECT count(*) FROM boxes`).Scan(&left)
		if left != 0 {
			t.Errorf("%d boxes left after expiry", left)
		}
		stored, counted, err := in.app.Boxes.Recount(context.Background())
		if err != nil || fmt.Sprint(stored) != fmt.Sprint(counted) {
			t.Errorf("stored usage %v, recount %v (%v)", stored, counted, err)
		}
		_ = boxes
	})
}

// stalledChunk starts a PUT of chunk n whose body stops after a few bytes, as
// from a client whose connection died mid-chunk, waits until the server has
// claimed the chunk, and returns a channel with the request's status.
func stalledChunk(t *testing.T, in *instance, c *client, u uploadJSON, n int) <-chan int {
	t.Helper()
	pr, pw := io.Pipe()
	t.Cleanup(func() { pw.Close() })
	done := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("PUT", in.url+fmt.Sprintf("/api/v1/uploads/%s/chunks/%d", u.ID, n), pr)
		req.Header.Set("Authorization", "Bearer "+c.tok)
		resp, err := c.http.Do(req)
		if err != nil {
			done <- 0
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusRequestTimeout && !bytes.Contains(body, []byte("chunk_timeout")) {
			t.Errorf("stalled chunk answered %s", body)
		}
		done <- resp.StatusCode
	}()
	if _, err := pw.Write(make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for in.countRows(`SELECT count(*) FROM upload_chunks WHERE upload_id = $1 AND n = $2 AND state = 'writing'`, u.ID, n) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the server did not claim the stalled chunk")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return done
}

// TestStalledChunkRequest: a chunk request whose bytes stop arriving — a
// connection that died without a word — does not keep its chunk busy. A newer
// request for the chunk takes it over at once, and without one the request
// ends after the idle time; either way the chunk is then written, and the
// file holds the right bytes.
func TestStalledChunkRequest(t *testing.T) {
	wait := func(t *testing.T, done <-chan int, within time.Duration) int {
		t.Helper()
		select {
		case status := <-done:
			return status
		case <-time.After(within):
			t.Fatalf("the stalled request still runs after %v", within)
			return 0
		}
	}
	data := jpeg(111, 600_000) // three chunks
	finish := func(x *exchange, u uploadJSON) {
		x.rcpt.downloadMatches(x.sender.finishUpload(u, "a.jpg", data), "a.jpg", data)
	}

	t.Run("superseded", func(t *testing.T) {
		in := startInstance(t, instanceOptions{env: smallChunks}) // the default idle time, 20 s
		x := newExchange(t, in)
		status, u, _ := x.sender.createUpload(x.box, "a.jpg", int64(len(data)))
		must(t, status, http.StatusCreated, "create")
		done := stalledChunk(t, in, x.sender, u, 0)
		status, body := x.sender.putChunk(u, 0, data)
		must(t, status, http.StatusNoContent, "the chunk sent again", string(body))
		if status := wait(t, done, 10*time.Second); status != http.StatusRequestTimeout && status != 0 {
			t.Errorf("the superseded request answered %d", status)
		}
		finish(x, u)
	})

	t.Run("idle", func(t *testing.T) {
		in := startInstance(t, instanceOptions{env: smallChunks, chunkIdle: 500 * time.Millisecond})
		x := newExchange(t, in)
		status, u, _ := x.sender.createUpload(x.box, "a.jpg", int64(len(data)))
		must(t, status, http.StatusCreated, "create")
		done := stalledChunk(t, in, x.sender, u, 1)
		if status := wait(t, done, 10*time.Second); status != http.StatusRequestTimeout {
			t.Errorf("the stalled request answered %d, want 408", status)
		}
		if n := in.countRows(`SELECT count(*) FROM upload_chunks WHERE upload_id = $1`, u.ID); n != 0 {
			t.Errorf("%d chunk rows left by the stalled request", n)
		}
		finish(x, u)
	})
}

// cancelAtEOF reads r and cancels a context as soon as r is drained: the
// client hangs up the moment its last byte has arrived.
type cancelAtEOF struct {
	r      io.Reader
	cancel context.CancelFunc
}

func (c *cancelAtEOF) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err == io.EOF {
		c.cancel()
	}
	return n, err
}

// TestChunkClientGoneAfterLastByte: a client that hangs up right after the
// last byte of a chunk leaves the chunk stored and acknowledged, not claimed
// by a request that no longer exists — which would answer chunk_busy to every
// retry until the claim went stale.
func TestChunkClientGoneAfterLastByte(t *testing.T) {
	in := startInstance(t, instanceOptions{env: smallChunks})
	x := newExchange(t, in)
	data := jpeg(112, 600_000)
	status, u, _ := x.sender.createUpload(x.box, "a.jpg", int64(len(data)))
	must(t, status, http.StatusCreated, "create")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	chunk := data[:u.ChunkSize]
	if err := in.app.Uploads.PutChunk(ctx, member.ID(x.senderID), upload.ID(u.ID), 0, &cancelAtEOF{bytes.NewReader(chunk), cancel}, int64(len(chunk)), nil); err != nil {
		t.Errorf("put chunk 0, client gone after the last byte: %v", err)
	}
	if ctx.Err() == nil {
		t.Fatal("the client did not hang up")
	}
	if n := in.countRows(`SELECT count(*) FROM upload_chunks WHERE upload_id = $1 AND n = 0 AND state = 'done'`, u.ID); n != 1 {
		t.Errorf("chunk 0 acknowledged %d times, want 1", n)
	}
	x.rcpt.downloadMatches(x.sender.finishUpload(u, "a.jpg", data), "a.jpg", data)
}
