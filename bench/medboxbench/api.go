//go:build bench

package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/mail"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// account is what the bench needs to act as the sending member.
type account struct {
	Base      string `json:"base"`
	Addr      string `json:"addr"` // ip:port where Base's host name is reached (the bench has no DNS)
	Email     string `json:"email"`
	Password  string `json:"password"`
	Token     string `json:"token"`
	Recipient string `json:"recipient"` // member id of the colleague boxes are sent to
}

// client speaks MedBox's JSON API.
type client struct {
	base  string
	hc    *http.Client
	token string
}

// newClient is a client of the instance at base, whose host name is reached
// at addr (ip:port), trusting certFile.
func newClient(base, addr, certFile string, conns int) (*client, error) {
	tc, err := tlsTrusting(certFile)
	if err != nil {
		return nil, err
	}
	h1 := new(http.Protocols)
	h1.SetHTTP1(true) // one connection per chunk in flight, as a browser on an upload origin
	var d net.Dialer
	tr := &http.Transport{TLSClientConfig: tc, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, Protocols: h1,
		WriteBufferSize: 256 << 10, ReadBufferSize: 256 << 10,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		}}
	return &client{base: strings.TrimRight(base, "/"), hc: &http.Client{Transport: tr, Timeout: 30 * time.Minute}}, nil
}

// call sends a request and decodes a JSON answer into out (if not nil); an
// answer other than want is an error.
func (c *client) call(ctx context.Context, method, path string, body io.Reader, ctype string, want int, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, bytes.TrimSpace(b))
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

func (c *client) json(ctx context.Context, method, path string, in any, want int, out any) error {
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	return c.call(ctx, method, path, body, "application/json", want, out)
}

// prepare registers a sender and a recipient, confirms them from the outbox,
// approves them with `medbox admin approve`, and signs the sender in.
func prepare(ctx context.Context, base, addr, certFile, dataDir, medbox string) (*account, error) {
	c, err := newClient(base, addr, certFile, 4)
	if err != nil {
		return nil, err
	}
	acct := &account{Base: base, Addr: addr, Email: "sender@bench.example.jp", Password: "correct horse battery staple"}
	people := []struct{ email, name, kana string }{
		{acct.Email, "送 信子", "そう のぶこ"},
		{"rcpt@bench.example.jp", "受 信男", "じゅ のぶお"},
	}
	for _, p := range people {
		if err := c.register(ctx, p.email, acct.Password, p.name, p.kana); err != nil {
			return nil, err
		}
	}
	for _, p := range people {
		if err := c.confirm(ctx, dataDir, p.email); err != nil {
			return nil, err
		}
		cmd := exec.CommandContext(ctx, medbox, "admin", "approve", "--email", p.email)
		cmd.Env = append(os.Environ(), "MEDBOX_DATA="+dataDir, "MEDBOX_LOG_LEVEL=error")
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("approve %s: %v: %s", p.email, err, out)
		}
	}
	var me struct {
		Token  string `json:"token"`
		Member struct {
			ID string `json:"id"`
		} `json:"member"`
	}
	if err := c.json(ctx, "POST", "/api/v1/login", map[string]string{"email": people[1].email, "password": acct.Password}, 200, &me); err != nil {
		return nil, err
	}
	acct.Recipient = me.Member.ID
	if err := c.json(ctx, "POST", "/api/v1/login", map[string]string{"email": acct.Email, "password": acct.Password}, 200, &me); err != nil {
		return nil, err
	}
	acct.Token = me.Token
	return acct, nil
}

func (c *client) register(ctx context.Context, email, password, name, kana string) error {
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for k, v := range map[string]string{"email": email, "password": password, "name": name, "name_kana": kana,
		"profession": "doctor", "license_number": "123456", "workplace": "ベンチ病院", "department": "放射線科"} {
		w.WriteField(k, v)
	}
	fw, _ := w.CreateFormFile("proof", "licence.png")
	img := image.NewRGBA(image.Rect(0, 0, 64, 40))
	for i := range img.Pix {
		img.Pix[i] = byte(i*7) ^ email[i%len(email)]
	}
	png.Encode(fw, img)
	w.Close()
	return c.call(ctx, "POST", "/api/v1/register", &body, w.FormDataContentType(), http.StatusAccepted, nil)
}

var confirmLink = regexp.MustCompile(`https?://\S+/confirm\?token=[A-Za-z0-9._~%-]+`)

// confirm finds the confirmation mail to email in the outbox and confirms.
func (c *client) confirm(ctx context.Context, dataDir, email string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		link := findLink(filepath.Join(dataDir, "outbox"), email)
		if link != "" {
			u, err := url.Parse(link)
			if err != nil {
				return err
			}
			form := url.Values{"token": {u.Query().Get("token")}}
			req, _ := http.NewRequestWithContext(ctx, "POST", c.base+"/confirm", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			hc := *c.hc
			hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			resp, err := hc.Do(req)
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusSeeOther {
				return fmt.Errorf("confirm %s: status %d", email, resp.StatusCode)
			}
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no confirmation mail to %s in %s/outbox", email, dataDir)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// findLink returns the confirmation link of the newest mail to email.
func findLink(dir, email string) string {
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	for i := len(files) - 1; i >= 0; i-- {
		f, err := os.Open(files[i])
		if err != nil {
			continue
		}
		m, err := mail.ReadMessage(f)
		if err == nil && strings.Contains(m.Header.Get("To"), email) {
			text := mailText(m.Header, m.Body)
			f.Close()
			if l := confirmLink.FindString(text); l != "" {
				return l
			}
			continue
		}
		f.Close()
	}
	return ""
}

// mailText returns the decoded text of a message or part, all parts joined.
func mailText(h interface{ Get(string) string }, body io.Reader) string {
	mt, params, _ := mime.ParseMediaType(h.Get("Content-Type"))
	if strings.HasPrefix(mt, "multipart/") {
		var out strings.Builder
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err != nil {
				return out.String()
			}
			out.WriteString(mailText(p.Header, p))
		}
	}
	raw, _ := io.ReadAll(body)
	switch strings.ToLower(h.Get("Content-Transfer-Encoding")) {
	case "quoted-printable":
		b, _ := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(raw)))
		return string(b)
	case "base64":
		b, _ := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(raw)), ""))
		return string(b)
	}
	return string(raw)
}

// newBox creates a box from the sender to the recipient and returns its id.
func (c *client) newBox(ctx context.Context, acct *account) (string, error) {
	var b struct {
		ID string `json:"id"`
	}
	err := c.json(ctx, "POST", "/api/v1/boxes", map[string]any{"recipients": []string{acct.Recipient}, "message": "bench", "expires_in_hours": 72}, http.StatusCreated, &b)
	return b.ID, err
}

// boxFiles returns the ids of the files in a box.
func (c *client) boxFiles(ctx context.Context, box string) ([]string, error) {
	var b struct {
		Files []struct {
			ID string `json:"id"`
		} `json:"files"`
	}
	if err := c.json(ctx, "GET", "/api/v1/boxes/"+box, nil, http.StatusOK, &b); err != nil {
		return nil, err
	}
	var ids []string
	for _, f := range b.Files {
		ids = append(ids, f.ID)
	}
	return ids, nil
}
