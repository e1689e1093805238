package dicom

import "testing"

// benchmarkView measures what showing a file costs: parse, decode every frame,
// render it with its default window.
func benchmarkView(b *testing.B, n string) {
	data := readFile(b, findFile(b, n))
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		f, err := Parse(data, Limits{})
		if err != nil {
			b.Fatal(err)
		}
		for i := range f.NumFrames() {
			fr, err := f.Frame(i)
			if err != nil {
				b.Fatal(err)
			}
			fr.Render(Window{})
		}
	}
}

func BenchmarkViewMR10Frame(b *testing.B)      { benchmarkView(b, "mr_10frame_native") }
func BenchmarkViewMR10FrameRLE(b *testing.B)   { benchmarkView(b, "mr_10frame_rle") }
func BenchmarkViewMR10FrameJLS(b *testing.B)   { benchmarkView(b, "mr_10frame_jpegls_lossless") }
func BenchmarkViewCR(b *testing.B)             { benchmarkView(b, "cr_chest_mono1_implicit") }
func BenchmarkViewNMLosslessJPEG(b *testing.B) { benchmarkView(b, "nm_jpeg_lossless_sv1") }

func BenchmarkViewMRJ2KLossy(b *testing.B) { benchmarkView(b, "mr_j2k_lossy") }
