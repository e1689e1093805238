package api

import (
	"net/http"
	"strconv"

	"errors"
	"github.com/medbox-jp/medbox/internal/auth"
	"github.com/medbox-jp/medbox/internal/box"
	"github.com/medbox-jp/medbox/internal/upload"
)

func (s *Server) createUpload(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name        string `json:"name"`
		Size        int64  `json:"size"`
		ContentType string `json:"content_type"`
	}
	if err := decodeJSON(w, r, 16<<10, &in); err != nil {
		return err
	}
	a := actorFrom(r)
	u, err := s.uploads.Create(r.Context(), a.ID(), box.ID(r.PathValue("box")), in.Name, in.Size, in.ContentType, a.Addr)
	if err != nil {
		return err
	}
	out := map[string]any{"id": u.ID, "chunk_size": u.ChunkSize, "chunk_count": u.ChunkCount, "size": u.Size, "name": u.Name}
	if err := s.grant(r, a, u.ID, out); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

// grant adds an upload grant to out. The page sends it, with no cookie, with each
// chunk PUT to an upload host (which the session cookie does not reach) and to
// its own origin's cookie-less lane (which the browser gives connections of
// their own): see upload.js.
func (s *Server) grant(r *http.Request, a *auth.Actor, id upload.ID, out map[string]any) error {
	token, expires, err := s.auth.GrantUpload(r.Context(), a, string(id))
	if errors.Is(err, auth.ErrNoGrant) {
		return nil // no session to bind it to: the client sends chunks with what it has
	}
	if err != nil {
		return err
	}
	out["upload_grant"], out["upload_grant_expires"] = token, expires
	return nil
}

// putGrantedChunk is a chunk PUT on an upload host: the upload and the chunk are
// named in headers (upload.GrantedChunkPath), the guard has checked the grant.
func (s *Server) putGrantedChunk(w http.ResponseWriter, r *http.Request) error {
	r.SetPathValue("id", r.Header.Get(upload.IDHeader))
	r.SetPathValue("n", r.Header.Get(upload.ChunkHeader))
	return s.putChunk(w, r)
}

func (s *Server) putChunk(w http.ResponseWriter, r *http.Request) error {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil {
		return upload.ErrBadChunk
	}
	digest, err := upload.ParseContentDigest(r.Header.Get("Content-Digest"))
	if err != nil {
		return err
	}
	a := actorFrom(r)
	body := newChunkBody(w, r, s.chunkIdle)
	if err := s.uploads.PutChunk(r.Context(), a.ID(), upload.ID(r.PathValue("id")), n, body, r.ContentLength, digest); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) uploadStatus(w http.ResponseWriter, r *http.Request) error {
	a := actorFrom(r)
	u, err := s.uploads.Status(r.Context(), a.ID(), upload.ID(r.PathValue("id")))
	if err != nil {
		return err
	}
	out := map[string]any{"id": u.ID, "box": u.Box, "name": u.Name, "size": u.Size,
		"chunk_size": u.ChunkSize, "chunk_count": u.ChunkCount, "received": u.Received}
	if err := s.grant(r, a, u.ID, out); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) completeUpload(w http.ResponseWriter, r *http.Request) error {
	a := actorFrom(r)
	f, err := s.uploads.Complete(r.Context(), a.ID(), upload.ID(r.PathValue("id")), a.Addr)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"file": toFileJSON(*f)})
	return nil
}

func (s *Server) abortUpload(w http.ResponseWriter, r *http.Request) error {
	a := actorFrom(r)
	if err := s.uploads.Abort(r.Context(), a.ID(), upload.ID(r.PathValue("id")), a.Addr); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
