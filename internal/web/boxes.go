package web

import (
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/medbox-jp/medbox/internal/box"
	"github.com/medbox-jp/medbox/internal/i18n"
	"github.com/medbox-jp/medbox/internal/member"
	"github.com/medbox-jp/medbox/internal/preview"
)

type boxLine struct {
	box.Summary
	Left string
}

type boxesPage struct {
	basePage
	Inbox []boxLine
	Sent  []boxLine
	Used  int64
	Quota int64
}

func (s *Server) boxesPage(w http.ResponseWriter, r *http.Request) error {
	a := ActorFrom(r)
	inbox, sent, err := s.boxes.List(r.Context(), a.ID())
	if err != nil {
		return err
	}
	used, err := s.boxes.Usage(r.Context(), a.ID())
	if err != nil {
		return err
	}
	p := boxesPage{basePage: s.base(r, "boxes.title"), Used: used, Quota: s.cfg.Limits.QuotaBytes}
	for _, x := range inbox {
		p.Inbox = append(p.Inbox, boxLine{x, timeLeft(p.Lang, x.ExpiresAt.Sub(s.now()))})
	}
	for _, x := range sent {
		p.Sent = append(p.Sent, boxLine{x, timeLeft(p.Lang, x.ExpiresAt.Sub(s.now()))})
	}
	return s.render(w, r, http.StatusOK, "boxes", p)
}

// expiryChoices are the storage periods offered, in hours, within the configured bounds.
func (s *Server) expiryChoices() []int {
	var out []int
	for _, h := range []int{1, 6, 24, 48, 72, 24 * 7, 24 * 14} {
		d := time.Duration(h) * time.Hour
		if d >= s.cfg.Limits.MinExpiry && d <= s.cfg.Limits.MaxExpiry {
			out = append(out, h)
		}
	}
	return out
}

type newBoxPage struct {
	basePage
	Query   string
	Results []member.Entry
	Chosen  []member.Entry
	Message string
	Expiry  int
	Choices []int
	Errors  map[string]string
	Picked  map[member.ID]bool // of Results, those chosen already
}

// newBoxPage picks recipients from the directory — search, add, remove — without
// any script, and then takes the message and the storage period. A link may name
// recipients (?to=ID) and a search (?q=).
func (s *Server) newBoxPage(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	return s.renderNewBox(w, r, http.StatusOK, q.Get("q"), q["to"], "", atoi(q.Get("expiry")), nil)
}

// editNewBox is the new-box form sent to itself: a search, or a recipient added
// or removed. It changes nothing on the server; it shows the form again with
// everything typed so far, the message included, which never goes into a URL.
func (s *Server) editNewBox(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	var to []string
	for _, id := range r.PostForm["to"] {
		if id != r.PostFormValue("remove") && !slices.Contains(to, id) {
			to = append(to, id)
		}
	}
	if add := r.PostFormValue("add"); add != "" && !slices.Contains(to, add) {
		to = append(to, add)
	}
	return s.renderNewBox(w, r, http.StatusOK, r.PostFormValue("q"), to, r.PostFormValue("message"), atoi(r.PostFormValue("expiry")), nil)
}

func (s *Server) renderNewBox(w http.ResponseWriter, r *http.Request, status int, query string, to []string, msg string, expiry int, fe map[string]string) error {
	a := ActorFrom(r)
	ids := make([]member.ID, 0, len(to))
	for _, t := range to {
		ids = append(ids, member.ID(t))
	}
	chosen, err := s.members.Entries(r.Context(), ids)
	if err != nil {
		return err
	}
	var results []member.Entry
	if query != "" {
		found, err := s.members.Search(r.Context(), a.ID(), query, member.DirectoryLimit)
		if err != nil {
			return err
		}
		results = found // the chosen stay in the list, marked as added
	}
	picked := map[member.ID]bool{}
	for _, c := range chosen {
		picked[c.ID] = true
	}
	if expiry == 0 {
		expiry = int(s.cfg.Limits.DefaultExpiry / time.Hour)
	}
	return s.render(w, r, status, "box_new", newBoxPage{basePage: s.base(r, "box_new.title"), Query: query, Results: results,
		Chosen: chosen, Message: msg, Expiry: expiry, Choices: s.expiryChoices(), Errors: fe, Picked: picked})
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func (s *Server) createBox(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	a := ActorFrom(r)
	to := r.PostForm["to"]
	var ids []member.ID
	for _, t := range to {
		ids = append(ids, member.ID(t))
	}
	hours := atoi(r.PostFormValue("expiry"))
	b, err := s.boxes.Create(r.Context(), a.ID(), box.Draft{Recipients: ids, Message: r.PostFormValue("message"),
		ExpiresIn: time.Duration(hours) * time.Hour}, a.Addr)
	var ie *box.InputError
	if errors.As(err, &ie) {
		return s.renderNewBox(w, r, http.StatusBadRequest, "", to, r.PostFormValue("message"), hours, map[string]string{ie.Field: ie.Code})
	}
	if err != nil {
		return err
	}
	return redirect(w, r, "/boxes/"+string(b.ID)+"?done=box_created#upload")
}

type boxPage struct {
	basePage
	Box       *box.Box
	Left      string
	Viewer    member.ID
	Query     string
	Results   []member.Entry
	Errors    map[string]string
	Limits    uploadLimits
	History   []box.Access
	UploadTxt template.JS // messages for the upload script, as JSON
	Transfer  uploadTransfer
	Previews  map[box.FileID]preview.Info
	// Deidentified are the files whose sender de-identified them before
	// sending, as the box's history records it.
	Deidentified map[box.FileID]bool
}

// uploadLimits tell the upload script what the server will accept, so it can say
// so before sending anything.
type uploadLimits struct {
	MaxFiles  int
	MaxBytes  int64
	Remaining int64 // of the member's quota
}

func (s *Server) boxPage(w http.ResponseWriter, r *http.Request) error {
	return s.renderBox(w, r, http.StatusOK, nil)
}

func (s *Server) renderBox(w http.ResponseWriter, r *http.Request, status int, fe map[string]string) error {
	a := ActorFrom(r)
	b, err := s.boxes.View(r.Context(), a.ID(), box.ID(r.PathValue("box")), a.Addr)
	if err != nil {
		return err
	}
	used, err := s.boxes.Usage(r.Context(), a.ID())
	if err != nil {
		return err
	}
	p := boxPage{basePage: s.base(r, "box.title"), Box: b, Viewer: a.ID(), Errors: fe,
		Limits: uploadLimits{MaxFiles: s.cfg.Limits.MaxFiles, MaxBytes: s.cfg.Limits.MaxSendBytes, Remaining: max(0, s.cfg.Limits.QuotaBytes-used)}}
	p.Transfer = s.uploadTransfer()
	p.Left = timeLeft(p.Lang, b.ExpiresAt.Sub(s.now()))
	if p.History, err = s.boxes.HistoryOf(r.Context(), b); err != nil {
		return err
	}
	p.Deidentified = map[box.FileID]bool{}
	for _, h := range p.History {
		if h.Action == "file.deidentified" {
			p.Deidentified[box.FileID(h.Target)] = true
		}
	}
	if s.previews != nil {
		if p.Previews, err = s.previews.ForBox(r.Context(), a.ID(), b.ID); err != nil {
			return err
		}
	}
	if q := r.URL.Query().Get("q"); q != "" && b.IsSender() {
		p.Query = q
		found, err := s.members.Search(r.Context(), a.ID(), q, member.DirectoryLimit)
		if err != nil {
			return err
		}
		in := map[member.ID]bool{}
		for _, x := range b.Participants {
			in[x.ID] = true
		}
		for _, e := range found {
			if !in[e.ID] {
				p.Results = append(p.Results, e)
			}
		}
	}
	txt, err := json.Marshal(uploadTexts(p.Lang, s.cfg.Limits.MaxFiles, s.cfg.Limits.MaxSendBytes, s.cfg.Limits.QuotaBytes))
	if err != nil {
		return err
	}
	p.UploadTxt = template.JS(txt) // #nosec G203 -- json.Marshal output (escapes <, > and &) inside <script type=application/json>
	return s.render(w, r, status, "box", p)
}

// uploadTexts are the messages the upload script shows, in the page's language.
// Messages that name a limit get the configured one.
func uploadTexts(lang i18n.Lang, files int, send, quota int64) map[string]string {
	out := map[string]string{}
	for _, id := range i18n.IDs(lang) {
		if len(id) > 7 && id[:7] == "upload." || len(id) > 8 && id[:8] == "api.err." {
			out[id] = i18n.T(lang, id, "Files", files, "Send", i18n.Size(send), "Quota", i18n.Size(quota))
		}
	}
	return out
}

func (s *Server) addComment(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	a := ActorFrom(r)
	id := box.ID(r.PathValue("box"))
	_, err := s.boxes.AddComment(r.Context(), a.ID(), id, r.PostFormValue("body"), a.Addr)
	var ie *box.InputError
	if errors.As(err, &ie) {
		return s.renderBox(w, r, http.StatusBadRequest, map[string]string{"comment": ie.Code})
	}
	if err != nil {
		return err
	}
	return redirect(w, r, "/boxes/"+string(id)+"#comments")
}

func (s *Server) addRecipients(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	a := ActorFrom(r)
	id := box.ID(r.PathValue("box"))
	var ids []member.ID
	for _, t := range r.PostForm["to"] {
		ids = append(ids, member.ID(t))
	}
	err := s.boxes.AddRecipients(r.Context(), a.ID(), id, ids, a.Addr)
	var ie *box.InputError
	switch {
	case errors.As(err, &ie):
		return s.renderBox(w, r, http.StatusBadRequest, map[string]string{"recipients": ie.Code})
	case errors.Is(err, box.ErrNotSender):
		return box.ErrNotFound
	case err != nil:
		return err
	}
	return redirect(w, r, "/boxes/"+string(id)+"?done=recipients_added#people")
}

func (s *Server) deleteFile(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	a := ActorFrom(r)
	f, err := s.boxes.File(r.Context(), a.ID(), box.FileID(r.PathValue("file")))
	if err != nil {
		return err
	}
	if f.Sender != a.ID() {
		return box.ErrNotFound
	}
	if ok, err := s.confirmed(w, r, i18n.T(lang(r), "ask.delete_file", "Name", f.Name), "ask.delete_file_ok", "/boxes/"+string(f.Box)+"#files"); !ok {
		return err
	}
	err = s.boxes.DeleteFile(r.Context(), a.ID(), f.ID, a.Addr)
	if errors.Is(err, box.ErrNotSender) {
		return box.ErrNotFound
	}
	if err != nil {
		return err
	}
	return redirect(w, r, "/boxes/"+string(f.Box)+"?done=file_deleted#files")
}
