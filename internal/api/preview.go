package api

import (
	"bytes"
	"compress/gzip"
	"errors"
	"image"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/medbox-jp/medbox/internal/box"
	"github.com/medbox-jp/medbox/internal/dicom"
	"github.com/medbox-jp/medbox/internal/guard"
	"github.com/medbox-jp/medbox/internal/i18n"
	"github.com/medbox-jp/medbox/internal/preview"
)

var errNoPreview = &guard.Problem{Status: http.StatusNotFound, Code: "no_preview"}

// previewError maps the preview service's errors; visibility errors stay 404
// "not_found", exactly as for a file that does not exist.
func previewError(err error) error {
	if errors.Is(err, preview.ErrNoPreview) || errors.Is(err, preview.ErrNoFrame) {
		return errNoPreview
	}
	return err
}

// filePreview serves a file's preview images:
//
//	GET /api/v1/files/{file}/preview                   thumbnail (JPEG)
//	GET /api/v1/files/{file}/preview?size=full         full-size JPEG (rendition, poster, first page,
//	                                                   rendered DICOM frame); images browsers show
//	                                                   themselves redirect to the file, inline
//	GET /api/v1/files/{file}/preview?frame=N&wc=&ww=   DICOM frame N rendered with that window (JPEG)
//	GET /api/v1/files/{file}/preview?frame=N&format=raw   DICOM frame N as the viewer reads it
//	    &size=screen                                   … or its screen-sized rendition (at most
//	                                                   1024 px a side), which the viewer shows first
//	    &region=x,y,w,h                                … or that part of it at full resolution
//	                                                   (frames beyond 4096 px are scaled down)
//	GET /api/v1/files/{file}/preview?page=N            page N (from 1) of a PDF, rendered in the sandbox (JPEG)
//
// Thumbnails are part of seeing the box (box.view); every other view is audited
// as file.preview.
func (s *Server) filePreview(w http.ResponseWriter, r *http.Request) error {
	if s.previews == nil {
		return errNotFound
	}
	a := actorFrom(r)
	id := box.FileID(r.PathValue("file"))
	q := r.URL.Query()
	if q.Has("frame") {
		n, err := strconv.Atoi(q.Get("frame"))
		if err != nil || n < 0 {
			return errBadJSON
		}
		if q.Get("format") == "raw" && q.Has("region") {
			rect, err := regionParam(q.Get("region"))
			if err != nil {
				return err
			}
			b, info, err := s.previews.FrameRegion(r.Context(), a.ID(), id, n, rect)
			if err != nil {
				return previewError(err)
			}
			if err := s.previews.RecordView(r.Context(), a.ID(), info, a.Addr); err != nil {
				return err
			}
			return serveFrame(w, r, bytes.NewReader(b), int64(len(b)))
		}
		if q.Get("format") == "raw" {
			frame := s.previews.Frame
			if q.Get("size") == "screen" {
				frame = s.previews.ScreenFrame
			}
			obj, err := frame(r.Context(), a.ID(), id, n)
			if err != nil {
				return previewError(err)
			}
			defer obj.Close()
			if err := s.previews.RecordView(r.Context(), a.ID(), obj.Info, a.Addr); err != nil {
				return err
			}
			return serveFrame(w, r, obj, obj.Size)
		}
		win, err := windowParam(q.Get("wc"), q.Get("ww"))
		if err != nil {
			return err
		}
		jpg, info, err := s.previews.RenderFrame(r.Context(), a.ID(), id, n, win)
		if err != nil {
			return previewError(err)
		}
		if err := s.previews.RecordView(r.Context(), a.ID(), info, a.Addr); err != nil {
			return err
		}
		w.Header().Set("Content-Type", "image/jpeg")
		w.Header().Set("Content-Length", strconv.Itoa(len(jpg)))
		_, err = w.Write(jpg) // #nosec G705 -- a JPEG we rendered, sent as image/jpeg with nosniff
		return err
	}
	if q.Has("page") {
		return s.pdfPage(w, r, id, q.Get("page"))
	}
	full := q.Get("size") == "full"
	obj, err := s.previews.Image(r.Context(), a.ID(), id, full)
	if errors.Is(err, preview.ErrNoPreview) && full {
		// The browser shows this image itself: the file is its own rendition.
		info, ierr := s.previews.Get(r.Context(), a.ID(), id)
		if ierr == nil && info.Ready() && info.Kind == preview.Image && inlineTypes[info.ContentType()] {
			http.Redirect(w, r, "/api/v1/files/"+string(id)+"/content?inline=1", http.StatusSeeOther) // #nosec G710 -- a path on this site built from a validated file id
			return nil
		}
	}
	if err != nil {
		return previewError(err)
	}
	defer obj.Close()
	if full {
		if err := s.previews.RecordView(r.Context(), a.ID(), obj.Info, a.Addr); err != nil {
			return err
		}
	}
	return serveObject(w, "image/jpeg", obj)
}

// pdfPage serves a page of a PDF as an image: the PDF itself is never shown.
func (s *Server) pdfPage(w http.ResponseWriter, r *http.Request, id box.FileID, page string) error {
	n, err := strconv.Atoi(page)
	if err != nil || n < 1 {
		return errBadJSON
	}
	a := actorFrom(r)
	obj, err := s.previews.Page(r.Context(), a.ID(), id, n)
	if err != nil {
		return previewError(err)
	}
	defer obj.Close()
	if err := s.previews.RecordView(r.Context(), a.ID(), obj.Info, a.Addr); err != nil {
		return err
	}
	return serveObject(w, "image/jpeg", obj)
}

func serveObject(w http.ResponseWriter, ctype string, obj *preview.Object) error {
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Length", strconv.FormatInt(obj.Size, 10))
	_, err := io.Copy(w, obj)
	return err
}

// serveFrame sends a viewer frame, gzip-compressed at the fastest level when
// the client takes that: 16-bit images shrink to about 60 %, which on a phone
// link puts them on screen that much sooner.
func serveFrame(w http.ResponseWriter, r *http.Request, body io.Reader, size int64) error {
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Add("Vary", "Accept-Encoding")
	if !acceptsGzip(r.Header.Get("Accept-Encoding")) {
		h.Set("Content-Length", strconv.FormatInt(size, 10))
		_, err := io.Copy(w, body)
		return err
	}
	h.Set("Content-Encoding", "gzip")
	zw := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(zw)
	zw.Reset(w)
	if _, err := io.Copy(zw, body); err != nil {
		return err
	}
	return zw.Close()
}

var gzipWriters = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed)
	return zw
}}

// acceptsGzip reads an Accept-Encoding header: gzip, not with q=0.
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			q, ok := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q=")
			if !ok {
				return true
			}
			v, err := strconv.ParseFloat(q, 64)
			return err == nil && v > 0
		}
	}
	return false
}

// regionParam reads ?region=x,y,w,h: a rectangle of a frame in its own
// pixels, at most dicom.MaxRegionSide on a side.
func regionParam(v string) (image.Rectangle, error) {
	parts := strings.Split(v, ",")
	if len(parts) != 4 {
		return image.Rectangle{}, errBadJSON
	}
	var n [4]int
	for k, p := range parts {
		x, err := strconv.Atoi(p)
		if err != nil || x < 0 || x > 1<<20 {
			return image.Rectangle{}, errBadJSON
		}
		n[k] = x
	}
	if n[2] < 1 || n[3] < 1 || n[2] > dicom.MaxRegionSide || n[3] > dicom.MaxRegionSide {
		return image.Rectangle{}, errBadJSON
	}
	return image.Rect(n[0], n[1], n[0]+n[2], n[1]+n[3]), nil
}

// windowParam reads ?wc=&ww=: both or neither, the width positive.
func windowParam(wc, ww string) (dicom.Window, error) {
	if wc == "" && ww == "" {
		return dicom.Window{}, nil
	}
	c, err1 := strconv.ParseFloat(wc, 64)
	wd, err2 := strconv.ParseFloat(ww, 64)
	if err1 != nil || err2 != nil || wd < 1 || wd > 1e7 || c < -1e7 || c > 1e7 {
		return dicom.Window{}, errBadJSON
	}
	return dicom.Window{Center: c, Width: wd}, nil
}

// dicomSummaryJSON is a DICOM header as text fields. Every string is untrusted
// text from the file, never markup; clients must show it as text.
type dicomSummaryJSON struct {
	PatientName       string    `json:"patient_name"`     // for people: 山田 太郎
	PatientNameValue  string    `json:"patient_name_raw"` // as stored: Yamada^Tarou=山田^太郎=やまだ^たろう
	PatientID         string    `json:"patient_id"`
	PatientSex        string    `json:"patient_sex"`
	PatientBirthDate  string    `json:"patient_birth_date"`
	StudyDate         string    `json:"study_date"`
	StudyTime         string    `json:"study_time"`
	StudyDescription  string    `json:"study_description"`
	StudyID           string    `json:"study_id"`
	AccessionNumber   string    `json:"accession_number"`
	SeriesDescription string    `json:"series_description"`
	SeriesNumber      int       `json:"series_number"`
	InstanceNumber    int       `json:"instance_number"`
	Modality          string    `json:"modality"`
	BodyPart          string    `json:"body_part"`
	Institution       string    `json:"institution"`
	Manufacturer      string    `json:"manufacturer"`
	Rows              int       `json:"rows"`
	Columns           int       `json:"columns"`
	Frames            int       `json:"frames"`
	PixelSpacing      []float64 `json:"pixel_spacing,omitempty"`
	TransferSyntax    string    `json:"transfer_syntax"`
	// SyntaxGuessed: the file names no transfer syntax; TransferSyntax is the
	// one it was read with (implicit VR little endian tried first).
	SyntaxGuessed bool `json:"syntax_guessed,omitempty"`
	// Incomplete: the file ends early; FramesPresent of Frames have data.
	Incomplete    bool   `json:"incomplete,omitempty"`
	FramesPresent int    `json:"frames_present,omitempty"`
	StudyUID      string `json:"study_instance_uid"`
	SeriesUID     string `json:"series_instance_uid"`
}

func toDICOMSummary(s dicom.Summary) dicomSummaryJSON {
	return dicomSummaryJSON{PatientName: s.PatientName.Display(), PatientNameValue: string(s.PatientName), PatientID: s.PatientID,
		PatientSex: s.PatientSex, PatientBirthDate: s.PatientBirthDate, StudyDate: s.StudyDate, StudyTime: s.StudyTime,
		StudyDescription: s.StudyDescription, StudyID: s.StudyID, AccessionNumber: s.AccessionNumber,
		SeriesDescription: s.SeriesDescription, SeriesNumber: s.SeriesNumber, InstanceNumber: s.InstanceNumber,
		Modality: s.Modality, BodyPart: s.BodyPart, Institution: s.Institution, Manufacturer: s.Manufacturer,
		Rows: s.Rows, Columns: s.Columns, Frames: s.Frames, PixelSpacing: s.PixelSpacing, TransferSyntax: s.SyntaxName,
		StudyUID: s.StudyInstanceUID, SeriesUID: s.SeriesInstanceUID,
		SyntaxGuessed: s.SyntaxGuessed, Incomplete: s.Incomplete, FramesPresent: s.FramesPresent}
}

type dicomInstanceJSON struct {
	Frames  int              `json:"frames"`
	First   int              `json:"first"`
	Summary dicomSummaryJSON `json:"summary"`
}

type dicomSliceJSON struct {
	File   box.FileID `json:"file"`
	Frame  int        `json:"frame"`
	Width  int        `json:"width"`
	Height int        `json:"height"`
}

type dicomSeriesJSON struct {
	Files       []box.FileID `json:"files"`
	Modality    string       `json:"modality"`
	Number      int          `json:"number"`
	Description string       `json:"description"`
	Frames      int          `json:"frames"`
}

type presetJSON struct {
	Name   string  `json:"name"`
	Label  string  `json:"label"`
	Center float64 `json:"center"`
	Width  float64 `json:"width"`
	Auto   bool    `json:"auto,omitempty"`
}

// dicomJSON is GET /api/v1/files/{file}/dicom. Until the preview is ready it
// holds only the file, kind, status and reason.
type dicomJSON struct {
	File      box.FileID          `json:"file"`
	Kind      preview.Kind        `json:"kind"`
	Status    preview.Status      `json:"status"`
	Reason    string              `json:"reason,omitempty"`
	Frames    int                 `json:"frames"`
	Width     int                 `json:"width"`
	Height    int                 `json:"height"`
	Summary   *dicomSummaryJSON   `json:"summary,omitempty"`
	Instances []dicomInstanceJSON `json:"instances"`
	Stack     []dicomSliceJSON    `json:"stack"`
	Start     int                 `json:"start"`
	Series    []dicomSeriesJSON   `json:"series"`
	Current   int                 `json:"current"`
	Presets   []presetJSON        `json:"presets"`
}

// fileDICOM describes a DICOM preview for the viewer: the header summary as
// text, the frames, the stack the file belongs to (its series in order, with
// each slice's size) and every series of the box.
func (s *Server) fileDICOM(w http.ResponseWriter, r *http.Request) error {
	if s.previews == nil {
		return errNotFound
	}
	a := actorFrom(r)
	id := box.FileID(r.PathValue("file"))
	info, err := s.previews.Get(r.Context(), a.ID(), id)
	if err != nil {
		return previewError(err)
	}
	if !info.IsDICOM() {
		return errNoPreview
	}
	out := dicomJSON{File: id, Kind: info.Kind, Status: info.Status, Reason: info.Reason,
		Instances: []dicomInstanceJSON{}, Stack: []dicomSliceJSON{}, Series: []dicomSeriesJSON{}, Presets: presets(lang(r))}
	if info.Ready() {
		v, err := s.previews.DICOM(r.Context(), a.ID(), id)
		if err != nil {
			return previewError(err)
		}
		out.Frames, out.Width, out.Height = info.Frames, info.Width, info.Height
		for _, in := range v.Instances {
			out.Instances = append(out.Instances, dicomInstanceJSON{Frames: in.Frames, First: in.First, Summary: toDICOMSummary(in.Summary)})
		}
		if len(out.Instances) > 0 {
			out.Summary = &out.Instances[0].Summary
		}
		for _, sl := range v.Stack {
			out.Stack = append(out.Stack, dicomSliceJSON{File: sl.File, Frame: sl.Frame, Width: sl.Width, Height: sl.Height})
		}
		for _, ser := range v.Series {
			out.Series = append(out.Series, dicomSeriesJSON{Files: ser.Files, Modality: ser.Modality, Number: ser.Number,
				Description: ser.Description, Frames: ser.Frames})
		}
		out.Start, out.Current = v.Start, v.Current
		if err := s.previews.RecordView(r.Context(), a.ID(), info, a.Addr); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// presets are the window presets with labels in lang.
func presets(lang i18n.Lang) []presetJSON {
	var out []presetJSON
	for _, p := range dicom.Presets() {
		out = append(out, presetJSON{Name: p.Name, Label: i18n.T(lang, "viewer.preset."+p.Name), Center: p.Window.Center, Width: p.Window.Width, Auto: p.Auto})
	}
	return out
}
