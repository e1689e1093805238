package api

import (
	"net/http"
	"strconv"

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
	writeJSON(w, http.StatusCreated, map[string]any{"id": u.ID, "chunk_size": u.ChunkSize, "chunk_count": u.ChunkCount,
		"size": u.Size, "name": u.Name})
	return nil
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
	u, err := s.uploads.Status(r.Context(), actorFrom(r).ID(), upload.ID(r.PathValue("id")))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": u.ID, "box": u.Box, "name": u.Name, "size": u.Size,
		"chunk_size": u.ChunkSize, "chunk_count": u.ChunkCount, "received": u.Received})
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
