package web

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/medbox-jp/medbox/internal/audit"
	"github.com/medbox-jp/medbox/internal/member"
	"github.com/medbox-jp/medbox/internal/monitor"
	"github.com/medbox-jp/medbox/internal/sqldb"
)

type auditPage struct {
	basePage
	Verified bool
	Events   int64
	Broken   *audit.BrokenError
	Alerts   []monitor.Alert
}

// auditPage is the administrators' view of the audit log: verify the chain, see
// alerts, export a member's or a period's history. It lists no boxes.
func (s *Server) auditPage(w http.ResponseWriter, r *http.Request) error {
	return s.renderAudit(w, r, auditPage{})
}

func (s *Server) renderAudit(w http.ResponseWriter, r *http.Request, p auditPage) error {
	p.basePage = s.base(r, "admin.audit.title")
	alerts, err := s.monitor.Recent(r.Context(), 50)
	if err != nil {
		return err
	}
	p.Alerts = alerts
	return s.render(w, r, http.StatusOK, "admin_audit", p)
}

func (s *Server) verifyAudit(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	n, err := audit.Verify(r.Context(), s.members.DB())
	p := auditPage{Verified: true, Events: n}
	if !errors.As(err, &p.Broken) && err != nil {
		return err
	}
	a := ActorFrom(r)
	if err := s.recordAdmin(r, s.members.DB(), a.ID(), "audit.verify", fmt.Sprint(err == nil)); err != nil {
		return err
	}
	return s.renderAudit(w, r, p)
}

// exportAudit streams a member's or a period's audit history as CSV or JSON lines.
func (s *Server) exportAudit(w http.ResponseWriter, r *http.Request) error {
	f, format, err := ExportFilter(r)
	if err != nil {
		return errBadForm
	}
	a := ActorFrom(r)
	if err := s.recordAdmin(r, s.members.DB(), a.ID(), "audit.export", f.About); err != nil {
		return err
	}
	ext, ctype := "jsonl", "application/x-ndjson"
	if format == "csv" {
		ext, ctype = "csv", "text/csv; charset=utf-8"
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="medbox-audit-%s.%s"`, s.now().In(jst).Format("20060102-1504"), ext))
	_, err = audit.Export(r.Context(), s.members.DB(), f, format, w)
	return err
}

// ExportFilter reads member, since, until (YYYY-MM-DD, Japan time) and format
// (csv or jsonl) from a request.
func ExportFilter(r *http.Request) (audit.Filter, string, error) {
	q := r.URL.Query()
	f := audit.Filter{About: q.Get("member")}
	for _, x := range []struct {
		key string
		dst *time.Time
		add int
	}{{"since", &f.Since, 0}, {"until", &f.Until, 1}} {
		if v := q.Get(x.key); v != "" {
			t, err := time.ParseInLocation("2006-01-02", v, jst)
			if err != nil {
				return f, "", err
			}
			*x.dst = t.AddDate(0, 0, x.add)
		}
	}
	format := q.Get("format")
	if format != "csv" {
		format = "jsonl"
	}
	return f, format, nil
}

func (s *Server) recordAdmin(r *http.Request, db *sqldb.DB, admin member.ID, action, target string) error {
	return db.Tx(r.Context(), func(tx *sqldb.Tx) error {
		return audit.Record(r.Context(), tx, audit.Event{At: s.now(), Actor: string(admin), Action: action, Target: target, Addr: ActorFrom(r).Addr})
	})
}
