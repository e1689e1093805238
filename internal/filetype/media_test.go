package filetype_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/medbox-jp/medbox/internal/filetype"
	"github.com/medbox-jp/medbox/internal/sqldb/sqltest"
)

// TestDetectMedia makes real WebP images and videos with ffmpeg: Go has no
// encoder for them.
func TestDetectMedia(t *testing.T) {
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		sqltest.Unavailable(t, "ffmpeg not installed")
	}
	dir := t.TempDir()
	encode := func(name string, args ...string) []byte {
		t.Helper()
		out := filepath.Join(dir, name)
		full := append([]string{"-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=10:duration=1"}, args...)
		if msg, err := exec.Command(ffmpeg, append(full, "-y", out)...).CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg %s: %v\n%s", name, err, msg)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name string
		data []byte
		want want
	}{
		{"clip.mp4", encode("clip.mp4", "-c:v", "libx264", "-pix_fmt", "yuv420p"), want{class: filetype.Video, mime: "video/mp4"}},
		{"IMG_0001.MOV", encode("clip.mov", "-c:v", "libx264", "-pix_fmt", "yuv420p"), want{class: filetype.Video, mime: "video/quicktime"}},
		{"clip.webm", encode("clip.webm", "-c:v", "libvpx"), want{class: filetype.Video, mime: "video/webm"}},
		{"photo.webp", encode("photo.webp", "-frames:v", "1"), want{class: filetype.Image, mime: "image/webp"}},
		{"clip.avi", encode("clip.avi", "-c:v", "mpeg4"), want{code: filetype.CodeUnknown}},
		{"clip.mp4.exe", encode("clip2.mp4", "-c:v", "libx264", "-pix_fmt", "yuv420p"), want{code: filetype.CodeExecutable}},
	}
	for _, tt := range tests {
		check(t, tt.name, tt.data, tt.name, tt.want)
	}
}
