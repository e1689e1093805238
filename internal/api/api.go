// Package api serves the JSON API under /api/v1 (ARCHITECTURE.md §7) on the same
// services as the web pages. Browsers authenticate with the session cookie, scripts
// with "Authorization: Bearer" tokens from POST /api/v1/login. Errors are
// {"error":{"code","message"}} with the message in the request's language, and a
// thing the caller may not see answers 404 exactly as if it did not exist.
package api

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/medbox-jp/medbox/internal/audit"
	"github.com/medbox-jp/medbox/internal/auth"
	"github.com/medbox-jp/medbox/internal/box"
	"github.com/medbox-jp/medbox/internal/config"
	"github.com/medbox-jp/medbox/internal/filetype"
	"github.com/medbox-jp/medbox/internal/guard"
	"github.com/medbox-jp/medbox/internal/i18n"
	"github.com/medbox-jp/medbox/internal/member"
	"github.com/medbox-jp/medbox/internal/notify"
	"github.com/medbox-jp/medbox/internal/preview"
	"github.com/medbox-jp/medbox/internal/upload"
)

// Options wires a Server.
type Options struct {
	Config  config.Config
	Members *member.Service
	Auth    *auth.Service
	Log     *slog.Logger
	Audit   *audit.Log
	Now     func() time.Time
	Boxes   *box.Service
	Uploads *upload.Service
	Notify  *notify.Service
	// Previews serves previews; without it the preview routes answer 404.
	Previews *preview.Service
	// ChunkIdle ends a chunk request after this long without a byte arriving;
	// 0 means DefaultChunkIdle.
	ChunkIdle time.Duration
}

// Server is the API.
type Server struct {
	cfg     config.Config
	members *member.Service
	auth    *auth.Service
	log     *slog.Logger
	audit   *audit.Log
	now     func() time.Time
	boxes   *box.Service
	uploads *upload.Service
	notify  *notify.Service
	// previews may be nil (the preview routes then answer 404).
	previews  *preview.Service
	chunkIdle time.Duration
}

// New returns a Server.
func New(o Options) *Server {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ChunkIdle <= 0 {
		o.ChunkIdle = DefaultChunkIdle
	}
	return &Server{cfg: o.Config, members: o.Members, auth: o.Auth, log: o.Log, audit: o.Audit, now: o.Now, boxes: o.Boxes, uploads: o.Uploads, notify: o.Notify,
		previews: o.Previews, chunkIdle: o.ChunkIdle}
}

// Handler returns the API's handler, to be mounted at /api/.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range s.routes() {
		mux.Handle(rt.Pattern, s.guard(rt))
	}
	mux.Handle("/api/", s.serve(func(w http.ResponseWriter, r *http.Request) error { return errNotFound }))
	return mux
}

var (
	errNotFound     = guard.ErrNotFound
	errUnauthorized = guard.ErrUnauthorized
	errBadJSON      = guard.ErrBadRequest
	errFixed        = &guard.Problem{Status: http.StatusBadRequest, Code: "fixed_identity"}
	errNotApproved  = guard.ErrNotApproved
	// errBadGrant: the upload grant is missing, unknown, ended or for another
	// upload; the page asks its own origin for a new one, or sends there.
	errBadGrant = &guard.Problem{Status: http.StatusUnauthorized, Code: "bad_grant"}
)

// errorBody is the JSON shape of every error.
type errorBody struct {
	Error struct {
		Code    string            `json:"code"`
		Message string            `json:"message"`
		Fields  map[string]string `json:"fields,omitempty"`
		Reason  string            `json:"reason,omitempty"`
		Entry   string            `json:"entry,omitempty"`
		Missing []int             `json:"missing,omitempty"`
	} `json:"error"`
}

// serve turns a handler's error into a JSON error; what the error means is
// guard.Classify's to say, for the web and the API alike.
func (s *Server) serve(h func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := h(w, r)
		if err == nil {
			return
		}
		if guard.ClientGone(r, err) {
			s.log.InfoContext(r.Context(), "client went away", "route", r.Pattern, "err", err)
			w.WriteHeader(guard.StatusClientGone)
			return
		}
		p, ours := guard.Classify(err)
		if !ours {
			s.log.ErrorContext(r.Context(), "api request failed", "route", r.Pattern, "err", err)
		}
		lang := lang(r)
		var body errorBody
		body.Error.Code = p.Code
		body.Error.Message = i18n.T(lang, "api.err."+p.Code, s.limitArgs()...)
		if p.Reason != "" {
			body.Error.Reason = p.Reason
			body.Error.Message = i18n.T(lang, "api.err.type."+p.Reason, typeArgs...)
			if p.Entry != "" {
				body.Error.Entry = p.Entry
				body.Error.Message = i18n.T(lang, "api.err.type_in_entry", "Entry", p.Entry, "Reason", body.Error.Message)
			}
		}
		body.Error.Missing = p.Missing
		if len(p.Fields) > 0 {
			body.Error.Fields = map[string]string{}
			for f, code := range p.Fields {
				body.Error.Fields[f] = i18n.T(lang, "err."+code)
			}
		}
		if p.Status == http.StatusTooManyRequests && w.Header().Get("Retry-After") == "" {
			w.Header().Set("Retry-After", "60")
		}
		writeJSON(w, p.Status, body)
	})
}

// typeArgs fill the limits of the container walk into the refusal messages.
var typeArgs = []any{"Depth", filetype.MaxDepth, "Entries", filetype.MaxEntries,
	"Expanded", i18n.Size(filetype.MaxExpanded), "Ratio", filetype.MaxRatio}

// limitArgs fill the limits into messages that name them.
func (s *Server) limitArgs() []any {
	l := s.cfg.Limits
	return []any{"Files", l.MaxFiles, "Send", i18n.Size(l.MaxSendBytes), "Quota", i18n.Size(l.QuotaBytes)}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v)
}

// decodeJSON reads a JSON body of at most limit bytes into v, refusing unknown
// fields and trailing data.
func decodeJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return &guard.Problem{Status: http.StatusBadRequest, Code: "bad_request", Fields: map[string]string{"body": "bad_json"}}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errBadJSON
	}
	return nil
}

func lang(r *http.Request) i18n.Lang {
	choice := ""
	if c, err := r.Cookie("lang"); err == nil {
		choice = c.Value
	}
	return i18n.Negotiate(choice, r.Header.Get("Accept-Language"))
}
