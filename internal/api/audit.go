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

// verifyAudit checks the audit log for an administrator: every chain, the
// checkpoints and the newest anchor. broken_at and reason name the earliest
// problem; problems lists them all (at most 100).
func (s *Server) verifyAudit(w http.ResponseWriter, r *http.Request) error {
	rep, err := s.audit.Check(r.Context())
	var be *audit.BrokenError
	if err != nil && !errors.As(err, &be) {
		return err
	}
	type problem struct {
		BrokenAt   int64  `json:"broken_at,omitempty"`
		Chain      int    `json:"chain"`
		Checkpoint int64  `json:"checkpoint,omitempty"`
		Reason     string `json:"reason"`
	}
	problems := []problem{}
	for _, p := range rep.Problems[:min(len(rep.Problems), 100)] {
		problems = append(problems, problem{BrokenAt: p.Seq, Chain: p.Chain, Checkpoint: p.Checkpoint, Reason: p.Reason})
	}
	out := map[string]any{"ok": err == nil, "events": rep.Events, "checkpoint": rep.Checkpoint, "anchor": rep.Anchor,
		"unanchored": rep.Unanchored, "problems": problems}
	if !rep.CheckpointAt.IsZero() {
		out["checkpoint_at"] = rep.CheckpointAt
	}
	if !rep.AnchorAt.IsZero() {
		out["anchor_at"] = rep.AnchorAt
	}
	if be != nil {
		out["broken_at"], out["reason"] = be.Seq, be.Reason
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
