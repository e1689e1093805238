package auth_test

import (
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/medbox-jp/medbox/internal/auth"
)

// TestClientAddr: X-Forwarded-For is believed only from trusted proxies, and
// only as far back as the chain stays within them, so a client cannot choose
// the address its sign-in failures are counted against.
func TestClientAddr(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	tests := []struct {
		name, remote, forwarded, want string
	}{
		{"direct", "203.0.113.5:4000", "", "203.0.113.5"},
		{"direct, forging the header", "203.0.113.5:4000", "198.51.100.1", "203.0.113.5"},
		{"through the proxy", "10.0.0.2:4000", "198.51.100.1", "198.51.100.1"},
		{"through the proxy, forging a hop", "10.0.0.2:4000", "192.0.2.66, 198.51.100.1", "198.51.100.1"},
		{"through two proxies", "10.0.0.2:4000", "198.51.100.1, 10.0.0.3", "198.51.100.1"},
		{"proxy without the header", "10.0.0.2:4000", "", "10.0.0.2"},
		{"garbage in the header", "10.0.0.2:4000", "not an address", "10.0.0.2"},
		{"IPv4 in IPv6", "[::ffff:203.0.113.5]:4000", "", "203.0.113.5"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tt.remote
		if tt.forwarded != "" {
			r.Header.Set("X-Forwarded-For", tt.forwarded)
		}
		if got := auth.ClientAddr(r, trusted); got != tt.want {
			t.Errorf("%s: ClientAddr() = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestBearerToken(t *testing.T) {
	tests := []struct{ header, want string }{
		{"Bearer abc", "abc"},
		{"bearer  abc ", "abc"},
		{"Basic abc", ""},
		{"Bearer", ""},
		{"", ""},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", tt.header)
		if got := auth.BearerToken(r); got != tt.want {
			t.Errorf("BearerToken(%q) = %q, want %q", tt.header, got, tt.want)
		}
	}
}
