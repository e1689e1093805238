// Package web serves MedBox to browsers: server-rendered pages and forms, the
// middleware every response passes through (security headers, cross-origin
// protection, request logging, client address, language), embedded templates and
// static files. The JSON API is mounted under /api/ from package api.
package web

import (
	"context"
	"embed"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/medbox-jp/medbox/internal/audit"
	"github.com/medbox-jp/medbox/internal/auth"
	"github.com/medbox-jp/medbox/internal/box"
	"github.com/medbox-jp/medbox/internal/config"
	"github.com/medbox-jp/medbox/internal/i18n"
	"github.com/medbox-jp/medbox/internal/member"
	"github.com/medbox-jp/medbox/internal/monitor"
	"github.com/medbox-jp/medbox/internal/notify"
	"github.com/medbox-jp/medbox/internal/preview"
)

//go:embed templates static
var assets embed.FS

// Options wires a Server.
type Options struct {
	Config  config.Config
	Members *member.Service
	Auth    *auth.Service
	Boxes   *box.Service
	Notify  *notify.Service
	Monitor *monitor.Service
	API     http.Handler // mounted at /api/
	Ready   func(ctx context.Context) error
	Log     *slog.Logger
	Audit   *audit.Log
	Now     func() time.Time
	// Metrics, when set, measure every request and are served at GET /metrics
	// to requests bearing MetricsToken or, without a token, from this machine.
	Metrics      *Metrics
	MetricsToken string

	// Previews, when set, give the box page its thumbnails and serve the viewer.
	Previews *preview.Service
}

// Server serves the pages.
type Server struct {
	cfg     config.Config
	members *member.Service
	auth    *auth.Service
	boxes   *box.Service
	notify  *notify.Service
	monitor *monitor.Service
	api     http.Handler
	ready   func(ctx context.Context) error
	log     *slog.Logger
	audit   *audit.Log
	now     func() time.Time
	pages   pageSet
	secure  bool // served over HTTPS: Secure, __Host- cookies and HSTS
	metrics *Metrics
	mtoken  string

	previews *preview.Service // may be nil: no thumbnails, no viewer
}

// New returns a Server; it parses every template once.
func New(o Options) (*Server, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	u, _ := url.Parse(o.Config.BaseURL)
	return &Server{
		cfg: o.Config, members: o.Members, auth: o.Auth, boxes: o.Boxes, notify: o.Notify, monitor: o.Monitor, previews: o.Previews, api: o.API, ready: o.Ready,
		log: o.Log, audit: o.Audit, now: o.Now, pages: pages, secure: u != nil && u.Scheme == "https", metrics: o.Metrics, mtoken: o.MetricsToken,
	}, nil
}

// Handler returns the whole HTTP handler: pages, static files, health checks and
// the API, behind the shared middleware.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range s.routes() {
		mux.Handle(rt.Pattern, s.guard(rt))
	}
	static, _ := fs.Sub(assets, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", staticFiles(static)))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", s.readyz)
	if s.metrics != nil {
		mux.Handle("GET /metrics", s.metrics.handler(s.mtoken))
	}
	if s.api != nil {
		mux.Handle("/api/", s.api)
	}
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.log.WarnContext(r.Context(), "cross-origin request refused", "method", r.Method, "path", r.URL.Path)
		http.Error(w, "cross-origin request refused / 外部サイトからの操作は受け付けません", http.StatusForbidden)
	}))
	s.trustUploadOrigins(cop)
	return s.withClient(s.logRequests(s.metrics.measure(securityHeaders(s.secure, s.allowUploadOrigins(cop.Handler(mux))))))
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		if err := s.ready(ctx); err != nil {
			s.log.WarnContext(r.Context(), "not ready", "err", err)
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
	}
	w.Write([]byte("ready\n"))
}

// staticFiles serves the embedded assets with long caching; their URLs carry no
// version, so the cache is kept moderate.
func staticFiles(fsys fs.FS) http.Handler {
	h := http.FileServerFS(fsys)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") || r.URL.Path == "" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		h.ServeHTTP(w, r)
	})
}

// errRedirect is returned by guards after they have redirected.
var errRedirect = errors.New("redirected")

// lang returns the language of a request: the lang cookie, else Accept-Language.
func lang(r *http.Request) i18n.Lang {
	choice := ""
	if c, err := r.Cookie("lang"); err == nil {
		choice = c.Value
	}
	return i18n.Negotiate(choice, r.Header.Get("Accept-Language"))
}
