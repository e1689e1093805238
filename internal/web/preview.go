package web

import (
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"github.com/medbox-jp/medbox/internal/box"
	"github.com/medbox-jp/medbox/internal/deid"
	"github.com/medbox-jp/medbox/internal/i18n"
	"github.com/medbox-jp/medbox/internal/preview"
)

// viewerPage shows one file: an image inline, a video in the browser's player, a
// PDF as images of its pages (?page=N), a DICOM file or study in the phone
// viewer (viewer.js) — or says why it cannot be shown and offers the download.
type viewerPage struct {
	basePage
	File    *box.File
	Preview *preview.Info // nil for types that have no preview
	Summary *viewerSummary
	PDF     *pdfView    // the page of a PDF shown, if the preview is a PDF's pages
	Texts   template.JS // messages for viewer.js, as JSON
}

// viewerSummary is the DICOM header shown beside the image, as text.
type viewerSummary struct {
	Patient, PatientID, Sex, Birth       string
	Study, StudyDate, Series, Modality   string
	Institution, Size, Frames, Instances string
	// Deidentified: every instance says its sender de-identified it with MedBox.
	Deidentified bool
	// Incomplete says that a file ends early (一部欠損) and how many of its
	// frames have data; Syntax, that a file names no transfer syntax and which
	// one it was read with.
	Incomplete, Syntax string
}

func (s *Server) viewerPage(w http.ResponseWriter, r *http.Request) error {
	a := ActorFrom(r)
	f, err := s.boxes.File(r.Context(), a.ID(), box.FileID(r.PathValue("file")))
	if err != nil {
		return err
	}
	if f.Box != box.ID(r.PathValue("box")) {
		return box.ErrNotFound
	}
	p := viewerPage{basePage: s.base(r, "viewer.title"), File: f}
	if s.previews != nil {
		info, err := s.previews.Get(r.Context(), a.ID(), f.ID)
		switch {
		case errors.Is(err, preview.ErrNoPreview):
		case err != nil:
			return err
		default:
			p.Preview = info
		}
	}
	if p.Preview != nil && p.Preview.Ready() {
		if p.Preview.IsDICOM() {
			v, err := s.previews.DICOM(r.Context(), a.ID(), f.ID)
			if err != nil {
				return err
			}
			p.Summary = summarize(p.Lang, v)
		}
		if p.Preview.Kind == preview.PDF {
			p.PDF = pdfPageOf(r, p.Preview)
		}
		if err := s.previews.RecordView(r.Context(), a.ID(), p.Preview, a.Addr); err != nil {
			return err
		}
	}
	txt, err := json.Marshal(viewerTexts(p.Lang))
	if err != nil {
		return err
	}
	p.Texts = template.JS(txt) // #nosec G203 -- json.Marshal output (escapes <, > and &) inside <script type=application/json>
	return s.render(w, r, http.StatusOK, "viewer", p)
}

// summarize picks the header fields people read first, from the file's first
// instance.
func summarize(lang i18n.Lang, v *preview.View) *viewerSummary {
	if len(v.Instances) == 0 {
		return nil
	}
	h := v.Instances[0].Summary
	join := func(parts ...string) string {
		var out []string
		for _, p := range parts {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		return strings.Join(out, " · ")
	}
	sum := &viewerSummary{
		Patient: h.PatientName.Display(), PatientID: h.PatientID, Sex: h.PatientSex, Birth: dicomDate(h.PatientBirthDate),
		Study: join(h.StudyDescription, h.AccessionNumber), StudyDate: join(dicomDate(h.StudyDate), dicomTime(h.StudyTime)),
		Modality: join(h.Modality, h.BodyPart), Institution: h.Institution,
		Frames: i18n.T(lang, "viewer.frames_n", "N", v.Info.Frames),
	}
	if h.SeriesNumber != 0 || h.SeriesDescription != "" {
		sum.Series = join(seriesNumber(h.SeriesNumber), h.SeriesDescription)
	}
	if h.Columns > 0 && h.Rows > 0 {
		sum.Size = i18n.T(lang, "viewer.size_px", "W", h.Columns, "H", h.Rows)
	}
	sum.Deidentified = true
	for _, in := range v.Instances {
		s := in.Summary
		sum.Deidentified = sum.Deidentified && deid.Marked(s.IdentityRemoved, s.DeidentificationMethod, string(s.PatientName), s.PatientID)
	}
	if len(v.Instances) > 1 {
		sum.Instances = i18n.T(lang, "viewer.instances_n", "N", len(v.Instances))
	}
	present, declared, cut := 0, 0, 0
	for _, in := range v.Instances {
		if in.Summary.Incomplete {
			cut++
			present += in.Summary.FramesPresent
			declared += max(in.Summary.Frames, 1)
		}
	}
	switch {
	case cut == 1:
		sum.Incomplete = i18n.T(lang, "viewer.incomplete_frames", "N", present, "Total", declared)
	case cut > 1:
		sum.Incomplete = i18n.T(lang, "viewer.incomplete_files", "N", cut)
	}
	if h.SyntaxGuessed {
		sum.Syntax = i18n.T(lang, "viewer.syntax_guessed", "Name", h.SyntaxName)
	}
	return sum
}

func seriesNumber(n int) string {
	if n == 0 {
		return ""
	}
	return "#" + strconv.Itoa(n)
}

// dicomDate shows YYYYMMDD as YYYY-MM-DD, and anything else as it is.
func dicomDate(d string) string {
	if len(d) == 8 && strings.Trim(d, "0123456789") == "" {
		return d[:4] + "-" + d[4:6] + "-" + d[6:]
	}
	return d
}

// dicomTime shows HHMMSS.FFFFFF as HH:MM.
func dicomTime(t string) string {
	if len(t) >= 4 && strings.Trim(t[:4], "0123456789") == "" {
		return t[:2] + ":" + t[2:4]
	}
	return t
}

// viewerTexts are the messages viewer.js shows, in the page's language, with
// their placeholders left as {Name} for the script to fill.
func viewerTexts(lang i18n.Lang) map[string]string {
	out := map[string]string{}
	for _, id := range i18n.IDs(lang) {
		if strings.HasPrefix(id, "viewer.") {
			out[id] = i18n.T(lang, id, "N", "{N}", "Total", "{Total}", "W", "{W}", "H", "{H}", "C", "{C}")
		}
	}
	return out
}
