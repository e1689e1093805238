package auth

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

type addrKey struct{}

// WithAddr returns ctx carrying the client address of a request.
func WithAddr(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, addrKey{}, addr)
}

// Addr returns the client address stored by WithAddr, or "".
func Addr(ctx context.Context) string {
	s, _ := ctx.Value(addrKey{}).(string)
	return s
}

// ClientAddr returns the address of the client behind r. X-Forwarded-For is believed
// only when the connection comes from a trusted proxy, and then only as far back as
// the chain stays within trusted proxies, so a client cannot forge its address.
func ClientAddr(r *http.Request, trusted []netip.Prefix) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	peer = peer.Unmap()
	if !isTrusted(peer, trusted) {
		return peer.String()
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		peer = a.Unmap()
		if !isTrusted(peer, trusted) {
			break
		}
	}
	return peer.String()
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Cookie names of the session. Over HTTPS the __Host- prefix binds the cookie to
// this exact origin, with Secure and Path=/ enforced by the browser.
const (
	CookieName       = "medbox_session"
	SecureCookieName = "__Host-medbox_session"
)

// SessionCookie returns the session token sent by a browser, or "".
func SessionCookie(r *http.Request) string {
	for _, name := range []string{SecureCookieName, CookieName} {
		if c, err := r.Cookie(name); err == nil && c.Value != "" {
			return c.Value
		}
	}
	return ""
}

// BearerToken returns the token of an "Authorization: Bearer" header, or "".
func BearerToken(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}
