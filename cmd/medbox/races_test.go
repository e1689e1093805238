package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"
)

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
