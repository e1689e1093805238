package preview

import (
	"bytes"
	"errors"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/medbox-jp/medbox/internal/sqldb/sqltest"
)

func TestPreviewRunToolSandbox(t *testing.T) {
	data := bytes.Repeat([]byte("plaintext of a patient's file\n"), 40)
	in := toolInput{r: bytes.NewReader(data), size: int64(len(data))}
	sh := func(script string) func(bool) []string { return func(bool) []string { return []string{"-c", script} } }
	s := testService(t, Limits{})

	t.Run("input is a memory file on fd 3", func(t *testing.T) {
		out, err := s.runTool(t.Context(), "/bin/sh", in, sh(`readlink /dev/fd/3; cat /dev/fd/3`), 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		link, rest, _ := strings.Cut(string(out), "\n")
		if !strings.HasPrefix(link, "/memfd:medbox-preview-in") || rest != string(data) {
			t.Errorf("fd 3 is %q and holds %d bytes", link, len(rest))
		}
	})
	t.Run("empty environment", func(t *testing.T) {
		out, err := s.runTool(t.Context(), "/usr/bin/env", in, func(bool) []string { return nil }, 1<<20)
		if err != nil || len(out) != 0 {
			t.Errorf("env printed %q, %v", out, err)
		}
	})
	t.Run("no file may be written", func(t *testing.T) {
		target := filepath.Join(t.TempDir(), "leak")
		_, err := s.runTool(t.Context(), "/bin/sh", in, sh(`cat /dev/fd/3 > `+target), 1<<20)
		b, _ := os.ReadFile(target)
		if err == nil || len(b) != 0 {
			t.Errorf("the tool wrote %d bytes to a file (err %v)", len(b), err)
		}
	})
	t.Run("output is capped", func(t *testing.T) {
		_, err := s.runTool(t.Context(), "/bin/sh", in, sh(`cat /dev/fd/3`), 100)
		var u *unpreviewable
		if !errors.As(err, &u) || u.code != ReasonTooLarge {
			t.Errorf("err = %v, want too_large", err)
		}
	})
	t.Run("timeout kills the process group", func(t *testing.T) {
		s := testService(t, Limits{ToolTimeout: 300 * time.Millisecond})
		start := time.Now()
		_, err := s.runTool(t.Context(), "/bin/sh", in, sh(`sleep 30 & sleep 30`), 100)
		var u *unpreviewable
		if !errors.As(err, &u) || time.Since(start) > 5*time.Second {
			t.Errorf("err = %v after %v", err, time.Since(start))
		}
	})
	t.Run("large input is streamed on stdin", func(t *testing.T) {
		s := testService(t, Limits{MaxToolInput: 100})
		out, err := s.runTool(t.Context(), "/bin/sh", in, func(streamed bool) []string {
			if !streamed {
				t.Error("not streamed")
			}
			return []string{"-c", "cat"}
		}, 1<<20)
		if err != nil || !bytes.Equal(out, data) {
			t.Errorf("streamed: %d bytes, %v", len(out), err)
		}
	})
}

// testVideo makes a two-second MP4 with ffmpeg's test pattern.
func testVideo(t testing.TB, ffmpeg string, extra ...string) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "clip.mp4")
	args := append([]string{"-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=640x360:rate=10", "-t", "2", "-pix_fmt", "yuv420p"}, extra...)
	if msg, err := exec.Command(ffmpeg, append(args, out)...).CombinedOutput(); err != nil {
		t.Fatalf("make a test video: %v: %s", err, msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPreviewVideoPoster(t *testing.T) {
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		sqltest.Unavailable(t, "ffmpeg (Debian package ffmpeg) is not installed")
	}
	tests := []struct {
		name   string
		lim    Limits
		video  []byte
		poster bool
	}{
		{"memory file", Limits{}, testVideo(t, ffmpeg), true},
		{"streamed, index first", Limits{MaxToolInput: 1000}, testVideo(t, ffmpeg, "-movflags", "+faststart"), true},
		{"not a video", Limits{}, []byte("\x00\x00\x00\x18ftypisom then nothing of use"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := makeFrom(t, testService(t, tt.lim), Video, "video/mp4", tt.video)
			if m.err != nil {
				t.Fatal(m.err)
			}
			if m.out.thumb != tt.poster || m.out.full != tt.poster {
				t.Fatalf("outcome %+v, want a poster: %v", m.out, tt.poster)
			}
			if !tt.poster {
				if m.out.reason != ReasonNoPoster {
					t.Errorf("reason %q", m.out.reason)
				}
				return
			}
			img, err := jpeg.Decode(bytes.NewReader(m.store.Bytes(fullKey("f1"))))
			if err != nil || img.Bounds().Dx() != 640 || img.Bounds().Dy() != 360 {
				t.Errorf("poster: %v, %v", err, img.Bounds())
			}
			if m.out.thumbWidth != 320 || m.out.thumbHeight != 180 {
				t.Errorf("thumbnail %d×%d, want 320×180", m.out.thumbWidth, m.out.thumbHeight)
			}
		})
	}
}

func TestPreviewNoToolNoThumbnail(t *testing.T) {
	s := testService(t, Limits{})
	s.tools = Tools{}
	for _, k := range []Kind{Video, PDF} {
		m := makeFrom(t, s, k, "video/mp4", []byte("anything"))
		if m.err != nil || m.out.thumb || m.out.reason != ReasonNoTool {
			t.Errorf("%s without its tool: %+v, %v", k, m.out, m.err)
		}
	}
}
