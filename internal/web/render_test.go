package web

import "testing"

// TestLocalPath: a "next" parameter may only name a path of this site. Browsers
// drop tabs and newlines from URLs and read "\" as "/", so "/\t/evil.example"
// would otherwise leave the site.
func TestLocalPath(t *testing.T) {
	for next, want := range map[string]string{
		"/settings":               "/settings",
		"/boxes/abc?tab=files#c1": "/boxes/abc?tab=files#c1",
		"/admin/members/x":        "/admin/members/x",
		"":                        "/",
		"settings":                "/",
		"https://evil.example/":   "/",
		"//evil.example":          "/",
		"/\\evil.example":         "/",
		"/\t/evil.example":        "/",
		"/\n/evil.example":        "/",
		"/\r\n/evil.example":      "/",
		"/\t\\evil.example":       "/",
		"/x\\..\\..\\evil":        "/",
		"/\x00/evil.example":      "/",
		"/\x7f/evil.example":      "/",
		"javascript:alert(1)":     "/",
	} {
		if got := localPath(next, "/"); got != want {
			t.Errorf("localPath(%q) = %q, want %q", next, got, want)
		}
	}
}
