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

	"github.com/medbox-jp/medbox/internal/auth"
	"github.com/medbox-jp/medbox/internal/box"
	"github.com/medbox-jp/medbox/internal/config"
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
	return &Server{cfg: o.Config, members: o.Members, auth: o.Auth, log: o.Log, now: o.Now, boxes: o.Boxes, uploads: o.Uploads, notify: o.Notify,
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

// apiError is an error with a status and a code for the JSON body.
type apiError struct {
	status  int
	code    string
	fields  map[string]string // for "invalid": field → i18n code
	reason  string            // for "type_not_allowed": why, as an i18n code
	entry   string            // for "type_not_allowed": the entry inside the file that is why, if any
	missing []int             // for "chunks_missing"
}

func (e *apiError) Error() string { return e.code }

var (
	errNotFound     = &apiError{status: http.StatusNotFound, code: "not_found"}
	errUnauthorized = &apiError{status: http.StatusUnauthorized, code: "unauthorized"}
	errBadJSON      = &apiError{status: http.StatusBadRequest, code: "bad_request"}
	errFixed        = &apiError{status: http.StatusBadRequest, code: "fixed_identity"}
	errNotApproved  = &apiError{status: http.StatusForbidden, code: "not_approved"}
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

// serve turns a handler's error into a JSON error, in one place.
func (s *Server) serve(h func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := h(w, r)
		if err == nil {
			return
		}
		ae := s.classify(r, err)
		lang := lang(r)
		var body errorBody
		body.Error.Code = ae.code
		body.Error.Message = i18n.T(lang, "api.err."+ae.code, s.limitArgs()...)
		if ae.reason != "" {
			body.Error.Reason = ae.reason
			body.Error.Message = i18n.T(lang, "api.err.type."+ae.reason, typeArgs...)
			if ae.entry != "" {
				body.Error.Entry = ae.entry
				body.Error.Message = i18n.T(lang, "api.err.type_in_entry", "Entry", ae.entry, "Reason", body.Error.Message)
			}
		}
		body.Error.Missing = ae.missing
		if len(ae.fields) > 0 {
			body.Error.Fields = map[string]string{}
			for f, code := range ae.fields {
				body.Error.Fields[f] = i18n.T(lang, "err."+code)
			}
		}
		if ae.status == http.StatusTooManyRequests && w.Header().Get("Retry-After") == "" {
			w.Header().Set("Retry-After", "60")
		}
		writeJSON(w, ae.status, body)
	})
}

func (s *Server) classify(r *http.Request, err error) *apiError {
	var ae *apiError
	var fe member.FieldErrors
	var te *auth.ThrottledError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &fe):
		return &apiError{status: http.StatusBadRequest, code: "invalid", fields: fe}
	case errors.Is(err, member.ErrNotFound):
		return errNotFound
	case errors.Is(err, member.ErrBadToken):
		return &apiError{status: http.StatusGone, code: "bad_link"}
	case errors.Is(err, member.ErrWrongState):
		return &apiError{status: http.StatusConflict, code: "wrong_state"}
	case errors.Is(err, member.ErrTooMany):
		return &apiError{status: http.StatusTooManyRequests, code: "too_many"}
	case errors.Is(err, member.ErrBadPassword):
		return &apiError{status: http.StatusBadRequest, code: "invalid", fields: map[string]string{"password": "wrong_password"}}
	case errors.Is(err, auth.ErrBadCredentials):
		return &apiError{status: http.StatusUnauthorized, code: "bad_credentials"}
	case errors.Is(err, auth.ErrSuspended):
		return &apiError{status: http.StatusForbidden, code: "suspended"}
	case errors.Is(err, auth.ErrNewPassword):
		return &apiError{status: http.StatusForbidden, code: "new_password_required"}
	case errors.As(err, &te):
		return &apiError{status: http.StatusTooManyRequests, code: "throttled"}
	}
	if ae := classifyBox(err); ae != nil {
		return ae
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &apiError{status: http.StatusRequestEntityTooLarge, code: "too_large"}
	}
	s.log.ErrorContext(r.Context(), "api request failed", "route", r.Pattern, "err", err)
	return &apiError{status: http.StatusInternalServerError, code: "internal"}
}

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
		return &apiError{status: http.StatusBadRequest, code: "bad_request", fields: map[string]string{"body": "bad_json"}}
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
