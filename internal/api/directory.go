package api

import (
	"net/http"
	"strconv"
)

func (s *Server) directory(w http.ResponseWriter, r *http.Request) error {
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	entries, err := s.members.Search(r.Context(), actorFrom(r).ID(), r.URL.Query().Get("q"), limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"members": entries})
	return nil
}

func (s *Server) invite(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Email   string `json:"email"`
		Message string `json:"message"`
	}
	if err := decodeJSON(w, r, 16<<10, &in); err != nil {
		return err
	}
	a := actorFrom(r)
	if err := s.members.Invite(r.Context(), a.ID(), in.Email, in.Message, a.Addr); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "invitation_sent"})
	return nil
}

func formatInt(n int64) string { return strconv.FormatInt(n, 10) }
