package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
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
	"net/http/cookiejar"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medbox-jp/medbox/internal/auth"
	"github.com/medbox-jp/medbox/internal/clocktest"
	"github.com/medbox-jp/medbox/internal/config"
	"github.com/medbox-jp/medbox/internal/dicom/workertest"
	"github.com/medbox-jp/medbox/internal/mail/mailtest"
	"github.com/medbox-jp/medbox/internal/member"
	"github.com/medbox-jp/medbox/internal/server"
	"github.com/medbox-jp/medbox/internal/sqldb"
	"github.com/medbox-jp/medbox/internal/sqldb/sqltest"
)

// syncBuffer is a bytes.Buffer safe for the server goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// instance is a whole MedBox serving on a loopback port, wired exactly as
// `medbox serve` wires it, with a moved clock and cheap password hashing.
type instance struct {
	t     testing.TB
	app   *server.Instance
	url   string
	clock *clocktest.Clock // every timer of the app reads it
	out   *syncBuffer
	data  string
	roots *x509.CertPool
	smtp  *mailtest.Server

	loopbackNames bool // every host name of the instance resolves to 127.0.0.1
}

// httpClient returns a client for this instance (trusting its test certificate).
func (in *instance) httpClient(jar http.CookieJar) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if in.roots != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: in.roots}
	}
	if in.loopbackNames {
		var d net.Dialer
		tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			_, port, _ := net.SplitHostPort(addr)
			return d.DialContext(ctx, network, net.JoinHostPort("127.0.0.1", port))
		}
	}
	return &http.Client{Jar: jar, Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
}

type instanceOptions struct {
	database string // "" = SQLite in the data directory
	env      map[string]string
	roots    *x509.CertPool   // trust these for an HTTPS instance
	smtp     *mailtest.Server // send mail through this server instead of the outbox

	chunkIdle     time.Duration    // a chunk request without a byte for this long ends (0: the default)
	clock         *clocktest.Clock // the instance's time; nil: a new clock at clocktest.Start()
	loopbackNames bool             // the base URL and upload origins name hosts that all resolve to 127.0.0.1
}

func startInstance(t testing.TB, o instanceOptions) *instance {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	data := t.TempDir()
	env := map[string]string{
		"MEDBOX_DATA":      data,
		"MEDBOX_LISTEN":    addr,
		"MEDBOX_DATABASE":  o.database,
		"MEDBOX_LOG_LEVEL": "warn",
	}
	for k, v := range o.env {
		env[k] = v
	}
	var smtpRoots *x509.CertPool
	if o.smtp != nil {
		env["MEDBOX_SMTP_URL"], smtpRoots = o.smtp.URL(), o.smtp.RootCAs()
	}
	cfg, err := config.Load(nil, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	clk := o.clock
	if clk == nil {
		clk = clocktest.New()
	}
	in := &instance{t: t, clock: clk, out: &syncBuffer{}, url: cfg.BaseURL, data: data, roots: o.roots, smtp: o.smtp, loopbackNames: o.loopbackNames}
	hp := member.TestHashParams
	a, err := server.New(t.Context(), cfg, server.NewLogger(in.out, cfg.LogLevel), server.Options{Now: in.clock.Now, HashParams: &hp, SMTPRoots: smtpRoots, ChunkIdle: o.chunkIdle,
		DICOMWorker: workertest.Command(t)})
	if err != nil {
		t.Fatal(err)
	}
	in.app = a
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, in.out) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		a.Close()
	})
	for i := 0; ; i++ {
		resp, err := in.httpClient(nil).Get(in.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if i > 200 {
			t.Fatalf("instance did not come up: %v\n%s", err, in.out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return in
}

// eachDB runs fn on an instance backed by SQLite and on one backed by PostgreSQL.
func eachDB(t *testing.T, fn func(t *testing.T, in *instance)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, startInstance(t, instanceOptions{})) })
	t.Run("postgres", func(t *testing.T) {
		fn(t, startInstance(t, instanceOptions{database: sqltest.NewPostgresURL(t)}))
	})
}

func (in *instance) db() *sqldb.DB { return in.app.DB }

// deliver runs every due background job now (mail among them) and waits until
// the instance's own workers have finished the ones they took first.
func (in *instance) deliver() {
	in.t.Helper()
	for i := 0; ; i++ {
		if _, err := in.app.Jobs.RunDue(context.Background()); err != nil {
			in.t.Fatalf("run due jobs: %v", err)
		}
		var busy int
		args := []any{sqldb.Millis(in.clock.Now())}
		kinds := ""
		for i, k := range in.app.Jobs.Kinds() {
			args = append(args, k)
			if i > 0 {
				kinds += ", "
			}
			kinds += fmt.Sprintf("$%d", len(args))
		}
		err := in.db().QueryRowContext(context.Background(), `SELECT count(*) FROM jobs WHERE state = 'running'
			OR (state = 'queued' AND run_at <= $1 AND kind IN (`+kinds+`))`, args...).Scan(&busy)
		if err != nil {
			in.t.Fatal(err)
		}
		if busy == 0 {
			return
		}
		if i > 500 {
			in.t.Fatalf("%d jobs still running after 5 s", busy)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// sentMail is one message from the outbox.
type sentMail struct {
	File    string
	To      string
	Subject string
	Text    string
	Header  mail.Header
}

// outbox returns every mail written so far, oldest first, after delivering due
// jobs: the .eml files of the outbox, or what the SMTP server received.
func (in *instance) outbox() []sentMail {
	in.t.Helper()
	in.deliver()
	if in.smtp != nil {
		var out []sentMail
		for _, m := range in.smtp.Messages() {
			p, err := m.Parse()
			if err != nil {
				in.t.Fatalf("mail from the SMTP server: %v", err)
			}
			out = append(out, sentMail{To: strings.Join(m.To, ", "), Subject: p.Subject, Text: p.Text, Header: p.Header})
		}
		return out
	}
	files, _ := filepath.Glob(filepath.Join(in.data, "outbox", "*.eml"))
	sort.Slice(files, func(i, j int) bool {
		a, _ := os.Stat(files[i])
		b, _ := os.Stat(files[j])
		return a.ModTime().Before(b.ModTime()) || (a.ModTime().Equal(b.ModTime()) && files[i] < files[j])
	})
	var out []sentMail
	for _, f := range files {
		out = append(out, readEML(in.t, f))
	}
	return out
}

// lastMailTo returns the newest mail to addr whose text contains want.
func (in *instance) lastMailTo(addr, want string) sentMail {
	in.t.Helper()
	msgs := in.outbox()
	for i := len(msgs) - 1; i >= 0; i-- {
		if strings.Contains(msgs[i].To, addr) && strings.Contains(msgs[i].Text, want) {
			return msgs[i]
		}
	}
	in.t.Fatalf("no mail to %s containing %q among %d mails", addr, want, len(msgs))
	return sentMail{}
}

var linkRE = regexp.MustCompile(`https?://[^\s<>"]+`)

// link returns the first link of m that contains path.
func (m sentMail) link(t testing.TB, path string) string {
	t.Helper()
	for _, l := range linkRE.FindAllString(m.Text, -1) {
		if strings.Contains(l, path) {
			return l
		}
	}
	t.Fatalf("mail %q has no link with %q:\n%s", m.Subject, path, m.Text)
	return ""
}

func readEML(t testing.TB, path string) sentMail {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	msg, err := mail.ReadMessage(f)
	if err != nil {
		t.Fatalf("%s is not RFC 5322: %v", path, err)
	}
	dec := new(mime.WordDecoder)
	subject, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatalf("%s: subject: %v", path, err)
	}
	return sentMail{File: path, To: msg.Header.Get("To"), Subject: subject, Text: plainText(t, msg.Header, msg.Body), Header: msg.Header}
}

// plainText returns the text/plain part of a message, decoded.
func plainText(t testing.TB, h interface{ Get(string) string }, body io.Reader) string {
	t.Helper()
	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		mt = "text/plain"
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err != nil {
				return ""
			}
			if s := plainText(t, p.Header, p); s != "" {
				return s
			}
		}
	}
	if mt != "text/plain" {
		return ""
	}
	var r io.Reader = body
	switch strings.ToLower(h.Get("Content-Transfer-Encoding")) {
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	case "base64":
		b, _ := io.ReadAll(body)
		s, err := decodeBase64Lines(b)
		if err != nil {
			t.Fatalf("base64 body: %v", err)
		}
		return s
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return string(b)
}

// client is a cookie-carrying HTTP client for one browser-like user.
type client struct {
	t    testing.TB
	in   *instance
	http *http.Client
	tok  string // bearer token for API calls, when set
	user string // credentials of the last login, for relogin
	pass string

	totp     string         // the member's authenticator secret: login sends the clock's code
	recovery []string       // the member's unused recovery codes
	device   []*http.Cookie // the member's remembered-device cookie: webAs carries it
}

func (in *instance) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: in.t, in: in, http: in.httpClient(jar)}
}

// do sends a request and returns the status and body.
func (c *client) do(method, path string, body io.Reader, header map[string]string) (int, []byte, http.Header) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.in.url+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if c.tok != "" {
		req.Header.Set("Authorization", "Bearer "+c.tok)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp.StatusCode, b, resp.Header
}

// json sends v as JSON and decodes the answer into out (if not nil).
func (c *client) json(method, path string, v, out any) int {
	c.t.Helper()
	var body io.Reader
	if v != nil {
		b, _ := json.Marshal(v)
		body = bytes.NewReader(b)
	}
	status, b, _ := c.do(method, path, body, map[string]string{"Content-Type": "application/json"})
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
	return status
}

// form posts a urlencoded form like a browser does from a page of this site.
func (c *client) form(path string, kv ...string) (int, string, http.Header) {
	c.t.Helper()
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(urlEscape(kv[i]) + "=" + urlEscape(kv[i+1]))
	}
	status, body, h := c.do("POST", path, strings.NewReader(b.String()), map[string]string{
		"Content-Type": "application/x-www-form-urlencoded", "Origin": c.in.url, "Sec-Fetch-Site": "same-origin"})
	return status, string(body), h
}

func (c *client) get(path string) (int, string) {
	c.t.Helper()
	status, body, _ := c.do("GET", path, nil, nil)
	return status, string(body)
}

func must(t testing.TB, status, want int, what string, body ...any) {
	t.Helper()
	if status != want {
		t.Fatalf("%s: status %d, want %d %v", what, status, want, fmt.Sprint(body...))
	}
}

func urlEscape(s string) string { return url.QueryEscape(s) }

func decodeBase64Lines(b []byte) (string, error) {
	out, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(b)), ""))
	return string(out), err
}

// pngProof returns a small real PNG, standing in for a photo of a licence.
func pngProof(t testing.TB, label string) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 64, 40))
	for i := range img.Pix {
		img.Pix[i] = byte(i*7) ^ label[i%len(label)]
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// newMember describes a registration; zero fields get plausible defaults.
type newMember struct {
	Email, Password, Name, Kana, Profession, License, Workplace, Department string
	Proof                                                                   []byte
	ProofName                                                               string
	Invite                                                                  string
}

func (m *newMember) defaults(t testing.TB) {
	if m.Password == "" {
		m.Password = "correct horse battery"
	}
	if m.Name == "" {
		m.Name = "山田 太郎"
	}
	if m.Kana == "" {
		m.Kana = "やまだ たろう"
	}
	if m.Profession == "" {
		m.Profession = "doctor"
	}
	if m.License == "" {
		m.License = "123456"
	}
	if m.Workplace == "" {
		m.Workplace = "東京中央病院"
	}
	if m.Department == "" {
		m.Department = "放射線科"
	}
	if m.Proof == nil {
		m.Proof = pngProof(t, m.Email)
		m.ProofName = "licence.png"
	}
}

// registerAPI posts a registration to POST /api/v1/register.
func (c *client) registerAPI(m newMember) (int, []byte) {
	c.t.Helper()
	m.defaults(c.t)
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for k, v := range map[string]string{"email": m.Email, "password": m.Password, "name": m.Name, "name_kana": m.Kana,
		"profession": m.Profession, "license_number": m.License, "workplace": m.Workplace, "department": m.Department, "invite": m.Invite} {
		w.WriteField(k, v)
	}
	fw, _ := w.CreateFormFile("proof", m.ProofName)
	fw.Write(m.Proof)
	w.Close()
	status, b, _ := c.do("POST", "/api/v1/register", &body, map[string]string{"Content-Type": w.FormDataContentType()})
	return status, b
}

// confirmFromMail opens the newest confirmation mail to email and confirms.
func (in *instance) confirmFromMail(email string) {
	in.t.Helper()
	m := in.lastMailTo(email, "/confirm?token=")
	link := m.link(in.t, "/confirm?token=")
	u, _ := url.Parse(link)
	c := in.client()
	status, _ := c.get(u.RequestURI())
	must(in.t, status, http.StatusOK, "open confirmation link")
	status, _, _ = c.form("/confirm", "token", u.Query().Get("token"))
	must(in.t, status, http.StatusSeeOther, "confirm")
}

// newAdmin creates an administrator through the one-time setup link printed at
// start and returns a client signed in as them through the API. Like every new
// administrator, they reach nothing but enrolment until they set up a second factor.
func (in *instance) newAdmin() *client {
	in.t.Helper()
	link, err := in.app.Members.SetupLink(context.Background())
	if err != nil {
		in.t.Fatal(err)
	}
	u, _ := url.Parse(link)
	c := in.client()
	email := fmt.Sprintf("admin%d@hospital.example.jp", time.Now().UnixNano()%1e6)
	status, body, _ := c.form("/setup", "token", u.Query().Get("token"), "name", "管理 花子", "email", email,
		"password", "admin password 1", "password2", "admin password 1")
	must(in.t, status, http.StatusSeeOther, "setup", body)
	c.login(email, "admin password 1")
	return c
}

// admin returns an administrator who works as one in production: enrolled with
// an authenticator app (its API sign-ins send the clock's code) and signed in
// once on the web with a recovery code, ticking "remember this device". Other
// clients sign in as them on the web with that device's cookie (webAs), as a
// hospital PC that was remembered does: a TOTP code is accepted once per
// 30-second step, and a test's clock stands still.
func (in *instance) admin() *client {
	in.t.Helper()
	c := in.newAdmin()
	u := enrolTOTPAPI(in.t, c)
	c.totp, c.recovery = u.secret, u.recovery[1:]
	web := in.client()
	if status, loc := web.loginWeb(c.user, c.pass); status != http.StatusSeeOther || !strings.HasPrefix(loc, "/login/2fa") {
		in.t.Fatalf("administrator's web sign-in: %d → %q, want /login/2fa", status, loc)
	}
	if c.device = web.secondStepRemembered(u.recovery[0]); len(c.device) == 0 {
		in.t.Fatal("no remembered-device cookie after the second step with remember")
	}
	return c
}

// webAs returns a new client signed in on the web as who, through the sign-in
// form, carrying who's remembered-device cookie if they have one.
func (in *instance) webAs(who *client) *client {
	in.t.Helper()
	web := in.client()
	web.http.Jar.SetCookies(mustURL(in.url), who.device)
	status, loc := web.loginWeb(who.user, who.pass)
	if strings.HasPrefix(loc, "/login/2fa") && who.totp != "" {
		// Signing out everywhere forgot the device: the second step again, with
		// the next step's code, and remember the device anew.
		in.clock.Advance(30 * time.Second)
		code, err := auth.TOTPCode(who.totp, in.clock.Now())
		if err != nil {
			in.t.Fatal(err)
		}
		who.device = web.secondStepRemembered(code)
		return web
	}
	if status != http.StatusSeeOther || strings.HasPrefix(loc, "/login") {
		in.t.Fatalf("web sign-in as %s: %d → %q", who.user, status, loc)
	}
	return web
}

// secondStepRemembered completes a signed-in-by-password client's second step
// with code, ticking "remember this device", and returns the device cookie it got.
func (c *client) secondStepRemembered(code string) []*http.Cookie {
	c.t.Helper()
	status, body, _ := c.form("/login/2fa", "code", code, "remember", "on")
	must(c.t, status, http.StatusSeeOther, "second step", body)
	var out []*http.Cookie
	for _, ck := range c.http.Jar.Cookies(mustURL(c.in.url)) {
		if ck.Name == auth.DeviceCookieName || ck.Name == auth.SecureDeviceCookieName {
			out = append(out, ck)
		}
	}
	return out
}

// login signs a client in through the API and keeps the bearer token; a client
// that knows its authenticator secret sends the code of the clock's time.
func (c *client) login(email, password string) map[string]any {
	c.t.Helper()
	req := map[string]string{"email": email, "password": password}
	if c.totp != "" {
		code, err := auth.TOTPCode(c.totp, c.in.clock.Now())
		if err != nil {
			c.t.Fatal(err)
		}
		req["otp"] = code
	}
	var out map[string]any
	status := c.json("POST", "/api/v1/login", req, &out)
	must(c.t, status, http.StatusOK, "login "+email, out)
	c.tok, c.user, c.pass = out["token"].(string), email, password
	return out["member"].(map[string]any)
}

// relogin signs in again after the clock has ended the session.
func (c *client) relogin() { c.t.Helper(); c.login(c.user, c.pass) }

// approvedMember registers, confirms and approves a member and returns a client
// signed in as them, with their id.
func (in *instance) approvedMember(admin *client, m newMember) (*client, string) {
	in.t.Helper()
	c := in.client()
	status, body := c.registerAPI(m)
	must(in.t, status, http.StatusAccepted, "register "+m.Email, string(body))
	in.confirmFromMail(m.Email)
	me := c.login(m.Email, passwordOf(m))
	id := me["id"].(string)
	must(in.t, admin.json("POST", "/api/v1/admin/members/"+id+"/approve", nil, nil), http.StatusNoContent, "approve")
	return c, id
}

func passwordOf(m newMember) string {
	if m.Password == "" {
		return "correct horse battery"
	}
	return m.Password
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}
