//go:build bench

package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"os"
	"sync"
	"time"
)

// sinkRecord is one request the sink took.
type sinkRecord struct {
	Path     string `json:"path"`
	Bytes    int64  `json:"bytes"`
	Start    int64  `json:"start"` // unix ns: request headers read
	End      int64  `json:"end"`   // unix ns: last body byte read
	Complete bool   `json:"complete"`
}

// progressEvery is how often the sink writes a progress line for a request
// still running, so that a run cut at its cap is measured at the cap and not
// when the closed connection finally reaches the sink through the emulator.
const progressEvery = 500 * time.Millisecond

// runSink is the "ordinary upload": an HTTPS endpoint over the same TLS as
// MedBox that reads a request body in one stream (curl -T) and throws it away,
// so the single stream is limited by nothing but the network. Each request
// becomes a line of JSON in -log.
func runSink(args []string) error {
	fs := flag.NewFlagSet("sink", flag.ExitOnError)
	listen := fs.String("listen", "10.200.0.2:9443", "address")
	cert := fs.String("cert", "", "TLS certificate")
	key := fs.String("key", "", "TLS key")
	logFile := fs.String("log", "sink.jsonl", "where to write one JSON line per request")
	fs.Parse(args)
	f, err := os.OpenFile(*logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	var mu sync.Mutex
	enc := json.NewEncoder(f)
	bufs := sync.Pool{New: func() any { return make([]byte, 256<<10) }}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := sinkRecord{Path: r.URL.Path, Start: time.Now().UnixNano()}
		buf := bufs.Get().([]byte)
		defer bufs.Put(buf)
		next := time.Now().Add(progressEvery)
		for {
			n, err := r.Body.Read(buf)
			if n > 0 {
				rec.Bytes += int64(n)
				rec.End = time.Now().UnixNano()
			}
			if now := time.Now(); now.After(next) {
				next = now.Add(progressEvery)
				mu.Lock()
				enc.Encode(rec)
				mu.Unlock()
			}
			if errors.Is(err, io.EOF) {
				rec.Complete = true
				break
			}
			if err != nil {
				break
			}
		}
		mu.Lock()
		enc.Encode(rec)
		mu.Unlock()
		w.WriteHeader(http.StatusCreated)
	})
	h1 := new(http.Protocols)
	h1.SetHTTP1(true)
	srv := &http.Server{Addr: *listen, Handler: h, Protocols: h1, ReadHeaderTimeout: 10 * time.Second}
	return srv.ListenAndServeTLS(*cert, *key)
}

// readSink returns, for each request that started at or after since, its
// last record written by until: the final one, or its progress at until.
func readSink(path string, since, until time.Time) []sinkRecord {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	type key struct {
		path  string
		start int64
	}
	var order []key
	last := map[key]sinkRecord{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r sinkRecord
		if json.Unmarshal(sc.Bytes(), &r) != nil || r.Start < since.UnixNano() || r.End > until.UnixNano() {
			continue
		}
		k := key{r.Path, r.Start}
		if _, ok := last[k]; !ok {
			order = append(order, k)
		}
		if r.Bytes >= last[k].Bytes {
			last[k] = r
		}
	}
	out := make([]sinkRecord, 0, len(order))
	for _, k := range order {
		out = append(out, last[k])
	}
	return out
}
