package web

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/medbox-jp/medbox/internal/audit"
	"github.com/medbox-jp/medbox/internal/monitor"
)

type auditPage struct {
	basePage
	Verified bool
	Report   audit.Report
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
	rep, err := s.audit.Check(r.Context())
	p := auditPage{Verified: true, Report: rep}
	if !errors.As(err, &p.Broken) && err != nil {
		return err
	}
	if err := s.recordAdmin(r, "audit.verify", fmt.Sprint(err == nil)); err != nil {
		return err
	}
	return s.renderAudit(w, r, p)
}

// exportAudit streams a member's or a period's audit history as CSV or JSON lines.
func (s *Server) exportAudit(w http.ResponseWriter, r *http.Request) error {
	f, format, err := audit.ParseQuery(r.URL.Query())
	if err != nil {
		return errBadForm
	}
	if err := s.recordAdmin(r, "audit.export", f.About); err != nil {
		return err
	}
	ext, ctype := "jsonl", "application/x-ndjson"
	if format == "csv" {
		ext, ctype = "csv", "text/csv; charset=utf-8"
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="medbox-audit-%s.%s"`, s.now().In(jst).Format("20060102-1504"), ext))
	_, err = s.audit.Export(r.Context(), f, format, w)
	return err
}

// recordAdmin records an administrator's read of the log itself.
func (s *Server) recordAdmin(r *http.Request, action, target string) error {
	a := ActorFrom(r)
	return s.audit.Append(r.Context(), audit.Event{Actor: string(a.ID()), Action: action, Target: target, Addr: a.Addr})
}
