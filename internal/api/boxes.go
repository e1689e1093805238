package api

import (
	"fmt"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/medbox-jp/medbox/internal/box"
	"github.com/medbox-jp/medbox/internal/member"
)

type personJSON struct {
	ID         member.ID         `json:"id"`
	Name       string            `json:"name"`
	NameKana   string            `json:"name_kana,omitempty"`
	Profession member.Profession `json:"profession,omitempty"`
	Workplace  string            `json:"workplace,omitempty"`
	Department string            `json:"department,omitempty"`
	Role       string            `json:"role,omitempty"`
}

type fileJSON struct {
	ID          box.FileID `json:"id"`
	Box         box.ID     `json:"box"`
	Name        string     `json:"name"`
	Size        int64      `json:"size"`
	ContentType string     `json:"content_type"`
	Class       string     `json:"class"`
	Sender      personJSON `json:"sender"`
	CreatedAt   time.Time  `json:"created_at"`
	URL         string     `json:"url"`
}

func toFileJSON(f box.File) fileJSON {
	return fileJSON{ID: f.ID, Box: f.Box, Name: f.Name, Size: f.Size, ContentType: f.ContentType, Class: f.Class,
		Sender: personJSON{ID: f.Sender, Name: f.SenderName}, CreatedAt: f.CreatedAt, URL: "/api/v1/files/" + string(f.ID) + "/content"}
}

type commentJSON struct {
	ID        string     `json:"id"`
	Author    personJSON `json:"author"`
	Body      string     `json:"body"`
	CreatedAt time.Time  `json:"created_at"`
}

type boxJSON struct {
	ID           box.ID        `json:"id"`
	Sender       personJSON    `json:"sender"`
	Message      string        `json:"message"`
	CreatedAt    time.Time     `json:"created_at"`
	ExpiresAt    time.Time     `json:"expires_at"`
	Role         string        `json:"role"`
	Participants []personJSON  `json:"participants"`
	Files        []fileJSON    `json:"files"`
	Comments     []commentJSON `json:"comments"`
}

func toBoxJSON(b *box.Box) boxJSON {
	j := boxJSON{ID: b.ID, Sender: personJSON{ID: b.Sender, Name: b.SenderName}, Message: b.Message, CreatedAt: b.CreatedAt,
		ExpiresAt: b.ExpiresAt, Role: b.Role, Participants: []personJSON{}, Files: []fileJSON{}, Comments: []commentJSON{}}
	for _, p := range b.Participants {
		j.Participants = append(j.Participants, personJSON{ID: p.ID, Name: p.Name, NameKana: p.NameKana, Profession: p.Profession,
			Workplace: p.Workplace, Department: p.Department, Role: p.Role})
	}
	for _, f := range b.Files {
		j.Files = append(j.Files, toFileJSON(f))
	}
	for _, c := range b.Comments {
		j.Comments = append(j.Comments, commentJSON{ID: c.ID, Author: personJSON{ID: c.Author, Name: c.AuthorName}, Body: c.Body, CreatedAt: c.CreatedAt})
	}
	return j
}

type summaryJSON struct {
	ID           box.ID     `json:"id"`
	Sender       personJSON `json:"sender"`
	Message      string     `json:"message"`
	CreatedAt    time.Time  `json:"created_at"`
	ExpiresAt    time.Time  `json:"expires_at"`
	Files        int        `json:"files"`
	Bytes        int64      `json:"bytes"`
	Participants int        `json:"participants"`
	Unread       bool       `json:"unread"`
}

func summaries(in []box.Summary) []summaryJSON {
	out := make([]summaryJSON, 0, len(in))
	for _, x := range in {
		out = append(out, summaryJSON{ID: x.ID, Sender: personJSON{ID: x.Sender, Name: x.SenderName}, Message: x.Message,
			CreatedAt: x.CreatedAt, ExpiresAt: x.ExpiresAt, Files: x.Files, Bytes: x.Bytes, Participants: x.Participants, Unread: x.Unread})
	}
	return out
}

func (s *Server) listBoxes(w http.ResponseWriter, r *http.Request) error {
	inbox, sent, err := s.boxes.List(r.Context(), actorFrom(r).ID())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"inbox": summaries(inbox), "sent": summaries(sent)})
	return nil
}

func (s *Server) createBox(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Recipients     []member.ID `json:"recipients"`
		Message        string      `json:"message"`
		ExpiresInHours *float64    `json:"expires_in_hours"`
	}
	if err := decodeJSON(w, r, 64<<10, &in); err != nil {
		return err
	}
	d := box.Draft{Recipients: in.Recipients, Message: in.Message}
	if in.ExpiresInHours != nil {
		if *in.ExpiresInHours <= 0 {
			return &box.InputError{Field: "expires_in_hours", Code: "expiry_range"}
		}
		d.ExpiresIn = time.Duration(*in.ExpiresInHours * float64(time.Hour))
	}
	a := actorFrom(r)
	b, err := s.boxes.Create(r.Context(), a.ID(), d, a.Addr)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toBoxJSON(b))
	return nil
}

func (s *Server) getBox(w http.ResponseWriter, r *http.Request) error {
	a := actorFrom(r)
	b, err := s.boxes.View(r.Context(), a.ID(), box.ID(r.PathValue("box")), a.Addr)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toBoxJSON(b))
	return nil
}

func (s *Server) addParticipants(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		MemberIDs []member.ID `json:"member_ids"`
	}
	if err := decodeJSON(w, r, 64<<10, &in); err != nil {
		return err
	}
	a := actorFrom(r)
	id := box.ID(r.PathValue("box"))
	if err := s.boxes.AddRecipients(r.Context(), a.ID(), id, in.MemberIDs, a.Addr); err != nil {
		return err
	}
	b, err := s.boxes.Get(r.Context(), a.ID(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toBoxJSON(b))
	return nil
}

func (s *Server) addComment(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Body string `json:"body"`
	}
	if err := decodeJSON(w, r, 64<<10, &in); err != nil {
		return err
	}
	a := actorFrom(r)
	c, err := s.boxes.AddComment(r.Context(), a.ID(), box.ID(r.PathValue("box")), in.Body, a.Addr)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, commentJSON{ID: c.ID, Author: personJSON{ID: a.ID(), Name: a.Member.Name}, Body: c.Body, CreatedAt: c.CreatedAt})
	return nil
}

// zip streams the whole box as one archive.
func (s *Server) zipBox(w http.ResponseWriter, r *http.Request) error {
	a := actorFrom(r)
	id := box.ID(r.PathValue("box"))
	if _, err := s.boxes.Get(r.Context(), a.ID(), id); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", disposition("attachment", "medbox-"+string(id)[:8]+".zip"))
	if err := s.boxes.WriteZip(r.Context(), a.ID(), id, w, a.Addr); err != nil {
		// The status line is gone; cut the stream so the client sees a broken download.
		s.log.ErrorContext(r.Context(), "zip stream broken off", "box", id, "err", err)
		panic(http.ErrAbortHandler)
	}
	return nil
}

// inlineTypes may be shown in the browser; everything else is an attachment.
// Never a document that can carry script: a PDF is shown as page images
// rendered in the sandbox (preview), and its original is only downloaded.
var inlineTypes = map[string]bool{
	"image/jpeg": true, "image/png": true, "image/gif": true, "image/webp": true,
	"video/mp4": true, "video/webm": true, "video/quicktime": true,
}

// fileContent serves a file with Range support (video seeking, resumed
// downloads); only the requested part is fetched and decrypted.
func (s *Server) fileContent(w http.ResponseWriter, r *http.Request) error {
	a := actorFrom(r)
	c, err := s.boxes.OpenContent(r.Context(), a.ID(), box.FileID(r.PathValue("file")))
	if err != nil {
		return err
	}
	defer c.Close()
	f := c.File()
	ctype, disp := "application/octet-stream", "attachment"
	if r.URL.Query().Get("inline") == "1" && inlineTypes[f.ContentType] {
		ctype, disp = f.ContentType, "inline"
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-Disposition", disposition(disp, f.Name))
	h.Set("ETag", `"`+string(f.ID)+`"`)
	h.Set("Content-Security-Policy", "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'; sandbox")
	if rg := r.Header.Get("Range"); rg == "" || strings.HasPrefix(rg, "bytes=0-") {
		action := "file.download"
		if disp == "inline" {
			action = "file.view"
		}
		if err := s.boxes.RecordDownload(r.Context(), a.ID(), f, action, a.Addr); err != nil {
			return err
		}
	}
	http.ServeContent(w, r, "", f.CreatedAt, c)
	return nil
}

func (s *Server) deleteFile(w http.ResponseWriter, r *http.Request) error {
	a := actorFrom(r)
	if err := s.boxes.DeleteFile(r.Context(), a.ID(), box.FileID(r.PathValue("file")), a.Addr); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// disposition builds a Content-Disposition whose file name survives any script:
// RFC 2231 encoding for non-ASCII, quoting for the rest.
func disposition(kind, name string) string {
	name = box.SafeName(name)
	if v := mime.FormatMediaType(kind, map[string]string{"filename": name}); v != "" {
		return v
	}
	return fmt.Sprintf("%s; filename=%q", kind, "file")
}
