package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/medbox-jp/medbox/internal/audit"
	"github.com/medbox-jp/medbox/internal/box"
	"github.com/medbox-jp/medbox/internal/sqldb"
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
	n, err := audit.Verify(r.Context(), s.members.DB())
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
// YYYY-MM-DD) audit history as JSON lines or CSV (?format=csv).
func (s *Server) exportAudit(w http.ResponseWriter, r *http.Request) error {
	f := audit.Filter{About: r.URL.Query().Get("member")}
	for key, dst := range map[string]*time.Time{"since": &f.Since, "until": &f.Until} {
		if v := r.URL.Query().Get(key); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				if t, err = time.Parse("2006-01-02", v); err != nil {
					return &apiError{status: http.StatusBadRequest, code: "invalid", fields: map[string]string{key: "bad_time"}}
				}
			}
			*dst = t
		}
	}
	format := r.URL.Query().Get("format")
	if err := s.recordAdmin(r, "audit.export", f.About); err != nil {
		return err
	}
	if format == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	} else {
		format = "jsonl"
		w.Header().Set("Content-Type", "application/x-ndjson")
	}
	_, err := audit.Export(r.Context(), s.members.DB(), f, format, w)
	return err
}

func (s *Server) recordAdmin(r *http.Request, action, target string) error {
	a := actorFrom(r)
	return s.members.DB().Tx(r.Context(), func(tx *sqldb.Tx) error {
		return audit.Record(r.Context(), tx, audit.Event{At: s.now(), Actor: string(a.ID()), Action: action, Target: target, Addr: a.Addr})
	})
}
