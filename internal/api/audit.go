package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/medbox-jp/medbox/internal/audit"
	"github.com/medbox-jp/medbox/internal/box"
	"github.com/medbox-jp/medbox/internal/guard"
)

// boxHistory lists who did what in a box, for its participants (R-X5).
func (s *Server) boxHistory(w http.ResponseWriter, r *http.Request) error {
	hist, err := s.boxes.History(r.Context(), actorFrom(r).ID(), box.ID(r.PathValue("box")))
	if err != nil {
		return err
	}
	type entry struct {
		At     time.Time  `json:"at"`
		Who    personJSON `json:"who"`
		Action string     `json:"action"`
		Target string     `json:"target"`
	}
	out := make([]entry, 0, len(hist))
	for _, h := range hist {
		out = append(out, entry{At: h.At, Who: personJSON{ID: h.Who, Name: h.Name}, Action: h.Action, Target: h.Target})
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": out})
	return nil
}

// verifyAudit checks the audit chain for an administrator.
func (s *Server) verifyAudit(w http.ResponseWriter, r *http.Request) error {
	n, err := s.audit.Verify(r.Context())
	var be *audit.BrokenError
	out := map[string]any{"ok": err == nil, "events": n}
	switch {
	case errors.As(err, &be):
		out["broken_at"], out["reason"] = be.Seq, be.Reason
	case err != nil:
		return err
	}
	if err := s.recordAdmin(r, "audit.verify", ""); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// exportAudit streams a member's (?member=ID) or a period's (?since=&until=,
// YYYY-MM-DD in Japan, or RFC 3339) audit history as JSON lines or CSV (?format=csv).
func (s *Server) exportAudit(w http.ResponseWriter, r *http.Request) error {
	f, format, err := audit.ParseQuery(r.URL.Query())
	var qe *audit.QueryError
	if errors.As(err, &qe) {
		return &guard.Problem{Status: http.StatusBadRequest, Code: "invalid", Fields: map[string]string{qe.Field: "bad_time"}}
	}
	if err := s.recordAdmin(r, "audit.export", f.About); err != nil {
		return err
	}
	if format == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	} else {
		w.Header().Set("Content-Type", "application/x-ndjson")
	}
	_, err = s.audit.Export(r.Context(), f, format, w)
	return err
}

// recordAdmin records an administrator's read of the log itself.
func (s *Server) recordAdmin(r *http.Request, action, target string) error {
	a := actorFrom(r)
	return s.audit.Append(r.Context(), audit.Event{Actor: string(a.ID()), Action: action, Target: target, Addr: a.Addr})
}
