package api

import (
	"errors"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/medbox-jp/medbox/internal/guard"
)

// DefaultChunkIdle is how long a chunk request may go without a byte arriving
// before the server ends it. The browser gives up on such a request after 20 s
// (upload.js, STALL_MS) and sends the chunk again.
const DefaultChunkIdle = 20 * time.Second

// errChunkStalled ends a chunk request whose body stopped arriving, or whose
// chunk a newer request took over.
var errChunkStalled = &guard.Problem{Status: http.StatusRequestTimeout, Code: "chunk_timeout"}

// chunkBody is a chunk request's body under a read deadline that moves on
// while bytes arrive, so that a connection that died without a word ends its
// request and frees its chunk. It is an upload.Interrupter: a newer request
// for the same chunk ends it at once.
type chunkBody struct {
	r    io.Reader
	rc   *http.ResponseController
	idle time.Duration

	mu      sync.Mutex
	stopped bool
	moved   time.Time // when the deadline was last moved
}

func newChunkBody(w http.ResponseWriter, r *http.Request, idle time.Duration) *chunkBody {
	return &chunkBody{r: r.Body, rc: http.NewResponseController(w), idle: idle}
}

func (b *chunkBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	if b.stopped {
		b.mu.Unlock()
		return 0, errChunkStalled
	}
	// Moving the deadline costs a timer update: once per twentieth of the idle
	// time (a second by default) keeps it within 5 % of its length.
	if now := time.Now(); now.Sub(b.moved) >= b.idle/20 {
		b.moved = now
		_ = b.rc.SetReadDeadline(now.Add(b.idle)) // not supported: no deadline, as before
	}
	b.mu.Unlock()
	n, err := b.r.Read(p)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		err = errChunkStalled
	}
	return n, err
}

// Interrupt ends the request: a Read blocked now returns at once, later ones fail.
func (b *chunkBody) Interrupt() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stopped = true
	_ = b.rc.SetReadDeadline(time.Now())
}
