// Package blob stores immutable objects — file chunks, licence proofs, previews —
// under slash-separated keys and streams them in and out, so memory never grows
// with object size. Backends: blob/disk (a local directory) and blob/s3 (any S3
// server); package seal wraps any of them to encrypt at rest; blob/blobtest holds
// the contract every Store passes and an in-memory Store for tests.
package blob

import (
	"context"
	"io"

	"github.com/medbox-jp/medbox/internal/blob/internal/object"
)

// Store keeps objects under keys like "f/<fileID>/00000003" and streams them.
//
// Keys follow ValidKey. A key is never both an object and, followed by '/', the
// prefix of another object: callers lay keys out as a tree whose leaves are objects.
type Store interface {
	// Put stores r's bytes under key, replacing any object there. size is the exact
	// length, or -1 if unknown; when r yields a different number of bytes Put fails
	// with ErrSize. Put is atomic — readers see the old object or the whole new one,
	// never a part, and a failed Put leaves the old object — and durable when it
	// returns nil. (One exception no remote store can avoid: when ctx ends just
	// as the server commits, Put reports the cancellation yet the object may be
	// the new one.)
	Put(ctx context.Context, key string, r io.Reader, size int64) error

	// Get streams length bytes starting at off; length < 0 means to the end. A
	// range reaching past the end is cut at the end, and off at or beyond the end
	// gives an empty stream. ErrNotFound when there is no object.
	Get(ctx context.Context, key string, off, length int64) (io.ReadCloser, error)

	// Stat returns the object's size, or ErrNotFound.
	Stat(ctx context.Context, key string) (size int64, err error)

	// Delete removes the object; it returns nil when there was none.
	Delete(ctx context.Context, key string) error

	// List calls fn for every object whose key starts with prefix, in increasing
	// key order, and stops at the first error fn returns, returning it.
	List(ctx context.Context, prefix string, fn func(key string, size int64) error) error
}

// Pinger is a Store that can tell whether it is usable, for a readiness check.
type Pinger interface {
	// Ping returns nil when the store can be written to right now.
	Ping(ctx context.Context) error
}

// Errors every Store reports; test with errors.Is.
var (
	// ErrNotFound means there is no object under the key.
	ErrNotFound = object.ErrNotFound
	// ErrBadKey means the key (or List prefix) does not follow ValidKey.
	ErrBadKey = object.ErrBadKey
	// ErrSize means a Put's reader did not yield the declared size.
	ErrSize = object.ErrSize
)

// MaxKeyLen is the longest key, in bytes.
const MaxKeyLen = object.MaxKeyLen

// ValidKey reports whether key may name an object: segments of [A-Za-z0-9._-]
// joined by '/', none empty, "." or "..", at most MaxKeyLen bytes in all. The
// error wraps ErrBadKey.
func ValidKey(key string) error { return object.ValidKey(key) }

// ValidPrefix reports whether prefix may be passed to List: empty, or the start
// of some valid key. The error wraps ErrBadKey.
func ValidPrefix(prefix string) error { return object.ValidPrefix(prefix) }

// Exact returns a reader of r's bytes that fails with ErrSize unless r holds
// exactly size bytes. When r is too long it fails before delivering its size-th
// byte, so a consumer that commits at EOF never commits the wrong length.
func Exact(r io.Reader, size int64) io.Reader { return object.Exact(r, size) }
