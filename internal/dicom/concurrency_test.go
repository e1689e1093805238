package dicom

import (
	"sync"
	"testing"
)

// TestConcurrentUse reads one File from several goroutines (run with -race).
func TestConcurrentUse(t *testing.T) {
	f := parseFile(t, findFile(t, "mr_10frame_jpegls_lossless"), Limits{})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range f.NumFrames() {
				fr, err := f.Frame((i + g) % f.NumFrames())
				if err != nil {
					t.Error(err)
					return
				}
				fr.Render(f.DefaultWindow(i))
				f.Summary()
			}
		})
	}
	wg.Wait()
}
