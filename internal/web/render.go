package web

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"
	_ "time/tzdata" // Asia/Tokyo on machines without zoneinfo

	"github.com/medbox-jp/medbox/internal/auth"
	"github.com/medbox-jp/medbox/internal/guard"
	"github.com/medbox-jp/medbox/internal/i18n"
	"github.com/medbox-jp/medbox/internal/member"
)

// jst is where MedBox's users are; times are shown in it.
var jst = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		return time.FixedZone("JST", 9*3600)
	}
	return loc
}()

// pageSet holds every page template, parsed once per language so that the t
// function is bound to the page's language.
type pageSet map[i18n.Lang]map[string]*template.Template

func parsePages() (pageSet, error) {
	files, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		return nil, err
	}
	set := pageSet{}
	for _, lang := range i18n.Langs {
		set[lang] = map[string]*template.Template{}
		for _, f := range files {
			name := strings.TrimSuffix(path.Base(f), ".html")
			if name == "layout" {
				continue
			}
			t, err := template.New("layout.html").Funcs(funcs(lang)).ParseFS(assets, "templates/layout.html", f)
			if err != nil {
				return nil, fmt.Errorf("parse page %s: %w", name, err)
			}
			set[lang][name] = t
		}
	}
	return set, nil
}

func funcs(lang i18n.Lang) template.FuncMap {
	return template.FuncMap{
		"t":      func(id string, args ...any) string { return i18n.T(lang, id, args...) },
		"device": func(ua string, kind auth.Kind) string { return deviceName(lang, ua, kind) },
		"profession": func(p member.Profession) string {
			return i18n.T(lang, "profession."+string(p))
		},
		"status": func(s member.Status) string { return i18n.T(lang, "status."+string(s)) },
		"fieldError": func(fe member.FieldErrors, field string) string {
			if code, ok := fe[field]; ok {
				return i18n.T(lang, "err."+code)
			}
			return ""
		},
		"datetime": func(t time.Time) string {
			if t.IsZero() {
				return "—"
			}
			return t.In(jst).Format("2006-01-02 15:04")
		},
		"professions": func() []member.Profession { return member.Professions },
		"bytes":       func(n int64) string { return formatBytes(n) },
		"minus1":      func(n int) int { return n - 1 },
		"kind":        func(class string) string { return i18n.T(lang, "kind."+class) },
		"hours": func(h int) string {
			if h%24 == 0 {
				return i18n.T(lang, "box_new.days", "N", h/24)
			}
			return i18n.T(lang, "box_new.hours", "N", h)
		},
		"eq": func(a, b any) bool { return fmt.Sprint(a) == fmt.Sprint(b) },
	}
}

// basePage is what every page shows around its content: who is signed in, the
// language, the title and a notice.
type basePage struct {
	Lang   i18n.Lang
	Other  i18n.Lang // the language the switch offers
	Actor  *auth.Actor
	Title  string // message id
	Path   string // for the language switch to come back to
	Notice string // message id of a one-line notice, from ?done=
}

// Me returns the signed-in member or nil.
func (b basePage) Me() *member.Member {
	if b.Actor == nil {
		return nil
	}
	return b.Actor.Member
}

func (s *Server) base(r *http.Request, title string) basePage {
	l := lang(r)
	other := i18n.En
	if l == i18n.En {
		other = i18n.Ja
	}
	b := basePage{Lang: l, Other: other, Actor: ActorFrom(r), Title: title, Path: r.URL.Path}
	if done := r.URL.Query().Get("done"); done != "" && i18n.Has(l, "done."+done) {
		b.Notice = "done." + done
	}
	return b
}

// render writes page name with data; the template runs into a buffer first so that
// a template error becomes a clean error page, not half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) error {
	t, ok := s.pages[lang(r)][name]
	if !ok {
		return fmt.Errorf("render: no page %q", name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", data); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, err := buf.WriteTo(w)
	return err
}

type errorPage struct {
	basePage
	Message string // message id
}

// serve turns a handler's error into a page, in one place (STYLE.md §3); what
// the error means is guard.Classify's to say, for the web and the API alike.
// Details go to the log, never to the user.
func (s *Server) serve(h func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := h(w, r)
		if err == nil || errors.Is(err, errRedirect) {
			return
		}
		if guard.ClientGone(r, err) {
			s.log.InfoContext(r.Context(), "client went away", "route", r.Pattern, "err", err)
			w.WriteHeader(guard.StatusClientGone)
			return
		}
		p, ours := guard.Classify(err)
		if !ours {
			s.log.ErrorContext(r.Context(), "request failed", "route", r.Pattern, "err", err)
		}
		msg, ok := pageMessages[p.Code]
		if !ok {
			msg = "api.err." + p.Code
		}
		page := errorPage{basePage: s.base(r, "error.title"), Message: msg}
		if rerr := s.render(w, r, p.Status, "error", page); rerr != nil {
			s.log.ErrorContext(r.Context(), "render error page", "err", rerr)
			http.Error(w, http.StatusText(p.Status), p.Status)
		}
	})
}

// pageMessages words some problems for a page rather than for a program; the
// others read as the API's message ("api.err." + code).
var pageMessages = map[string]string{
	"not_found":    "err.not_found",
	"unauthorized": "err.signin_required",
	"bad_link":     "err.bad_link",
	"wrong_state":  "err.wrong_state",
	"bad_request":  "err.bad_form",
	"invalid":      "err.bad_form",
	"too_large":    "err.too_large",
	"internal":     "err.internal",
}

var errBadForm = guard.ErrBadRequest

// redirect sends a GET to target after a successful POST.
func redirect(w http.ResponseWriter, r *http.Request, target string) error {
	http.Redirect(w, r, target, http.StatusSeeOther) // #nosec G710 -- targets are constants of this code or passed through localPath (TestLocalPath)
	return nil
}

// localPath returns next if it is a path on this site, else fallback, so a crafted
// link cannot send someone elsewhere after signing in.
func localPath(next, fallback string) string {
	// Browsers drop tabs and newlines inside a URL and read "\" as "/", so any
	// control character or backslash could turn "/…" into "//host": refused.
	if next == "" || next[0] != '/' || strings.HasPrefix(next, "//") ||
		strings.ContainsFunc(next, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' }) {
		return fallback
	}
	if u, err := url.Parse(next); err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return fallback
	}
	return next
}
