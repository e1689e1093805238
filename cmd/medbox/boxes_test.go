package main

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/medbox-jp/medbox/internal/seal"
	"github.com/medbox-jp/medbox/internal/sqldb/sqltest"
)

// smallChunks makes uploads cut into many chunks without big test files.
var smallChunks = map[string]string{"MEDBOX_CHUNK_SIZE": "256KiB"}

// exchange is a box between a sender and a recipient, with an outsider who is
// also an approved member.
type exchange struct {
	in                           *instance
	admin, sender, rcpt, outside *client
	senderID, rcptID, outsideID  string
	box                          string
}

func newExchange(t *testing.T, in *instance) *exchange {
	t.Helper()
	x := &exchange{in: in, admin: in.admin()}
	x.sender, x.senderID = in.approvedMember(x.admin, newMember{Email: "sender@a.example.jp", Name: "送 信子", Kana: "そう のぶこ"})
	x.rcpt, x.rcptID = in.approvedMember(x.admin, newMember{Email: "rcpt@b.example.jp", Name: "受 信男", Kana: "じゅ のぶお"})
	x.outside, x.outsideID = in.approvedMember(x.admin, newMember{Email: "outside@c.example.jp", Name: "部外 者", Kana: "ぶがい しゃ"})
	x.box = x.newBox(t, x.rcptID)
	return x
}

func (x *exchange) newBox(t *testing.T, to ...string) string {
	t.Helper()
	var b map[string]any
	must(t, x.sender.json("POST", "/api/v1/boxes", map[string]any{"recipients": to, "message": "CT を見てください", "expires_in_hours": 72}, &b),
		http.StatusCreated, "create box", b)
	return b["id"].(string)
}

// content returns n deterministic pseudo-random bytes.
func content(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := r.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	for i := n - n%8; i < n; i++ {
		b[i] = byte(r.Uint32())
	}
	return b
}

// jpegHead makes any bytes look like a JPEG to the content check.
func jpeg(seed uint64, n int) []byte {
	b := content(seed, n)
	copy(b, []byte{0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0x00})
	return b
}

type uploadJSON struct {
	ID         string `json:"id"`
	ChunkSize  int64  `json:"chunk_size"`
	ChunkCount int    `json:"chunk_count"`
	Received   []int  `json:"received"`
}

func (c *client) createUpload(box, name string, size int64) (int, uploadJSON, map[string]map[string]any) {
	c.t.Helper()
	var raw json.RawMessage
	status := c.json("POST", "/api/v1/boxes/"+box+"/uploads", map[string]any{"name": name, "size": size}, &raw)
	var u uploadJSON
	var e map[string]map[string]any
	json.Unmarshal(raw, &u)
	json.Unmarshal(raw, &e)
	return status, u, e
}

// putChunk sends chunk n of data with its Content-Digest.
func (c *client) putChunk(u uploadJSON, n int, data []byte) (int, []byte) {
	c.t.Helper()
	lo := int64(n) * u.ChunkSize
	hi := min(lo+u.ChunkSize, int64(len(data)))
	part := data[lo:hi]
	sum := sha256.Sum256(part)
	status, body, _ := c.do("PUT", fmt.Sprintf("/api/v1/uploads/%s/chunks/%d", u.ID, n), bytes.NewReader(part),
		map[string]string{"Content-Digest": "sha-256=:" + base64.StdEncoding.EncodeToString(sum[:]) + ":"})
	return status, body
}

// upload sends data as a file into box and returns the completed file's id.
func (c *client) upload(box, name string, data []byte) string {
	c.t.Helper()
	status, u, e := c.createUpload(box, name, int64(len(data)))
	must(c.t, status, http.StatusCreated, "create upload "+name, e)
	return c.finishUpload(u, name, data)
}

// finishUpload sends every chunk of data for upload u (of a file called name),
// completes it and returns the file's id.
func (c *client) finishUpload(u uploadJSON, name string, data []byte) string {
	c.t.Helper()
	for n := range u.ChunkCount {
		status, body := c.putChunk(u, n, data)
		must(c.t, status, http.StatusNoContent, fmt.Sprintf("chunk %d of %s", n, name), string(body))
	}
	var out struct{ File map[string]any }
	must(c.t, c.json("POST", "/api/v1/uploads/"+u.ID+"/complete", nil, &out), http.StatusCreated, "complete "+name, out)
	return out.File["id"].(string)
}

func (c *client) usage() int64 {
	var me struct {
		Usage struct {
			UsedBytes int64 `json:"used_bytes"`
		}
	}
	c.json("GET", "/api/v1/me", nil, &me)
	return me.Usage.UsedBytes
}

// TestUploadProtocol: chunks out of order and repeated, resume with only the
// missing chunks, lying sizes, extra chunks and wrong digests refused, and the
// recipient reads back the exact bytes.
func TestUploadProtocol(t *testing.T) {
	eachDBWith(t, smallChunks, func(t *testing.T, in *instance) {
		x := newExchange(t, in)
		data := jpeg(1, 5*256<<10+12345) // six chunks, the last one short
		status, u, e := x.sender.createUpload(x.box, "ct/../../scan.jpg", int64(len(data)))
		must(t, status, http.StatusCreated, "create upload", e)
		if u.ChunkCount != 6 || u.ChunkSize != 256<<10 {
			t.Fatalf("upload = %+v, want 6 chunks of 256 KiB", u)
		}
		for _, n := range []int{4, 1, 4, 0} { // out of order, one twice
			status, body := x.sender.putChunk(u, n, data)
			must(t, status, http.StatusNoContent, fmt.Sprintf("chunk %d", n), string(body))
		}
		var got uploadJSON
		must(t, x.sender.json("GET", "/api/v1/uploads/"+u.ID, nil, &got), http.StatusOK, "status")
		if fmt.Sprint(got.Received) != "[0 1 4]" {
			t.Errorf("received = %v, want [0 1 4]", got.Received)
		}
		var missing map[string]map[string]any
		must(t, x.sender.json("POST", "/api/v1/uploads/"+u.ID+"/complete", nil, &missing), http.StatusConflict, "complete early")
		if fmt.Sprint(missing["error"]["missing"]) != "[2 3 5]" {
			t.Errorf("missing = %v", missing["error"]["missing"])
		}
		// A lying length, an index past the end, a wrong digest: all refused.
		short := data[256<<10 : 2*256<<10-1]
		if status, _, _ := x.sender.do("PUT", "/api/v1/uploads/"+u.ID+"/chunks/1", bytes.NewReader(short), nil); status != http.StatusBadRequest {
			t.Errorf("short chunk: %d, want 400", status)
		}
		long := append(append([]byte{}, data[2*256<<10:3*256<<10]...), 'x')
		if status, _, _ := x.sender.do("PUT", "/api/v1/uploads/"+u.ID+"/chunks/2", bytes.NewReader(long), nil); status != http.StatusBadRequest {
			t.Errorf("long chunk: %d, want 400", status)
		}
		if status, _ := x.sender.putChunk(uploadJSON{ID: u.ID, ChunkSize: u.ChunkSize}, 6, append(data, data[:256<<10]...)); status != http.StatusBadRequest {
			t.Errorf("chunk past the end: %d, want 400", status)
		}
		bad := sha256.Sum256([]byte("something else"))
		status, _, _ = x.sender.do("PUT", "/api/v1/uploads/"+u.ID+"/chunks/3", bytes.NewReader(data[3*256<<10:4*256<<10]),
			map[string]string{"Content-Digest": "sha-256=:" + base64.StdEncoding.EncodeToString(bad[:]) + ":"})
		if status != http.StatusBadRequest {
			t.Errorf("wrong digest: %d, want 400", status)
		}
		// Resume: ask what arrived, send only the rest.
		must(t, x.sender.json("GET", "/api/v1/uploads/"+u.ID, nil, &got), http.StatusOK, "status")
		have := map[int]bool{}
		for _, n := range got.Received {
			have[n] = true
		}
		for n := range u.ChunkCount {
			if !have[n] {
				status, body := x.sender.putChunk(u, n, data)
				must(t, status, http.StatusNoContent, fmt.Sprintf("resume chunk %d", n), string(body))
			}
		}
		var done struct{ File map[string]any }
		must(t, x.sender.json("POST", "/api/v1/uploads/"+u.ID+"/complete", nil, &done), http.StatusCreated, "complete")
		if done.File["name"] != "scan.jpg" || done.File["content_type"] != "image/jpeg" {
			t.Errorf("file = %v", done.File)
		}
		fileID := done.File["id"].(string)
		status, body, h := x.rcpt.do("GET", "/api/v1/files/"+fileID+"/content", nil, nil)
		if status != http.StatusOK || !bytes.Equal(body, data) {
			t.Fatalf("recipient download: %d, %d bytes, equal %v", status, len(body), bytes.Equal(body, data))
		}
		if h.Get("Content-Type") != "application/octet-stream" || !strings.HasPrefix(h.Get("Content-Disposition"), "attachment") ||
			!strings.Contains(h.Get("Content-Security-Policy"), "sandbox") {
			t.Errorf("download headers: %v", h)
		}
		// The upload is gone once complete; its chunks cannot be touched again.
		if status, _ := x.sender.putChunk(u, 0, data); status != http.StatusNotFound {
			t.Errorf("chunk after complete: %d, want 404", status)
		}
		if used := x.sender.usage(); used != int64(len(data)) {
			t.Errorf("usage = %d, want %d", used, len(data))
		}
	})
}

func eachDBWith(t *testing.T, env map[string]string, fn func(t *testing.T, in *instance)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, startInstance(t, instanceOptions{env: env})) })
	t.Run("postgres", func(t *testing.T) {
		fn(t, startInstance(t, instanceOptions{database: sqltest.NewPostgresURL(t), env: env}))
	})
}

// TestOutsidersLearnNothing: to a member outside the box, every box, file and
// upload route answers byte for byte as it does for an id that does not exist.
func TestOutsidersLearnNothing(t *testing.T) {
	eachDBWith(t, smallChunks, func(t *testing.T, in *instance) {
		x := newExchange(t, in)
		file := x.sender.upload(x.box, "a.jpg", jpeg(2, 1000))
		x.sender.json("POST", "/api/v1/boxes/"+x.box+"/comments", map[string]string{"body": "見えますか"}, nil)
		_, u, _ := x.sender.createUpload(x.box, "b.jpg", 1000)
		random := "zzzzzzzzzzzzzzzzzzzzzzzzzz"
		routes := []struct{ method, path, body string }{
			{"GET", "/api/v1/boxes/%s", ""},
			{"POST", "/api/v1/boxes/%s/participants", `{"member_ids":["` + x.outsideID + `"]}`},
			{"POST", "/api/v1/boxes/%s/comments", `{"body":"hi"}`},
			{"GET", "/api/v1/boxes/%s/zip", ""},
			{"POST", "/api/v1/boxes/%s/uploads", `{"name":"x.jpg","size":10}`},
			{"GET", "/api/v1/files/%s/content", "file"},
			{"DELETE", "/api/v1/files/%s", "file"},
			{"GET", "/api/v1/uploads/%s", "upload"},
			{"PUT", "/api/v1/uploads/%s/chunks/0", "upload"},
			{"POST", "/api/v1/uploads/%s/complete", "upload"},
			{"DELETE", "/api/v1/uploads/%s", "upload"},
		}
		for _, rt := range routes {
			real := x.box
			body := rt.body
			switch rt.body {
			case "file":
				real, body = file, ""
			case "upload":
				real, body = u.ID, ""
			}
			call := func(id string) (int, string) {
				status, b, _ := x.outside.do(rt.method, fmt.Sprintf(rt.path, id), strings.NewReader(body), map[string]string{"Content-Type": "application/json"})
				return status, string(b)
			}
			gotStatus, gotBody := call(real)
			wantStatus, wantBody := call(random)
			if gotStatus != http.StatusNotFound || gotStatus != wantStatus || gotBody != wantBody {
				t.Errorf("%s %s as outsider: %d %q; for a random id: %d %q", rt.method, rt.path, gotStatus, gotBody, wantStatus, wantBody)
			}
		}
		// Pages too.
		for _, p := range []string{"/boxes/" + x.box} {
			web := in.client()
			web.form("/login", "email", "outside@c.example.jp", "password", "correct horse battery")
			s1, b1, _ := web.do("GET", p, nil, nil)
			s2, b2, _ := web.do("GET", "/boxes/"+random, nil, nil)
			// The page echoes its own path (the language switch returns to it); apart
			// from that the two answers must be identical.
			b1 = bytes.ReplaceAll(b1, []byte(x.box), []byte("ID"))
			b2 = bytes.ReplaceAll(b2, []byte(random), []byte("ID"))
			if s1 != http.StatusNotFound || s1 != s2 || !bytes.Equal(b1, b2) {
				t.Errorf("page %s as outsider: %d vs %d, same body %v", p, s1, s2, bytes.Equal(b1, b2))
			}
		}
		// The administrator has no way in either.
		if status, _, _ := x.admin.do("GET", "/api/v1/boxes/"+x.box, nil, nil); status == http.StatusOK {
			t.Error("an administrator can read a box")
		}
		// And the recipient can, but not the upload, which is the sender's alone.
		must(t, x.rcpt.json("GET", "/api/v1/boxes/"+x.box, nil, nil), http.StatusOK, "recipient reads box")
		if status := x.rcpt.json("GET", "/api/v1/uploads/"+u.ID, nil, nil); status != http.StatusNotFound {
			t.Errorf("recipient reads sender's upload: %d", status)
		}
	})
}

// TestRefusalsOverHTTP: what box and upload refuse (their own tests check the
// rules) reaches an API client as the status and error code it is documented
// with, and what they allow as success: a recipient added later reads and
// downloads the file over HTTP.
func TestRefusalsOverHTTP(t *testing.T) {
	eachDBWith(t, smallChunks, func(t *testing.T, in *instance) {
		x := newExchange(t, in)
		scan := jpeg(6, 600_000)
		fileA := x.sender.upload(x.box, "a.jpg", scan)
		tests := []struct {
			name       string
			do         func(t *testing.T) (int, []byte)
			wantStatus int
			wantCode   string
			wantReason string // of a refused type
		}{
			{"the 21st file", func(t *testing.T) (int, []byte) {
				b := x.newBox(t, x.rcptID)
				for i := range 20 {
					status, _, e := x.sender.createUpload(b, fmt.Sprintf("f%02d.jpg", i), 1000)
					must(t, status, http.StatusCreated, fmt.Sprint("upload ", i), e)
				}
				return x.sender.rawJSON("POST", "/api/v1/boxes/"+b+"/uploads", map[string]any{"name": "f21.jpg", "size": 1000})
			}, http.StatusConflict, "too_many_files", ""},
			{"1 GB + 1 byte", func(t *testing.T) (int, []byte) {
				return x.sender.rawJSON("POST", "/api/v1/boxes/"+x.newBox(t, x.rcptID)+"/uploads", map[string]any{"name": "huge.mp4", "size": 1_000_000_001})
			}, http.StatusRequestEntityTooLarge, "send_too_large", ""},
			{"beyond the quota", func(t *testing.T) (int, []byte) { // the recipient's quota, answering in two boxes
				for range 2 {
					status, _, e := x.rcpt.createUpload(x.newBox(t, x.rcptID), "big.mp4", 1_000_000_000)
					must(t, status, http.StatusCreated, "1 GB", e)
				}
				return x.rcpt.rawJSON("POST", "/api/v1/boxes/"+x.newBox(t, x.rcptID)+"/uploads", map[string]any{"name": "one.jpg", "size": 1})
			}, http.StatusRequestEntityTooLarge, "quota_exceeded", ""},
			{"an executable named .jpg", func(t *testing.T) (int, []byte) {
				exe := content(3, 300_000)
				copy(exe, []byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"))
				binaryPE(exe)
				status, u, e := x.sender.createUpload(x.box, "photo.jpg", int64(len(exe)))
				must(t, status, http.StatusCreated, "create", e)
				for n := range u.ChunkCount {
					status, body := x.sender.putChunk(u, n, exe)
					must(t, status, http.StatusNoContent, "chunk", string(body))
				}
				return x.sender.rawJSON("POST", "/api/v1/uploads/"+u.ID+"/complete", nil)
			}, http.StatusUnsupportedMediaType, "type_not_allowed", "executable"},
			{"other bytes for an acknowledged chunk", func(t *testing.T) (int, []byte) {
				data := jpeg(110, 600_000)
				status, u, e := x.sender.createUpload(x.box, "b.jpg", int64(len(data)))
				must(t, status, http.StatusCreated, "create", e)
				status, body := x.sender.putChunk(u, 0, data)
				must(t, status, http.StatusNoContent, "chunk", string(body))
				must(t, mustStatus(x.sender.putChunk(u, 0, data)), http.StatusNoContent, "the same bytes again")
				evil := append([]byte("MZ"), data[2:256<<10]...)
				status, body, _ = x.sender.do("PUT", "/api/v1/uploads/"+u.ID+"/chunks/0", bytes.NewReader(evil), nil)
				return status, body
			}, http.StatusConflict, "chunk_conflict", ""},
			{"a recipient adds people", func(*testing.T) (int, []byte) {
				return x.rcpt.rawJSON("POST", "/api/v1/boxes/"+x.box+"/participants", map[string]any{"member_ids": []string{x.outsideID}})
			}, http.StatusForbidden, "not_sender", ""},
			{"a recipient deletes the sender's file", func(*testing.T) (int, []byte) {
				return x.rcpt.rawJSON("DELETE", "/api/v1/files/"+fileA, nil)
			}, http.StatusForbidden, "not_sender", ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				status, body := tt.do(t)
				var e struct {
					Error struct{ Code, Reason, Message string }
				}
				json.Unmarshal(body, &e)
				if status != tt.wantStatus || e.Error.Code != tt.wantCode || e.Error.Reason != tt.wantReason || e.Error.Message == "" {
					t.Errorf("status %d, %s; want %d with code %q, reason %q and a message", status, body, tt.wantStatus, tt.wantCode, tt.wantReason)
				}
				if tt.wantReason == "executable" && !strings.Contains(e.Error.Message, "実行ファイル") {
					t.Errorf("message %q does not say it is a program (実行ファイル)", e.Error.Message)
				}
			})
		}
		must(t, x.sender.json("POST", "/api/v1/boxes/"+x.box+"/participants", map[string]any{"member_ids": []string{x.outsideID}}, nil), http.StatusOK, "add later")
		var b map[string]any
		must(t, x.outside.json("GET", "/api/v1/boxes/"+x.box, nil, &b), http.StatusOK, "the late recipient reads the box")
		if len(b["files"].([]any)) != 1 {
			t.Errorf("the late recipient sees %d files, want the one completed", len(b["files"].([]any)))
		}
		if status, body, _ := x.outside.do("GET", "/api/v1/files/"+fileA+"/content", nil, nil); status != http.StatusOK || !bytes.Equal(body, scan) {
			t.Errorf("the late recipient downloads: %d, %d bytes, want 200 with the %d sent", status, len(body), len(scan))
		}
	})
}

// rawJSON sends v as JSON and returns the status and the body.
func (c *client) rawJSON(method, path string, v any) (int, []byte) {
	c.t.Helper()
	var body io.Reader
	if v != nil {
		b, _ := json.Marshal(v)
		body = bytes.NewReader(b)
	}
	status, b, _ := c.do(method, path, body, map[string]string{"Content-Type": "application/json"})
	return status, b
}

// binaryPE turns b into something every content check calls a Windows program.
func binaryPE(b []byte) {
	const peOff = 0x80
	b[0x3c] = peOff
	copy(b[peOff:], []byte("PE\x00\x00\x4c\x01"))
}

// TestRangeAndZip (R-T2): a Range read from the middle of a large file returns
// exactly those bytes, and the whole box streams as one ZIP.
func TestRangeAndZip(t *testing.T) {
	in := startInstance(t, instanceOptions{env: map[string]string{"MEDBOX_CHUNK_SIZE": "8MiB"}})
	x := newExchange(t, in)
	big := jpeg(4, 20<<20) // three 8 MiB chunks
	bigID := x.sender.upload(x.box, "video.jpg", big)
	small := jpeg(5, 70_000)
	x.sender.upload(x.box, "video.jpg", small)        // same name: the ZIP must keep both
	start, end := int64(8<<20-4321), int64(16<<20+99) // across both chunk borders
	status, body, h := x.rcpt.do("GET", "/api/v1/files/"+bigID+"/content", nil, map[string]string{"Range": fmt.Sprintf("bytes=%d-%d", start, end)})
	if status != http.StatusPartialContent || !bytes.Equal(body, big[start:end+1]) {
		t.Fatalf("range: %d, %d bytes, equal %v", status, len(body), bytes.Equal(body, big[start:end+1]))
	}
	if h.Get("Content-Range") != fmt.Sprintf("bytes %d-%d/%d", start, end, len(big)) {
		t.Errorf("Content-Range = %q", h.Get("Content-Range"))
	}
	status, body, h = x.rcpt.do("GET", "/api/v1/boxes/"+x.box+"/zip", nil, nil)
	if status != http.StatusOK || h.Get("Content-Type") != "application/zip" {
		t.Fatalf("zip: %d %v", status, h)
	}
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	sums := map[string][32]byte{}
	for _, f := range zr.File {
		names = append(names, f.Name)
		rc, _ := f.Open()
		b, _ := io.ReadAll(rc)
		rc.Close()
		sums[f.Name] = sha256.Sum256(b)
	}
	sort.Strings(names)
	if fmt.Sprint(names) != "[video (2).jpg video.jpg]" || sums["video.jpg"] != sha256.Sum256(big) || sums["video (2).jpg"] != sha256.Sum256(small) {
		t.Errorf("zip holds %v with sums matching: %v %v", names, sums["video.jpg"] == sha256.Sum256(big), sums["video (2).jpg"] == sha256.Sum256(small))
	}
}

// TestNoPlaintextAtRest scans every file under the data directory after uploads
// for a canary from the files and finds none.
func TestNoPlaintextAtRest(t *testing.T) {
	in := startInstance(t, instanceOptions{env: smallChunks})
	x := newExchange(t, in)
	canary := []byte("PLAINTEXT-CANARY-7f3a9c-患者名-やまだ")
	data := bytes.Repeat(append(append([]byte{}, canary...), '\n'), 20_000)
	x.sender.upload(x.box, "notes.txt", data)
	dicom, err := os.ReadFile(filepath.Join("..", "..", "testdata", "dicom", "ct_small.dcm"))
	if err != nil {
		t.Fatal(err)
	}
	x.sender.upload(x.box, "ct.dcm", dicom)
	in.deliver()
	in.db().Compact(context.Background())
	needles := [][]byte{canary, dicom[1000:1064]}
	filepath.WalkDir(in.data, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.Contains(p, string(filepath.Separator)+"outbox"+string(filepath.Separator)) {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, n := range needles {
			if bytes.Contains(b, n) {
				t.Errorf("%s contains plaintext from an uploaded file", p)
			}
		}
		return nil
	})
	// The key file holds only master keys: no data key, no file bytes.
	if _, err := seal.LoadOrCreate(filepath.Join(in.data, "master.key")); err != nil {
		t.Errorf("master key file: %v", err)
	}
}
