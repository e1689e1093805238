package upload

import (
	"context"
	"io"
	"sync"
	"time"
)

// Interrupter is a chunk body that a newer request for the same chunk can end:
// Interrupt makes a Read blocked on it return an error at once. The API's
// request bodies are Interrupters; PutChunk takes any io.Reader.
type Interrupter interface {
	io.Reader
	Interrupt()
}

// supersedeWait bounds how long a request waits for the older writer it
// interrupted to let go of the chunk.
const supersedeWait = 5 * time.Second

// writers are the chunk writes in progress on this instance that a newer
// request may supersede. A client sends a chunk again only after giving up on
// the earlier request — aborted, offline, or a connection that died without the
// server hearing of it — so the older request is reading from nobody, and its
// claim would keep the chunk busy until its read deadline.
type writers struct {
	mu sync.Mutex
	m  map[chunkRef]*writer
}

type chunkRef struct {
	id ID
	n  int
}

type writer struct {
	body Interrupter
	done chan struct{}
}

// track registers the write of chunk n of id from r, when r can be interrupted;
// finish, called after the claim is acknowledged or released, ends it.
func (w *writers) track(id ID, n int, r io.Reader) (finish func()) {
	body, ok := r.(Interrupter)
	if !ok {
		return func() {}
	}
	me := &writer{body: body, done: make(chan struct{})}
	ref := chunkRef{id, n}
	w.mu.Lock()
	if w.m == nil {
		w.m = make(map[chunkRef]*writer)
	}
	w.m[ref] = me
	w.mu.Unlock()
	return func() {
		w.mu.Lock()
		if w.m[ref] == me {
			delete(w.m, ref)
		}
		w.mu.Unlock()
		close(me.done)
	}
}

// supersede interrupts the write of chunk n of id in progress here, if any, and
// waits until it has let go of its claim. It reports whether there was one.
func (w *writers) supersede(ctx context.Context, id ID, n int) bool {
	w.mu.Lock()
	old := w.m[chunkRef{id, n}]
	w.mu.Unlock()
	if old == nil {
		return false
	}
	old.body.Interrupt()
	t := time.NewTimer(supersedeWait)
	defer t.Stop()
	select {
	case <-old.done:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	return false
}
