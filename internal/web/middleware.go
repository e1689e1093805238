package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/medbox-jp/medbox/internal/auth"
)

// contentSecurityPolicy allows nothing inline and nothing from elsewhere: scripts,
// styles, images and connections come from this origin only, and no other site may
// frame the app (R-X8).
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; " +
	"media-src 'self' blob:; connect-src 'self'; font-src 'self'; worker-src 'self'; manifest-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// securityHeaders sets the headers every response carries. Responses default to
// no-store: almost everything is personal; static files override it.
func securityHeaders(secure bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()")
		h.Set("Cache-Control", "no-store")
		if secure {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		next.ServeHTTP(w, r)
	})
}

// withClient stores the client address in the request context.
func (s *Server) withClient(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		addr := auth.ClientAddr(r, s.cfg.TrustedProxies)
		next.ServeHTTP(w, r.WithContext(auth.WithAddr(r.Context(), addr)))
	})
}

// statusWriter remembers the status and size of a response for the access log.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the real writer (flushes, deadlines).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// logRequests writes one JSON line per request. The query string is left out: it
// carries single-use tokens from mailed links. Host and protocol show an operator
// whether uploads reach the upload hosts on connections of their own.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		path := r.URL.Path
		if strings.HasPrefix(path, "/static/") && sw.status < 400 {
			return
		}
		s.log.InfoContext(r.Context(), "request", "method", r.Method, "host", r.Host, "path", path, "proto", r.Proto,
			"status", sw.status, "bytes", sw.bytes, "ms", time.Since(start).Milliseconds(), "addr", auth.Addr(r.Context()))
	})
}
