package dicom

import (
	"path/filepath"
	"testing"

	"github.com/medbox-jp/medbox/internal/dicom/internal/dicomtest"
)

// fuzzLimits keep each fuzz input fast: small frames, no GDCM.
var fuzzLimits = Limits{MaxFramePixels: 1 << 18, MaxTotalPixels: 1 << 20, MaxInflatedBytes: 4 << 20, MaxElements: 1 << 14}

// fuzzAllocCap is the most a fuzz input may allocate within fuzzLimits
// (dicomtest.AllocCap): the limits bound memory, not only the image size.
const fuzzAllocCap = 64 << 20

// addSeeds adds every test file of at most 32 KB (and the DICOMDIRs), and the
// first 4 KB of the larger ones: the fuzzer's minimizer is very slow on large
// inputs, and the headers are where the parser's decisions are.
func addSeeds(f *testing.F) {
	paths := testFiles(f)
	dirs, _ := filepath.Glob(filepath.Join(testdata, "dicomdir_study", "DICOMDIR*"))
	for _, p := range append(paths, dirs...) {
		b := readFile(f, p)
		if len(b) > 32<<10 {
			b = b[:4<<10]
		}
		f.Add(b)
	}
}

// noRecoveredPanic fails the fuzz input if Parse or Frame recovered a panic:
// their recover is a last line of defence, and reaching it is a bug.
func noRecoveredPanic(t *testing.T, before int64) {
	t.Helper()
	if n := panics.Load() - before; n != 0 {
		t.Fatalf("%d panics recovered", n)
	}
}

func FuzzParse(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		defer noRecoveredPanic(t, panics.Load())
		defer dicomtest.AllocCap(t, fuzzAllocCap)()
		IsDICOM(data)
		file, err := Parse(data, fuzzLimits)
		if err != nil {
			return
		}
		s := file.Summary()
		if s.HasImage != file.HasImage() {
			t.Fatal("Summary().HasImage disagrees with HasImage()")
		}
	})
}

func FuzzRender(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		defer noRecoveredPanic(t, panics.Load())
		defer dicomtest.AllocCap(t, 2*fuzzAllocCap)()
		file, err := Parse(data, fuzzLimits)
		if err != nil || !file.HasImage() {
			return
		}
		for i := range min(file.NumFrames(), 2) {
			fr, err := file.Frame(i)
			if err != nil {
				continue
			}
			for _, w := range []Window{{}, {Center: 40, Width: 400}, {Center: 0, Width: 0.5}} {
				if b := fr.Render(w).Bounds(); b.Dx() != fr.Width || b.Dy() != fr.Height {
					t.Fatalf("Render is %v for a %d×%d frame", b, fr.Width, fr.Height)
				}
			}
			b, err := fr.Viewer().MarshalBinary()
			if err != nil {
				t.Fatalf("MarshalBinary() = %v", err)
			}
			var v ViewerFrame
			if err := v.UnmarshalBinary(b); err != nil {
				t.Fatalf("UnmarshalBinary() = %v", err)
			}
			file.DefaultWindow(i)
		}
	})
}

func FuzzDICOMDIR(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := ReadDICOMDIR(data)
		if err != nil {
			return
		}
		for _, id := range ReferencedFiles(recs) {
			if fileID(id) == nil {
				t.Fatalf("unsafe file ID %q", id)
			}
		}
		OrderSeries(make([]Summary, len(recs)))
	})
}

func FuzzCharset(f *testing.F) {
	f.Add(`ISO 2022 IR 13\ISO 2022 IR 87`, []byte("\xd4\xcf^\x1b$B;3ED\x1b(J"))
	f.Add(`\ISO 2022 IR 149`, []byte("\x1b$)C\xb1\xe8"))
	f.Add("ISO_IR 192", []byte("山田"))
	f.Add("", []byte("M\xfcller\x1b$B"))
	f.Fuzz(func(t *testing.T, cs string, raw []byte) {
		s := cleanText(newCharset(rawStrings([]byte(cs))).decode(raw))
		for _, r := range s {
			if r < 0x20 || isBidiControl(r) {
				t.Fatalf("control character %U survived in %q", r, s)
			}
		}
	})
}

// FuzzDeflatedFrame fuzzes Deflated Image Frame Compression frames
// (deflateframe.go) with fuzzed geometry: whatever they inflate to, the frame
// decodes to the declared size or fails.
func FuzzDeflatedFrame(f *testing.F) {
	n := 0
	for _, p := range testFiles(f) {
		file := parseFile(f, p, Limits{})
		if file.syntax.codec != codecDeflate {
			continue
		}
		im := file.img
		for i := range file.NumFrames() {
			fr, err := file.encoded(i)
			if err != nil {
				f.Fatalf("%s: %v", p, err)
			}
			f.Add(fr.data, uint16(im.rows), uint16(im.cols), uint8(map[int]int{1: 0, 8: 1, 16: 2, 32: 3}[im.bitsAlloc]), uint8(im.samples/3), false)
			n++
		}
	}
	if n < 5 {
		f.Fatalf("found only %d deflated frames", n)
	}
	f.Fuzz(func(t *testing.T, data []byte, rows, cols uint16, bits, spp uint8, partial bool) {
		defer noRecoveredPanic(t, panics.Load())
		defer dicomtest.AllocCap(t, 32<<20)()
		im := &imageInfo{rows: int(rows%512) + 1, cols: int(cols%512) + 1, samples: 1 + 2*int(spp%2), photometric: "MONOCHROME2", present: 1, frames: 1}
		im.bitsAlloc = []int{1, 8, 16, 32}[bits%4]
		im.bitsStored, im.highBit = im.bitsAlloc, im.bitsAlloc-1
		if im.samples == 3 {
			im.photometric = "RGB"
		}
		im.framePixels = int64(im.rows) * int64(im.cols) * int64(im.samples)
		rf, err := decodeDeflated(encodedFrame{data: data, partial: partial}, im)
		if err != nil {
			return
		}
		if need := storedBytes(im.framePixels, im.bitsAlloc); int64(len(rf.data)) != need && !partial {
			t.Fatalf("inflated to %d bytes, frame needs %d", len(rf.data), need)
		}
		if _, _, err := unpack(rf); err != nil {
			t.Fatalf("unpack() = %v", err)
		}
	})
}
