package dicom

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// moreTestdata is the shared collection of harder DICOM files (SOURCES.md
// there), beside the repository as CI checks it out.
const moreTestdata = "../../../shared/testdata/dicom-more"

// corpusRef is what golden/samples.txt says about one frame of a test file:
// the reference decoder, and a digest of its samples (or, for lossy files, the
// samples of a crop and the tolerance).
type corpusRef struct {
	tool       string   // "partial": a frame cut short, decoded but not compared
	attrs      []string // slope, intercept, window centre and width the file gives this frame ("-": none)
	count      int
	sha        string
	min, max   string
	tolerance  int64
	crop       [4]int // x, y, w, h
	cropSource string
}

// corpusRefs reads golden/samples.txt: file → frame references, or nil for a
// file without an image.
func corpusRefs(t *testing.T) map[string][]corpusRef {
	t.Helper()
	fh, err := os.Open(filepath.Join(testdata, "golden", "samples.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	refs := map[string][]corpusRef{}
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if f[0] == "attrs" && len(f) == 7 {
			frame, _ := strconv.Atoi(f[2])
			if frame >= len(refs[f[1]]) {
				t.Fatalf("samples.txt: attributes of %s frame %d before its samples", f[1], frame)
			}
			refs[f[1]][frame].attrs = f[3:]
			continue
		}
		if len(f) == 3 && f[1] == "-" {
			refs[f[0]] = nil
			if f[2] != "no-image" {
				t.Errorf("samples.txt: %s has no reference (%s)", f[0], f[2])
			}
			continue
		}
		if len(f) != 8 && len(f) != 11 {
			t.Fatalf("samples.txt: bad line %q", sc.Text())
		}
		frame, _ := strconv.Atoi(f[1])
		if frame != len(refs[f[0]]) {
			t.Fatalf("samples.txt: %s frame %d out of order", f[0], frame)
		}
		r := corpusRef{tool: f[2], sha: f[5], min: f[6], max: f[7]}
		r.count, _ = strconv.Atoi(f[4])
		if len(f) == 11 {
			r.tolerance, _ = strconv.ParseInt(f[8], 10, 64)
			for k, s := range strings.Split(f[9], ",") {
				r.crop[k], _ = strconv.Atoi(s)
			}
			r.cropSource = f[10]
		}
		refs[f[0]] = append(refs[f[0]], r)
	}
	return refs
}

// corpusFiles returns every test file of the corpus, keyed as in samples.txt:
// "dicom/…" for testdata/dicom, "more/…" for the shared collection.
func corpusFiles(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	walk := func(set, root string) {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			switch {
			case err != nil:
				return err
			case d.IsDir() && d.Name() == "golden":
				return filepath.SkipDir
			case d.IsDir():
				return nil
			}
			rel, _ := filepath.Rel(root, p)
			inStudy := strings.HasPrefix(rel, "dicomdir_study"+string(filepath.Separator))
			if strings.HasSuffix(p, ".dcm") || inStudy && !strings.HasPrefix(d.Name(), "README") {
				out[set+"/"+filepath.ToSlash(rel)] = p
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	walk("dicom", testdata)
	if _, err := os.Stat(moreTestdata); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the shared DICOM collection is missing: %v", err)
		}
		t.Logf("skipping the shared collection: %v", err)
	} else {
		walk("more", moreTestdata)
	}
	return out
}

// inRaceSample tells whether the corpus tests decode the file named key in this
// run: every file without the race detector; under it, every eighth, picked by
// name. Decoding runs on the test's own goroutine, where the detector has nothing
// to watch and makes it about eight times slower; scripts/test-go.sh (make test)
// runs these tests once more without it, on every file.
func inRaceSample(key string) bool {
	return !raceDetector || crc32.ChecksumIEEE([]byte(key))%8 == 0
}

// TestCorpus decodes every frame of every test file with our own decoders
// only (no GDCM) and compares the samples with references made by other
// decoders (golden/samples.py: GDCM, DCMTK, OpenJPH, OpenJPEG, pydicom, zlib):
// exactly, or within a stated tolerance for lossy files. No panic may be
// recovered on the way.
func TestCorpus(t *testing.T) {
	before := panics.Load()
	refs := corpusRefs(t)
	files := corpusFiles(t)
	for key, path := range files {
		if !inRaceSample(key) {
			continue
		}
		t.Run(key, func(t *testing.T) {
			want, ok := refs[key]
			if !ok {
				t.Fatalf("no reference in golden/samples.txt: run golden/make.sh")
			}
			f, err := Parse(readFile(t, path), Limits{})
			if err != nil {
				t.Fatalf("Parse() = %v", err)
			}
			if want == nil {
				if f.HasImage() || !errors.Is(f.ImageError(), ErrNoPixels) {
					t.Errorf("HasImage() = %v, ImageError() = %v; the reference has no image", f.HasImage(), f.ImageError())
				}
				return
			}
			if !f.HasImage() {
				t.Fatalf("no image: %v", f.ImageError())
			}
			if f.NumFrames() != len(want) {
				t.Fatalf("NumFrames() = %d, reference %d", f.NumFrames(), len(want))
			}
			for i, r := range want {
				checkFrame(t, f, i, r)
				if r.attrs != nil {
					checkAttrs(t, f, i, r.attrs)
				}
			}
		})
	}
	for key := range refs {
		if _, ok := files[key]; !ok && (strings.HasPrefix(key, "dicom/") || len(files) > 0 && hasMore(files)) {
			t.Errorf("samples.txt names %s, which is not there", key)
		}
	}
	if n := panics.Load() - before; n != 0 {
		t.Errorf("%d panics were recovered while decoding the corpus", n)
	}
}

func hasMore(files map[string]string) bool {
	for k := range files {
		if strings.HasPrefix(k, "more/") {
			return true
		}
	}
	return false
}

// checkFrame compares frame i's samples with the reference.
func checkFrame(t *testing.T, f *File, i int, r corpusRef) {
	t.Helper()
	var got []float64
	var b []byte
	if f.img.float != 0 {
		rf := nativeFrame(f.img, f.syntax, i)
		for k := range f.img.framePixels {
			v := rf.floatSample(k)
			got = append(got, v)
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		}
		// The frame shown is quantized to 16 bits: its modality values stay
		// within half a step of the floats.
		fr, err := f.Frame(i)
		if err != nil {
			t.Fatalf("Frame(%d) = %v", i, err)
		}
		for k, v := range got {
			if math.IsNaN(v) {
				continue
			}
			if m := float64(fr.Gray[k])*fr.Slope + fr.Intercept; math.Abs(m-v) > fr.Slope/2*1.0001 {
				t.Fatalf("frame %d sample %d: shown as %v, is %v (step %v)", i, k, m, v, fr.Slope)
			}
		}
	} else {
		rf, _, err := f.raw(i)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		for _, v := range rawSamples(rf) {
			got = append(got, float64(v))
			b = binary.LittleEndian.AppendUint64(b, uint64(v))
		}
	}
	if r.tool == "partial" {
		return // decoded without error: its samples have no reference
	}
	if len(got) != r.count {
		t.Fatalf("frame %d: %d samples, reference %d", i, len(got), r.count)
	}
	sum := sha256.Sum256(b)
	if hex.EncodeToString(sum[:]) == r.sha {
		return
	}
	if r.cropSource == "" {
		lo, hi := minMaxF(got)
		t.Errorf("frame %d: samples differ from %s's (ours %v..%v, reference %s..%s)", i, r.tool, lo, hi, r.min, r.max)
		return
	}
	want := readCrop(t, r.cropSource)
	x0, y0, w, h := r.crop[0], r.crop[1], r.crop[2], r.crop[3]
	spp, cols := f.img.samples, f.img.cols
	if len(want) != w*h*spp {
		t.Fatalf("frame %d: crop of %d samples for %d×%d×%d", i, len(want), w, h, spp)
	}
	var worst float64
	for y := range h {
		for x := range w {
			for s := range spp {
				d := math.Abs(got[((y0+y)*cols+x0+x)*spp+s] - want[(y*w+x)*spp+s])
				worst = math.Max(worst, d)
			}
		}
	}
	if worst > float64(r.tolerance) {
		t.Errorf("frame %d: samples differ from %s's by up to %v (tolerance %d)", i, r.tool, worst, r.tolerance)
	}
}

// checkAttrs compares frame i's rescale and default window with what pydicom
// read from the file's functional groups. Float frames have a rescale of their
// own (their quantization), so only the window is compared.
func checkAttrs(t *testing.T, f *File, i int, want []string) {
	t.Helper()
	fr, err := f.Frame(i)
	if err != nil {
		t.Fatalf("Frame(%d) = %v", i, err)
	}
	num := func(s string, def float64) float64 {
		if s == "-" {
			return def
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("samples.txt: bad number %q", s)
		}
		return v
	}
	if f.img.float == 0 {
		if s, b := num(want[0], 1), num(want[1], 0); fr.Slope != s || fr.Intercept != b {
			t.Errorf("frame %d: rescale %v·x + %v, the file says %v·x + %v", i, fr.Slope, fr.Intercept, s, b)
		}
	}
	if want[2] != "-" && want[3] != "-" {
		if w := (Window{Center: num(want[2], 0), Width: num(want[3], 0)}); fr.Window != w {
			t.Errorf("frame %d: window %+v, the file says %+v", i, fr.Window, w)
		}
	}
}

// rawSamples returns a raw frame's samples masked and sign-extended at full
// precision, pixel-interleaved.
func rawSamples(rf *rawFrame) []int64 {
	n := int64(rf.w) * int64(rf.h) * int64(rf.spp)
	out := make([]int64, 0, n)
	if rf.sub422 {
		row := make([]int32, rf.w*rf.spp)
		for y := range rf.h {
			rf.row(y, row, false)
			for _, v := range row {
				out = append(out, int64(v))
			}
		}
		return out
	}
	plane := int64(rf.w) * int64(rf.h)
	for k := range n {
		src := k
		if rf.planar && rf.spp > 1 {
			src = k%int64(rf.spp)*plane + k/int64(rf.spp)
		}
		out = append(out, rf.value64(rf.sample(src)))
	}
	return out
}

func minMaxF(v []float64) (float64, float64) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, x := range v {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	return lo, hi
}

// readCrop reads a crop stored by golden/samples.py: little endian int16,
// int32 or float64 as its name says, gzipped.
func readCrop(t *testing.T, name string) []float64 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testdata, "golden", name))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	var out []float64
	switch {
	case strings.HasSuffix(name, ".i16.gz"):
		for k := 0; k+2 <= len(raw); k += 2 {
			out = append(out, float64(int16(binary.LittleEndian.Uint16(raw[k:]))))
		}
	case strings.HasSuffix(name, ".i32.gz"):
		for k := 0; k+4 <= len(raw); k += 4 {
			out = append(out, float64(int32(binary.LittleEndian.Uint32(raw[k:]))))
		}
	case strings.HasSuffix(name, ".f64.gz"):
		for k := 0; k+8 <= len(raw); k += 8 {
			out = append(out, math.Float64frombits(binary.LittleEndian.Uint64(raw[k:])))
		}
	default:
		t.Fatalf("crop %s: unknown sample type", name)
	}
	return out
}

// TestParseAtMatchesParse parses every corpus file with ParseAt as if it were
// large (reading only its start, then the pixel data frame by frame, through
// a ReaderAt) and checks that every frame decodes to the samples Parse gives.
func TestParseAtMatchesParse(t *testing.T) {
	defer func(w, h int64) { wholeFileBytes, firstHeaderRead = w, h }(wholeFileBytes, firstHeaderRead)
	wholeFileBytes, firstHeaderRead = 0, 300
	before := panics.Load()
	for key, path := range corpusFiles(t) {
		if !inRaceSample(key) {
			continue
		}
		t.Run(key, func(t *testing.T) {
			data := readFile(t, path)
			want, err := Parse(data, Limits{})
			if err != nil {
				t.Skipf("Parse() = %v", err)
			}
			got, err := ParseAt(bytes.NewReader(data), int64(len(data)), Limits{})
			if err != nil {
				t.Fatalf("ParseAt() = %v", err)
			}
			if diff := cmp.Diff(want.Summary(), got.Summary()); diff != "" {
				t.Errorf("summary differs (-Parse +ParseAt):\n%s", diff)
			}
			if got.NumFrames() != want.NumFrames() || got.HasImage() != want.HasImage() {
				t.Fatalf("%d frames (image %v), Parse %d (%v)", got.NumFrames(), got.HasImage(), want.NumFrames(), want.HasImage())
			}
			for _, i := range []int{0, want.NumFrames() - 1} { // the first and the last: enough to cross the data
				if i < 0 {
					continue
				}
				gf, gerr := got.Frame(i)
				wf, werr := want.Frame(i)
				if (gerr != nil) != (werr != nil) {
					t.Fatalf("frame %d: ParseAt %v, Parse %v", i, gerr, werr)
				}
				if gerr == nil && (!slices.Equal(gf.Gray, wf.Gray) || !bytes.Equal(gf.RGB, wf.RGB) || gf.Window != wf.Window) {
					t.Errorf("frame %d differs", i)
				}
			}
		})
	}
	if n := panics.Load() - before; n != 0 {
		t.Errorf("%d panics recovered", n)
	}
}
