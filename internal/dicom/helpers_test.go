package dicom

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

const testdata = "../../testdata/dicom"

// testFiles returns the paths of every single DICOM test file (the bit-depth
// matrix of synthetic/bitdepth aside: TestCorpus and TestBitDepthsMatchDCMTK
// cover it).
func testFiles(t testing.TB) []string {
	t.Helper()
	var out []string
	for _, dir := range []string{".", "generated", "synthetic"} {
		p, err := filepath.Glob(filepath.Join(testdata, dir, "*.dcm"))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p...)
	}
	return out
}

func name(path string) string { return strings.TrimSuffix(filepath.Base(path), ".dcm") }

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if b, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// findFile returns the path of a test file by name, in testdata or generated.
func findFile(t testing.TB, n string) string {
	t.Helper()
	for _, p := range testFiles(t) {
		if name(p) == n {
			return p
		}
	}
	t.Fatalf("no test file %s", n)
	return ""
}

func parseFile(t testing.TB, path string, lim Limits) *File {
	t.Helper()
	f, err := Parse(readFile(t, path), lim)
	if err != nil {
		t.Fatalf("Parse(%s) = %v", filepath.Base(path), err)
	}
	return f
}

// samples returns frame i's samples as unpacked, before any colour conversion,
// with the photometric interpretation they follow.
func samples(t testing.TB, f *File, i int) ([]int32, string) {
	t.Helper()
	rf, _, err := f.raw(i)
	if err != nil {
		t.Fatalf("raw(%d) = %v", i, err)
	}
	s, _, err := unpack(rf)
	if err != nil {
		t.Fatalf("unpack(%d) = %v", i, err)
	}
	return s, rf.photometric
}

// maxDiff returns the largest absolute difference and the number of differing
// elements.
func maxDiff[T int32 | uint8](a, b []T) (int64, int) {
	var worst int64
	n := 0
	for i := range a {
		d := int64(a[i]) - int64(b[i])
		if d < 0 {
			d = -d
		}
		if d > 0 {
			n++
		}
		worst = max(worst, d)
	}
	return worst, n
}

func withGDCM(t testing.TB) Limits {
	t.Helper()
	g := FindGDCM()
	if g == nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("gdcmconv is not installed (apt-get install libgdcm-tools)")
		}
		t.Skip("gdcmconv is not installed")
	}
	return Limits{GDCM: g}
}

// decodedFrames caches frames decoded by earlier tests (keyed by path and
// index), so that the race-detector run does not decode every file three times.
var decodedFrames sync.Map

// cachedFrame returns frame i of the file at path, parsed with zero Limits.
func cachedFrame(t testing.TB, path string, i int) *Frame {
	t.Helper()
	key := path + "#" + strconv.Itoa(i)
	if fr, ok := decodedFrames.Load(key); ok {
		return fr.(*Frame)
	}
	fr, err := parseFile(t, path, Limits{}).Frame(i)
	if err != nil {
		t.Fatalf("%s: Frame(%d) = %v", path, i, err)
	}
	decodedFrames.Store(key, fr)
	return fr
}
