//go:build bench

package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"time"
)

// loopbackResult is what the bench measured without the emulator.
type loopbackResult struct {
	Rows []loopRow `json:"rows"`
}

type loopRow struct {
	Name  string  `json:"name"`
	MBps  float64 `json:"mib_per_s"` // MiB/s
	Usage usage   `json:"usage"`
	Note  string  `json:"note"`
}

// runLoopback measures the server itself, with client and server on this
// machine: sealing alone (the repository's Go benchmark), a large upload by a
// Go client and by the browser client, a download, and four uploads at once
// for the server's peak memory.
func (b *bench) runLoopback(ctx context.Context) error {
	lb := &loopbackResult{}
	b.res.Loopback = lb
	add := func(name string, mbps float64, u usage, note string) {
		lb.Rows = append(lb.Rows, loopRow{Name: name, MBps: mbps, Usage: u, Note: note})
		say("  loopback: %-44s %6.0f MiB/s  server CPU %4.0f%%  peak RSS %s  %s", name, mbps, u.ServerCPU, mib(u.ServerPeak), note)
	}
	say("loopback")
	seal, unseal, err := b.sealSpeed(ctx)
	if err != nil {
		return err
	}
	add("seal (AES-256-GCM, DARE), one core", seal, usage{}, "go test -bench BenchmarkSeal/8192KiB ./internal/seal")
	add("unseal, one core", unseal, usage{}, "go test -bench BenchmarkUnseal/8192KiB ./internal/seal")

	data := filepath.Join(b.work, "data-loopback")
	os.RemoveAll(data)
	defer os.RemoveAll(data)
	s, err := b.startServer(ctx, "", "127.0.0.1", loopPort, data, "loopback-medbox", serverConf{hosts: b.origins, http2: true, chunk: b.chunk})
	if err != nil {
		return err
	}
	defer b.stop(s.cmd)
	acct, err := prepare(ctx, s.base, fmt.Sprintf("%s:%d", s.addr, s.port), b.certs.cert, data, b.medbox)
	if err != nil {
		return err
	}
	acctFile := filepath.Join(b.work, "account-loopback.json")
	js, _ := json.Marshal(acct)
	if err := os.WriteFile(acctFile, js, 0o600); err != nil {
		return err
	}
	set := b.sets[0]
	file := b.files[set.Name][0]
	const workers = 8
	c, err := newClient(s.base, acct.Addr, b.certs.cert, 4*workers)
	if err != nil {
		return err
	}
	c.token = acct.Token

	box, err := c.newBox(ctx, acct)
	if err != nil {
		return err
	}
	m := startMeter(s.pid, 0)
	start := time.Now()
	id, err := c.upload(ctx, box, file, workers)
	if err != nil {
		return err
	}
	secs := time.Since(start).Seconds()
	add(fmt.Sprintf("upload %s, Go client", set.Name), float64(set.Size)/(1<<20)/secs, m.stop(),
		fmt.Sprintf("%d HTTP/1.1 connections, SHA-256 per chunk like the browser", workers))

	m = startMeter(s.pid, 0)
	start = time.Now()
	n, err := c.download(ctx, id)
	if err != nil {
		return err
	}
	add(fmt.Sprintf("download %s", set.Name), float64(n)/(1<<20)/time.Since(start).Seconds(), m.stop(), "one connection, unsealed as it streams")

	r, err := b.browserRun(ctx, "", s, acctFile, set, 0, 0, "")
	if err != nil {
		return err
	}
	add(fmt.Sprintf("upload %s, Chromium (MedBox's client)", set.Name), r.Mbit/8/1.048576, r.Usage,
		r.note())

	box, err = c.newBox(ctx, acct)
	if err != nil {
		return err
	}
	m = startMeter(s.pid, 0)
	start = time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			if _, err := c.upload(ctx, box, file, 6); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	add(fmt.Sprintf("4 uploads of %s at once", set.Name), 4*float64(set.Size)/(1<<20)/time.Since(start).Seconds(), m.stop(),
		"aggregate; 6 connections each")
	return nil
}

var mbps = regexp.MustCompile(`Benchmark(Seal|Unseal)/8192KiB\S*\s+\d+\s+\d+ ns/op\s+([\d.]+) MB/s`)

// sealSpeed runs the repository's sealing benchmarks (MB/s of plaintext, one core).
func (b *bench) sealSpeed(ctx context.Context) (seal, unseal float64, err error) {
	cmd := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-bench", "(Seal|Unseal)/8192KiB$", "-benchtime", "2s", "./internal/seal/")
	cmd.Dir = b.repo
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, 0, fmt.Errorf("seal benchmark: %v: %s", err, out)
	}
	for _, m := range mbps.FindAllStringSubmatch(string(out), -1) {
		v, _ := strconv.ParseFloat(m[2], 64)
		v = v * 1e6 / (1 << 20) // MB/s → MiB/s
		if m[1] == "Seal" {
			seal = v
		} else {
			unseal = v
		}
	}
	if seal == 0 || unseal == 0 {
		return 0, 0, fmt.Errorf("seal benchmark: no result in %s", out)
	}
	return seal, unseal, nil
}

// upload sends a file through the upload protocol with workers chunk PUTs in
// flight and returns the new file's id.
func (c *client) upload(ctx context.Context, box, path string, workers int) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	var u struct {
		ID         string `json:"id"`
		ChunkSize  int64  `json:"chunk_size"`
		ChunkCount int    `json:"chunk_count"`
	}
	if err := c.json(ctx, "POST", "/api/v1/boxes/"+box+"/uploads", map[string]any{"name": filepath.Base(path), "size": fi.Size()}, http.StatusCreated, &u); err != nil {
		return "", err
	}
	next := make(chan int)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			buf := make([]byte, u.ChunkSize)
			for n := range next {
				off := int64(n) * u.ChunkSize
				k, err := f.ReadAt(buf[:min(u.ChunkSize, fi.Size()-off)], off)
				if err != nil && k < int(min(u.ChunkSize, fi.Size()-off)) {
					errs <- err
					return
				}
				sum := sha256.Sum256(buf[:k])
				req, _ := http.NewRequestWithContext(ctx, "PUT", fmt.Sprintf("%s/api/v1/uploads/%s/chunks/%d", c.base, u.ID, n), bytes.NewReader(buf[:k]))
				req.Header.Set("Authorization", "Bearer "+c.token)
				req.Header.Set("Content-Digest", "sha-256=:"+base64.StdEncoding.EncodeToString(sum[:])+":")
				resp, err := c.hc.Do(req)
				if err != nil {
					errs <- err
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusNoContent {
					errs <- fmt.Errorf("chunk %d: status %d", n, resp.StatusCode)
					return
				}
			}
		})
	}
	go func() {
		defer close(next)
		for n := range u.ChunkCount {
			select {
			case next <- n:
			case <-ctx.Done():
				return
			}
		}
	}()
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		for range next {
		}
		return "", err
	}
	var done struct {
		File struct {
			ID string `json:"id"`
		} `json:"file"`
	}
	if err := c.json(ctx, "POST", "/api/v1/uploads/"+u.ID+"/complete", nil, http.StatusCreated, &done); err != nil {
		return "", err
	}
	return done.File.ID, nil
}

// download reads a file's content and returns its length.
func (c *client) download(ctx context.Context, id string) (int64, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", c.base+"/api/v1/files/"+id+"/content", nil)
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("download %s: status %d", id, resp.StatusCode)
	}
	return io.CopyBuffer(io.Discard, resp.Body, make([]byte, 1<<20))
}
