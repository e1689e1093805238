// Package dicomtest helps the codec packages' tests: it finds the encoded frames
// in the DICOM test files without depending on the dicom package, which imports
// those codecs.
package dicomtest

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Dir is the DICOM test data folder, relative to a codec package.
const Dir = "../../../testdata/dicom"

// Frames returns the fragments of encapsulated pixel data (without the basic
// offset table) of every test file whose transfer syntax UID starts with one of
// prefixes, each fragment at most maxLen bytes long.
func Frames(t testing.TB, maxLen int, prefixes ...string) [][]byte {
	t.Helper()
	var paths []string
	for _, pat := range []string{"*.dcm", "generated/*.dcm", "synthetic/*.dcm"} {
		p, err := filepath.Glob(filepath.Join(Dir, pat))
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p...)
	}
	var out [][]byte
	for _, p := range paths {
		b, err := os.ReadFile(p) // #nosec G304 -- test helper reading testdata
		if err != nil {
			t.Fatal(err)
		}
		if !hasSyntax(b, prefixes) {
			continue
		}
		for _, f := range fragments(b) {
			if len(f) <= maxLen {
				out = append(out, f)
			}
		}
	}
	return out
}

func hasSyntax(b []byte, prefixes []string) bool {
	i := bytes.Index(b, []byte{0x02, 0x00, 0x10, 0x00, 'U', 'I'})
	if i < 0 || i+8 > len(b) {
		return false
	}
	n := int(binary.LittleEndian.Uint16(b[i+6:]))
	if i+8+n > len(b) {
		return false
	}
	ts := string(bytes.TrimRight(b[i+8:i+8+n], "\x00 "))
	for _, p := range prefixes {
		if len(ts) >= len(p) && ts[:len(p)] == p {
			return true
		}
	}
	return false
}

// fragments walks the items after the last undefined-length pixel data element.
func fragments(b []byte) [][]byte {
	i := bytes.LastIndex(b, []byte{0xE0, 0x7F, 0x10, 0x00, 'O', 'B', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF})
	if j := bytes.LastIndex(b, []byte{0xE0, 0x7F, 0x10, 0x00, 'O', 'W', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF}); j > i {
		i = j
	}
	if i < 0 {
		return nil
	}
	var out [][]byte
	for pos := i + 12; pos+8 <= len(b); {
		if !bytes.Equal(b[pos:pos+4], []byte{0xFE, 0xFF, 0x00, 0xE0}) {
			break
		}
		n := int(binary.LittleEndian.Uint32(b[pos+4:]))
		if n < 0 || pos+8+n > len(b) {
			break
		}
		out = append(out, b[pos+8:pos+8+n])
		pos += 8 + n
	}
	if len(out) == 0 {
		return nil
	}
	out = out[1:] // the basic offset table
	// A frame may span fragments: join those that do not start a codestream.
	starts := func(f []byte) bool {
		return bytes.HasPrefix(f, []byte{0xFF, 0xD8}) || bytes.HasPrefix(f, []byte{0xFF, 0x4F})
	}
	var joined [][]byte
	for _, f := range out {
		if len(joined) > 0 && starts(joined[0]) && !starts(f) {
			joined[len(joined)-1] = append(bytes.Clone(joined[len(joined)-1]), f...)
			continue
		}
		joined = append(joined, f)
	}
	return joined
}

// AllocCap fails t when the code run between AllocCap and a call of the
// function it returns allocates more than limit bytes in all: a fuzz input
// must not make a decoder allocate beyond its caps, whatever it declares. It
// counts every allocation of the process, so it belongs where nothing else
// runs at the same time: fuzz targets (each fuzz worker runs one input at a
// time; seed inputs run after the package's tests).
func AllocCap(t testing.TB, limit uint64) func() {
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	return func() {
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		if n := after.TotalAlloc - before.TotalAlloc; n > limit {
			t.Fatalf("allocated %d MiB, cap %d MiB", n>>20, limit>>20)
		}
	}
}
