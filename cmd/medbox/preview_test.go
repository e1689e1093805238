package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"image"
	_ "image/jpeg" // decodes the previews
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/medbox-jp/medbox/internal/dicom"
)

// dicomFile reads a file of the repository's DICOM test data.
func dicomFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "dicom", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// dicomInfo is the part of GET /api/v1/files/{file}/dicom the tests read.
type dicomInfo struct {
	File    string `json:"file"`
	Kind    string `json:"kind"`
	Status  string `json:"status"`
	Reason  string `json:"reason"`
	Frames  int    `json:"frames"`
	Width   int    `json:"width"`
	Height  int    `json:"height"`
	Summary *struct {
		PatientName    string `json:"patient_name"`
		PatientNameRaw string `json:"patient_name_raw"`
		Modality       string `json:"modality"`
		InstanceNumber int    `json:"instance_number"`
		Rows           int    `json:"rows"`
		Columns        int    `json:"columns"`
	} `json:"summary"`
	Instances []struct {
		Frames  int `json:"frames"`
		First   int `json:"first"`
		Summary struct {
			InstanceNumber    int    `json:"instance_number"`
			SeriesNumber      int    `json:"series_number"`
			SeriesDescription string `json:"series_description"`
			SeriesUID         string `json:"series_instance_uid"`
		} `json:"summary"`
	} `json:"instances"`
	Stack []struct {
		File   string `json:"file"`
		Frame  int    `json:"frame"`
		Width  int    `json:"width"`
		Height int    `json:"height"`
	} `json:"stack"`
	Start   int                        `json:"start"`
	Series  []struct{ Files []string } `json:"series"`
	Presets []struct {
		Name  string `json:"name"`
		Label string `json:"label"`
	} `json:"presets"`
}

func (c *client) dicomInfo(file string) (int, dicomInfo) {
	c.t.Helper()
	var d dicomInfo
	status := c.json("GET", "/api/v1/files/"+file+"/dicom", nil, &d)
	return status, d
}

// jpegOf fetches path and decodes it as a JPEG, failing the test otherwise.
func (c *client) jpegOf(path string) image.Image {
	c.t.Helper()
	status, body, h := c.do("GET", path, nil, nil)
	if status != http.StatusOK || h.Get("Content-Type") != "image/jpeg" {
		c.t.Fatalf("GET %s: %d %s %.200s", path, status, h.Get("Content-Type"), body)
	}
	img, format, err := image.Decode(bytes.NewReader(body))
	if err != nil || format != "jpeg" {
		c.t.Fatalf("GET %s: not a JPEG: %v", path, err)
	}
	return img
}

// errorCode returns the error code of a JSON error body.
func errorCode(body []byte) string {
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	json.Unmarshal(body, &e)
	return e.Error.Code
}

// previewRoutes are every preview URL of a file, for visibility checks.
func previewRoutes(file string) []string {
	p := "/api/v1/files/" + file
	return []string{p + "/preview", p + "/preview?size=full", p + "/preview?frame=0", p + "/preview?frame=0&format=raw",
		p + "/preview?frame=0&wc=40&ww=400", p + "/dicom"}
}

// TestPreviewDICOM: a multi-frame DICOM file and the Japanese-charset file are
// previewed by the job their upload queues; participants get the summary, the
// thumbnail, the rendered frame and every viewer frame; an outsider gets exactly
// the 404 of a random id from every preview route; each view is audited.
func TestPreviewDICOM(t *testing.T) {
	eachDB(t, func(t *testing.T, in *instance) {
		x := newExchange(t, in)
		mr := x.sender.upload(x.box, "mr.dcm", dicomFile(t, "mr_10frame_native.dcm"))
		jp := x.sender.upload(x.box, "山田.dcm", dicomFile(t, "charset_japanese_ir87.dcm"))
		// The instance's own workers may already be at it: pending, or done.
		status, d := x.rcpt.dicomInfo(mr)
		must(t, status, http.StatusOK, "dicom info right after the upload")
		if d.Status == "pending" && d.Summary != nil || d.Status != "pending" && d.Status != "ready" {
			t.Errorf("right after the upload: status %q, summary %v", d.Status, d.Summary)
		}
		browser := webSignIn(t, in, x.rcpt)
		status, page := browser.get("/boxes/" + x.box + "/files/" + mr)
		if status != http.StatusOK || !strings.Contains(page, "プレビューを作成しています") && !strings.Contains(page, `id="viewer"`) {
			t.Errorf("viewer page right after the upload: %d, neither being made nor shown", status)
		}
		in.previewsMade()

		status, d = x.rcpt.dicomInfo(mr)
		must(t, status, http.StatusOK, "dicom info")
		if d.Status != "ready" || d.Kind != "dicom" || d.Frames != 10 || len(d.Stack) != 10 || d.Summary == nil || d.Summary.Modality != "MR" {
			t.Fatalf("dicom info = %+v", d)
		}
		for i, s := range d.Stack {
			if s.File != mr || s.Frame != i || s.Width != d.Width || s.Height != d.Height {
				t.Errorf("stack[%d] = %+v", i, s)
			}
		}
		if len(d.Presets) == 0 || d.Presets[0].Name != "auto" || d.Presets[0].Label == "" {
			t.Errorf("presets = %+v", d.Presets)
		}
		thumb := x.rcpt.jpegOf("/api/v1/files/" + mr + "/preview")
		full := x.rcpt.jpegOf("/api/v1/files/" + mr + "/preview?size=full")
		if b := full.Bounds(); b.Dx() != d.Width || b.Dy() != d.Height || thumb.Bounds().Dx() > 320 {
			t.Errorf("full %v, thumbnail %v for %d×%d", b, thumb.Bounds(), d.Width, d.Height)
		}
		var rawFrame []byte
		for n := range 10 {
			status, body, h := x.rcpt.do("GET", "/api/v1/files/"+mr+"/preview?frame="+strconv.Itoa(n)+"&format=raw", nil, nil)
			if n == 5 {
				rawFrame = body
			}
			var v dicom.ViewerFrame
			if err := v.UnmarshalBinary(body); status != http.StatusOK || err != nil || h.Get("Content-Type") != "application/octet-stream" {
				t.Fatalf("raw frame %d: %d %v", n, status, err)
			}
			if v.Width != d.Width || v.Height != d.Height || v.Color || v.WindowWidth <= 0 {
				t.Errorf("raw frame %d: %d×%d colour %v window %v", n, v.Width, v.Height, v.Color, v.WindowWidth)
			}
		}
		narrow := x.rcpt.jpegOf("/api/v1/files/" + mr + "/preview?frame=5&wc=100&ww=50")
		wide := x.rcpt.jpegOf("/api/v1/files/" + mr + "/preview?frame=5&wc=500&ww=2000")
		if meanGrey(narrow) == meanGrey(wide) {
			t.Errorf("window changes nothing: mean grey %v", meanGrey(narrow))
		}
		for _, q := range []string{"?frame=10&format=raw", "?frame=99", "?size=full&frame=-1", "?frame=x"} {
			status, body, _ := x.rcpt.do("GET", "/api/v1/files/"+mr+"/preview"+q, nil, nil)
			if status != http.StatusNotFound && status != http.StatusBadRequest {
				t.Errorf("preview%s: %d %s", q, status, body)
			}
		}

		// The Japanese character set decodes, and the name is text, not markup.
		status, j := x.rcpt.dicomInfo(jp)
		must(t, status, http.StatusOK, "dicom info of the Japanese file")
		if j.Status != "ready" || j.Summary == nil || j.Summary.PatientName != "山田 太郎" || !strings.Contains(j.Summary.PatientNameRaw, "山田^太郎") {
			t.Fatalf("Japanese file: %+v %+v", j, j.Summary)
		}
		status, page = browser.get("/boxes/" + x.box + "/files/" + jp)
		if status != http.StatusOK || !strings.Contains(page, "山田 太郎") || !strings.Contains(page, `id="viewer"`) {
			t.Errorf("viewer page: %d, has name %v", status, strings.Contains(page, "山田 太郎"))
		}
		// While a preview is being made, the page says so (and viewer.js
		// looks again until it is there).
		setPreviewStatus(t, in, mr, "pending")
		status, page = browser.get("/boxes/" + x.box + "/files/" + mr)
		if status != http.StatusOK || !strings.Contains(page, `id="viewer-pending"`) || !strings.Contains(page, "プレビューを作成しています") {
			t.Errorf("viewer page of a pending preview: %d", status)
		}
		setPreviewStatus(t, in, mr, "ready")
		status, page = browser.get("/boxes/" + x.box)
		if status != http.StatusOK || !strings.Contains(page, `src="/api/v1/files/`+mr+`/preview" loading="lazy"`) {
			t.Errorf("box page has no lazy thumbnail for the DICOM file")
		}

		// Outsiders learn nothing: the same 404 as for an id that does not exist.
		outsider := webSignIn(t, in, x.outside)
		for _, p := range append(previewRoutes(mr), "/boxes/"+x.box+"/files/"+mr) {
			status, body, _ := outsider.do("GET", p, nil, nil)
			fake := strings.ReplaceAll(p, mr, "nosuchfile0000000000000000")
			fstatus, fbody, _ := outsider.do("GET", fake, nil, nil)
			fbody = bytes.ReplaceAll(fbody, []byte("nosuchfile0000000000000000"), []byte(mr))
			if status != http.StatusNotFound || status != fstatus || !bytes.Equal(body, fbody) {
				t.Errorf("outsider GET %s: %d %.100s; a random id: %d %.100s", p, status, body, fstatus, fbody)
			}
		}
		// A participant's view is in the box's history, once.
		var hist struct {
			Events []struct{ Action, Target string } `json:"events"`
		}
		x.sender.json("GET", "/api/v1/boxes/"+x.box+"/history", nil, &hist)
		views := 0
		for _, e := range hist.Events {
			if e.Action == "file.preview" && e.Target == mr {
				views++
			}
		}
		if views != 1 {
			t.Errorf("history has %d file.preview entries for the file, want 1: %+v", views, hist.Events)
		}
		// Neither the header nor any pixel of a frame or thumbnail is stored in
		// the clear.
		pixels := rawFrame[len(rawFrame)-4096 : len(rawFrame)-4096+64]
		_, thumbJPEG, _ := x.rcpt.do("GET", "/api/v1/files/"+mr+"/preview", nil, nil)
		assertNoPlaintext(t, in, map[string][]byte{"patient name": []byte("Yamada^Tarou"), "kanji name": []byte("山田"),
			"frame pixels": pixels, "thumbnail": thumbJPEG[len(thumbJPEG)/2 : len(thumbJPEG)/2+64]})
	})
}

// setPreviewStatus sets the state of a file's preview, as a job would.
func setPreviewStatus(t testing.TB, in *instance, file, status string) {
	t.Helper()
	if _, err := in.db().ExecContext(context.Background(), `UPDATE previews SET status = $1 WHERE file_id = $2`, status, file); err != nil {
		t.Fatal(err)
	}
}

// webSignIn returns a browser-like client signed in through the sign-in form
// as c's member, so that pages and the API answer it by its session cookie.
func webSignIn(t testing.TB, in *instance, c *client) *client {
	t.Helper()
	w := in.client()
	status, body, _ := w.form("/login", "email", c.user, "password", c.pass)
	must(t, status, http.StatusSeeOther, "web sign-in "+c.user, body)
	return w
}

// meanGrey is the average brightness of an image.
func meanGrey(img image.Image) float64 {
	b := img.Bounds()
	var sum float64
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			sum += float64(r+g+bl) / 3
		}
	}
	return sum / float64(b.Dx()*b.Dy()) / 257
}

// assertNoPlaintext fails if any stored object holds one of the canaries: every
// preview (and file) must reach the blob directory sealed.
func assertNoPlaintext(t *testing.T, in *instance, canaries map[string][]byte) {
	t.Helper()
	dir := filepath.Join(in.data, "blobs")
	n := 0
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		n++
		for what, c := range canaries {
			if len(c) > 0 && bytes.Contains(b, c) {
				t.Errorf("stored object %s holds plaintext (%s)", p, what)
			}
		}
		return nil
	})
	if n == 0 {
		t.Errorf("no stored objects under %s", dir)
	}
}

// hostileDICOM is a file that passes the content check — a preamble and "DICM" —
// followed by garbage.
func hostileDICOM() []byte {
	b := make([]byte, 128, 3200)
	b = append(b, "DICM"...)
	return append(b, content(7, 3000)...)
}

// dicomElement encodes one explicit VR little endian element.
func dicomElement(group, elem uint16, vr string, value []byte) []byte {
	if len(value)%2 == 1 {
		pad := byte(' ')
		if vr == "UI" || vr == "OB" || vr == "OW" {
			pad = 0
		}
		value = append(value, pad)
	}
	b := binary.LittleEndian.AppendUint16(nil, group)
	b = binary.LittleEndian.AppendUint16(b, elem)
	b = append(b, vr...)
	switch vr {
	case "OB", "OW", "SQ", "UN", "UT":
		b = append(b, 0, 0)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(value)))
	default:
		b = binary.LittleEndian.AppendUint16(b, uint16(len(value)))
	}
	return append(b, value...)
}

func us(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }

// hugeDICOM is a small, well-formed file that declares 1000 frames of
// 60000×60000 16-bit pixels: trusting the header would mean allocating terabytes.
func hugeDICOM() []byte {
	var meta []byte
	meta = append(meta, dicomElement(0x0002, 0x0001, "OB", []byte{0, 1})...)
	meta = append(meta, dicomElement(0x0002, 0x0002, "UI", []byte("1.2.840.10008.5.1.4.1.1.4"))...)
	meta = append(meta, dicomElement(0x0002, 0x0003, "UI", []byte("1.2.3.4.5.6.7.8.9"))...)
	meta = append(meta, dicomElement(0x0002, 0x0010, "UI", []byte("1.2.840.10008.1.2.1"))...)
	b := make([]byte, 128, 2048)
	b = append(b, "DICM"...)
	b = append(b, dicomElement(0x0002, 0x0000, "UL", binary.LittleEndian.AppendUint32(nil, uint32(len(meta))))...)
	b = append(b, meta...)
	b = append(b, dicomElement(0x0008, 0x0060, "CS", []byte("MR"))...)
	b = append(b, dicomElement(0x0010, 0x0010, "PN", []byte("Huge^Declared"))...)
	b = append(b, dicomElement(0x0028, 0x0002, "US", us(1))...)
	b = append(b, dicomElement(0x0028, 0x0004, "CS", []byte("MONOCHROME2"))...)
	b = append(b, dicomElement(0x0028, 0x0008, "IS", []byte("1000"))...)
	b = append(b, dicomElement(0x0028, 0x0010, "US", us(60000))...)
	b = append(b, dicomElement(0x0028, 0x0011, "US", us(60000))...)
	b = append(b, dicomElement(0x0028, 0x0100, "US", us(16))...)
	b = append(b, dicomElement(0x0028, 0x0101, "US", us(16))...)
	b = append(b, dicomElement(0x0028, 0x0102, "US", us(15))...)
	b = append(b, dicomElement(0x0028, 0x0103, "US", us(0))...)
	return append(b, dicomElement(0x7FE0, 0x0010, "OW", make([]byte, 1024))...)
}

// TestPreviewHostileDICOM: garbage after the preamble and a huge declared image
// both end as "cannot preview — download only"; the server keeps serving, and
// the files can still be downloaded.
func TestPreviewHostileDICOM(t *testing.T) {
	in := startInstance(t, instanceOptions{})
	x := newExchange(t, in)
	files := map[string][]byte{"garbage.dcm": hostileDICOM(), "huge.dcm": hugeDICOM()}
	ids := map[string]string{}
	for name, data := range files {
		ids[name] = x.sender.upload(x.box, name, data)
	}
	in.previewsMade()
	browser := webSignIn(t, in, x.rcpt)
	for name, id := range ids {
		status, d := x.rcpt.dicomInfo(id)
		if status != http.StatusOK || d.Status != "failed" || d.Reason != "cannot_preview" || d.Summary != nil {
			t.Errorf("%s: %d %+v, want failed: cannot_preview", name, status, d)
		}
		for _, p := range previewRoutes(id)[:5] {
			status, body, _ := x.rcpt.do("GET", p, nil, nil)
			if status != http.StatusNotFound || errorCode(body) != "no_preview" {
				t.Errorf("%s: GET %s = %d %s, want 404 no_preview", name, p, status, body)
			}
		}
		status, page := browser.get("/boxes/" + x.box + "/files/" + id)
		if status != http.StatusOK || !strings.Contains(page, "プレビューできません — ダウンロードのみ") ||
			!strings.Contains(page, `href="/api/v1/files/`+id+`/content"`) {
			t.Errorf("%s: viewer page %d does not offer the download only", name, status)
		}
		status, body, _ := x.rcpt.do("GET", "/api/v1/files/"+id+"/content", nil, nil)
		if status != http.StatusOK || !bytes.Equal(body, files[name]) {
			t.Errorf("%s: download %d, %d bytes", name, status, len(body))
		}
	}
	if status, _ := x.rcpt.get("/healthz"); status != http.StatusOK {
		t.Fatalf("server down after hostile files: %d", status)
	}
	// And it still previews a good file afterwards.
	good := x.sender.upload(x.box, "ct.dcm", dicomFile(t, "ct_small.dcm"))
	in.previewsMade()
	if status, d := x.rcpt.dicomInfo(good); status != http.StatusOK || d.Status != "ready" || d.Frames != 1 {
		t.Errorf("good file after hostile ones: %d %+v", status, d)
	}
	assertNoPlaintext(t, in, map[string][]byte{"declared name": []byte("Huge^Declared")})
}

// previewsMade runs due jobs until no preview is pending, then delivers the rest.
// Previews may take longer than deliver waits: a study spawns a worker per
// entry, and under the race detector each one starts slowly.
func (in *instance) previewsMade() {
	in.t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		if _, err := in.app.Jobs.RunDue(ctx); err != nil {
			in.t.Fatalf("run due jobs: %v", err)
		}
		var n int
		if err := in.db().QueryRowContext(ctx, `SELECT count(*) FROM previews WHERE status = 'pending'`).Scan(&n); err != nil {
			in.t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			in.t.Fatalf("%d previews still pending after 3 minutes", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	in.deliver()
}
