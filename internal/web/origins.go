package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/medbox-jp/medbox/internal/auth"
	"github.com/medbox-jp/medbox/internal/upload"
)

// Upload origins (MEDBOX_UPLOAD_ORIGINS) are extra origins of this instance —
// host names on port 443 (up1.example.jp …) or ports of the page's host — that
// take chunk PUTs over HTTP/1.1, so that a browser — six connections per origin,
// and a single one for a whole HTTP/2 origin — carries a page's chunks on many TCP
// connections at once. On a lossy long-distance link that is what makes an
// upload several times faster than one stream (R-T1, bench/README.md).
//
// An upload origin serves nothing but
//
//	PUT     /api/v1/chunk   (upload.GrantedChunkPath: the chunk PUT, upload and chunk named in headers)
//	OPTIONS /api/v1/chunk   (its CORS preflight)
//
// and only for requests from the page's own origin (the base URL's). They are
// authorised by an upload grant in a header (auth.GrantHeader), never by a
// cookie, which a host-only __Host- cookie could not do across host names. One
// path for every chunk lets the browser cache the preflight
// (Access-Control-Max-Age) instead of paying a round trip per chunk. CORS
// answers name that one origin, never "*", and allow no credentials.

// preflightMaxAge is how long a browser may reuse an upload host's preflight
// (Chromium caps it at two hours, Firefox at a day, WebKit at ten minutes).
const preflightMaxAge = "7200"

// pageOrigin is the origin the pages are served from, "" if unknown.
func (s *Server) pageOrigin() string {
	u, err := url.Parse(s.cfg.BaseURL)
	if err != nil || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// UploadOrigin wraps the instance's whole handler for an upload origin. A
// preflight from the page's origin is answered here; a chunk PUT gets its CORS
// headers and goes through full, with every middleware and the API's guard
// (which accepts nothing but the grant on that route). Everything else is 404,
// and any other Origin is refused with 403.
func (s *Server) UploadOrigin(full http.Handler) http.Handler {
	page := s.pageOrigin()
	allowHeaders := strings.Join([]string{"Content-Digest", "Content-Type", upload.IDHeader, upload.ChunkHeader, auth.GrantHeader}, ", ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
		h.Add("Vary", "Origin")
		if r.URL.Path != upload.GrantedChunkPath || (r.Method != http.MethodPut && r.Method != http.MethodOptions) {
			http.NotFound(w, r)
			return
		}
		origin := r.Header.Get("Origin")
		if origin != "" && origin != page {
			s.log.WarnContext(r.Context(), "upload origin: request from an unknown origin refused", "method", r.Method, "origin", origin)
			http.Error(w, "cross-origin request refused / 外部サイトからの操作は受け付けません", http.StatusForbidden)
			return
		}
		if r.Method == http.MethodOptions {
			if origin == "" || r.Header.Get("Access-Control-Request-Method") != http.MethodPut {
				http.Error(w, "not a CORS preflight", http.StatusBadRequest)
				return
			}
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Methods", "PUT")
			h.Set("Access-Control-Allow-Headers", allowHeaders)
			h.Set("Access-Control-Max-Age", preflightMaxAge)
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if origin != "" {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Expose-Headers", "Retry-After")
		}
		full.ServeHTTP(w, r)
	})
}

// trustUploadOrigins lets chunk PUTs that the page sends to an upload origin
// pass cross-origin protection there: they come from the page's origin, which
// is same-site but not same-origin. Upload origins serve no pages, so trusting
// them in turn lets no script act on the main origin that could not already.
func (s *Server) trustUploadOrigins(cop *http.CrossOriginProtection) {
	if len(s.cfg.Transfer.UploadOrigins) == 0 {
		return
	}
	if page := s.pageOrigin(); page != "" {
		if err := cop.AddTrustedOrigin(page); err != nil {
			s.log.Warn("trust page origin for upload origins", "err", err)
		}
	}
}

// allowUploadOrigins adds the upload origins to the pages' connect-src, which
// otherwise names only 'self', so the upload script may reach them.
func (s *Server) allowUploadOrigins(next http.Handler) http.Handler {
	origins := s.cfg.Transfer.UploadOrigins
	if len(origins) == 0 {
		return next
	}
	csp := strings.Replace(contentSecurityPolicy, "connect-src 'self'", "connect-src 'self' "+strings.Join(origins, " "), 1)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", csp)
		next.ServeHTTP(w, r)
	})
}

// uploadTransfer is what the box page tells the upload script about where and
// how many chunks to send.
type uploadTransfer struct {
	Origins     string // space-separated upload origins; empty: the page's own
	Concurrency int    // chunk PUTs in flight; 0: the script's default
}

func (s *Server) uploadTransfer() uploadTransfer {
	return uploadTransfer{Origins: strings.Join(s.cfg.Transfer.UploadOrigins, " "), Concurrency: s.cfg.Transfer.UploadConcurrency}
}
