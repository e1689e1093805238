package api_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/medbox-jp/medbox/internal/featuretest"
)

// TestFileContent: a file downloads whole or by ranges (resumed downloads, video
// seeking), always as an attachment under its own name unless it is a type a
// browser may show, and sandboxed either way.
func TestFileContent(t *testing.T) {
	data := "紹介状\n経過をご報告します。\n"
	tests := []struct {
		name       string
		query      string
		header     map[string]string
		wantStatus int
		wantBody   string
		wantType   string
	}{
		{"whole", "", nil, 200, data, "application/octet-stream"},
		{"a range", "", map[string]string{"Range": "bytes=10-19"}, 206, data[10:20], "application/octet-stream"},
		{"from an offset to the end", "", map[string]string{"Range": "bytes=10-"}, 206, data[10:], "application/octet-stream"},
		{"inline asked for a type that may not be shown", "?inline=1", nil, 200, data, "application/octet-stream"},
		{"a range past the end", "", map[string]string{"Range": "bytes=9999-"}, 416, "", ""},
	}
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		f := newFixture(t, w)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				f.t = t
				resp := f.do(call{method: "GET", path: "/api/v1/files/" + string(f.file) + "/content" + tt.query, token: f.tokens["rcpt"], header: tt.header})
				body, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != tt.wantStatus {
					t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.wantStatus, body)
				}
				if tt.wantStatus >= 300 {
					return
				}
				if string(body) != tt.wantBody {
					t.Errorf("body %q, want %q", body, tt.wantBody)
				}
				h := resp.Header
				if h.Get("Content-Type") != tt.wantType || !strings.HasPrefix(h.Get("Content-Disposition"), "attachment;") ||
					!strings.Contains(h.Get("Content-Disposition"), "filename*=utf-8''%E7%B4%B9%E4%BB%8B%E7%8A%B6.txt") {
					t.Errorf("Content-Type %q, Content-Disposition %q", h.Get("Content-Type"), h.Get("Content-Disposition"))
				}
				if !strings.Contains(h.Get("Content-Security-Policy"), "sandbox") || h.Get("X-Content-Type-Options") != "nosniff" {
					t.Errorf("a file is served without its sandbox: %v", h)
				}
				if resp.StatusCode == http.StatusPartialContent && h.Get("Content-Range") == "" {
					t.Error("a part without Content-Range")
				}
			})
		}
	})
}
