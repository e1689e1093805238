// Package object holds what package blob and its backends agree on about stored
// objects: the key syntax, the shared errors, and the exact-size reader. Package blob
// re-exports all of it; backends import this package so that blob may import them.
package object

import (
	"errors"
	"fmt"
	"io"
)

// The errors every backend reports, re-exported by package blob.
var (
	ErrNotFound = errors.New("blob: object not found")
	ErrBadKey   = errors.New("blob: bad object key")
	ErrSize     = errors.New("blob: object length differs from the declared size")
)

// MaxKeyLen bounds a key's length in bytes; S3 allows 1024, file systems fewer.
const MaxKeyLen = 512

// maxSegmentLen is the longest segment most file systems accept as a name.
const maxSegmentLen = 255

// ValidKey reports whether key is a well-formed object key: segments of
// [A-Za-z0-9._-] joined by '/', none empty, "." or "..", at most MaxKeyLen bytes.
func ValidKey(key string) error {
	if key == "" || len(key) > MaxKeyLen {
		return fmt.Errorf("%w: length %d not in 1..%d", ErrBadKey, len(key), MaxKeyLen)
	}
	start := 0
	for i := 0; i <= len(key); i++ {
		if i < len(key) && key[i] != '/' {
			if !keyByte(key[i]) {
				return fmt.Errorf("%w: %q has byte %#x", ErrBadKey, key, key[i])
			}
			continue
		}
		switch seg := key[start:i]; {
		case seg == "":
			return fmt.Errorf("%w: %q has an empty segment", ErrBadKey, key)
		case seg == "." || seg == "..":
			return fmt.Errorf("%w: %q has a %q segment", ErrBadKey, key, seg)
		case len(seg) > maxSegmentLen:
			return fmt.Errorf("%w: %q has a segment longer than %d bytes", ErrBadKey, key, maxSegmentLen)
		}
		start = i + 1
	}
	return nil
}

// ValidPrefix reports whether prefix may start a key: empty, or a key, or a key
// followed by '/', or a key cut inside its last segment.
func ValidPrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	if err := ValidKey(prefix + "x"); err != nil {
		return fmt.Errorf("%w (as a prefix)", err)
	}
	return nil
}

func keyByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '.' || c == '_' || c == '-'
}

// Exact returns a reader of r's bytes that fails with ErrSize unless r holds
// exactly size bytes. A long r fails before its size-th byte is delivered, so a
// consumer that commits an object at EOF never commits one of the wrong size.
func Exact(r io.Reader, size int64) io.Reader {
	return &exactReader{r: r, left: size}
}

type exactReader struct {
	r    io.Reader
	left int64
	err  error
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	if e.left == 0 {
		e.err = e.checkEOF()
		return 0, e.err
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	switch {
	case err == io.EOF && e.left > 0:
		e.err = fmt.Errorf("%w: %d bytes short", ErrSize, e.left)
		return 0, e.err
	case err != nil && err != io.EOF:
		e.err = err
		return n, err
	case e.left == 0:
		// Hold the last bytes back until r is known to end here.
		if e.err = e.checkEOF(); e.err != io.EOF {
			return 0, e.err
		}
		return n, nil
	}
	return n, nil
}

// checkEOF reads past the declared end: io.EOF if r ends there, else an error.
func (e *exactReader) checkEOF() error {
	var b [1]byte
	for {
		n, err := e.r.Read(b[:])
		if n > 0 {
			return fmt.Errorf("%w: longer than declared", ErrSize)
		}
		if err == io.EOF {
			return io.EOF
		}
		if err != nil {
			return err
		}
	}
}
