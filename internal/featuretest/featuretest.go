// Package featuretest gives a feature package's own tests a whole wired instance
// without its listeners: internal/server's New on a fresh SQLite or PostgreSQL
// database, blobs on disk in a temporary directory, mail in an outbox, one moved
// clock, cheap password hashing — and approved members to act as. A rule of one
// feature is then checked by `go test ./internal/<feature>` against the real
// services and the real list of effects, on both engines (STYLE.md §6).
package featuretest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/medbox-jp/medbox/internal/clocktest"
	"github.com/medbox-jp/medbox/internal/config"
	"github.com/medbox-jp/medbox/internal/mail"
	"github.com/medbox-jp/medbox/internal/mail/mailtest"
	"github.com/medbox-jp/medbox/internal/member"
	"github.com/medbox-jp/medbox/internal/server"
	"github.com/medbox-jp/medbox/internal/sqldb/sqltest"
	"sync"
)

// World is one wired instance for a test, and the people in it.
type World struct {
	*server.Instance
	T     testing.TB
	Clock *clocktest.Clock
	admin *member.Member
	keys  *adminKeys // the administrator's second factor, shared by every view (For)
}

// Options adjust a World. The zero value is a default instance.
type Options struct {
	Env map[string]string // MEDBOX_* settings on top of the defaults (limits, chunk size …)
}

// Each runs fn on a World over SQLite and on one over PostgreSQL, as subtests
// named "sqlite" and "postgres".
func Each(t *testing.T, o Options, fn func(t *testing.T, w *World)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, New(t, "", o)) })
	t.Run("postgres", func(t *testing.T) { fn(t, New(t, sqltest.NewPostgresURL(t), o)) })
}

// New returns a World on database (empty for SQLite in a temporary directory).
func New(t testing.TB, database string, o Options) *World {
	t.Helper()
	env := map[string]string{"MEDBOX_DATA": t.TempDir(), "MEDBOX_DATABASE": database, "MEDBOX_LOG_LEVEL": "error"}
	for k, v := range o.Env {
		env[k] = v
	}
	cfg, err := config.Load(nil, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	clk := clocktest.New()
	hp := member.TestHashParams
	in, err := server.New(context.Background(), cfg, server.NewLogger(io.Discard, "error"),
		server.Options{Now: clk.Now, HashParams: &hp})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(in.Close)
	return &World{Instance: in, T: t, Clock: clk, keys: &adminKeys{}}
}

// RunJobs runs every background job that is due now, until none is left. Calls
// on one World (from parallel subtests) take turns, so that when RunJobs
// returns no job that was due is still running.
func (w *World) RunJobs() {
	w.T.Helper()
	mu := jobsLock(w.Instance)
	mu.Lock()
	defer mu.Unlock()
	for range 20 {
		n, err := w.Jobs.RunDue(context.Background())
		if err != nil {
			w.T.Fatalf("run due jobs: %v", err)
		}
		if n == 0 {
			return
		}
	}
	w.T.Fatal("jobs kept coming after 20 rounds")
}

// Admin returns the administrator of the World, creating it on first use. Like
// every new administrator they have no second factor, so a session of theirs
// reaches only enrolment; AdminSignIn gives them one and a whole session.
func (w *World) Admin() *member.Member {
	w.T.Helper()
	if w.admin == nil {
		m, err := w.Members.CreateAdmin(context.Background(), member.NewAdmin{Email: "admin@hospital.example.jp",
			Password: Password, Name: "管理 花子"})
		if err != nil {
			w.T.Fatalf("create administrator: %v", err)
		}
		w.admin = m
	}
	return w.admin
}

// Password is every test member's password.
const Password = "correct horse battery"

var serial atomic.Int64

// NewMember describes a member to register; zero fields get defaults.
type NewMember struct {
	Email      string
	Name       string
	NameKana   string
	Profession member.Profession
	Workplace  string
	Department string
}

// Registered registers m and confirms the address, leaving the member waiting
// for review.
func (w *World) Registered(m NewMember) *member.Member {
	w.T.Helper()
	n := serial.Add(1)
	if m.Email == "" {
		m.Email = fmt.Sprintf("member%d@hospital.example.jp", n)
	}
	if m.Name == "" {
		m.Name, m.NameKana = "試験 太郎", "しけん たろう"
	}
	if m.Profession == "" {
		m.Profession = member.Doctor
	}
	if m.Workplace == "" {
		m.Workplace = "東病院"
	}
	ctx := context.Background()
	got, err := w.Members.Register(ctx, member.Registration{Email: m.Email, Password: Password, Name: m.Name,
		NameKana: m.NameKana, Profession: m.Profession, LicenseNumber: fmt.Sprint(100000 + n), Workplace: m.Workplace,
		Department: m.Department, Proof: bytes.NewReader(ProofPNG(w.T)), ProofName: "licence.png", Addr: "192.0.2.1"})
	if err != nil {
		w.T.Fatalf("register %s: %v", m.Email, err)
	}
	if _, err := w.Members.Confirm(ctx, w.LinkToken(m.Email, "/confirm?token="), "192.0.2.1"); err != nil {
		w.T.Fatalf("confirm %s: %v", m.Email, err)
	}
	return got
}

// Member returns an approved member described by m.
func (w *World) Member(m NewMember) *member.Member {
	w.T.Helper()
	got := w.Registered(m)
	if err := w.Members.Approve(context.Background(), w.Admin().ID, got.ID, "192.0.2.9"); err != nil {
		w.T.Fatalf("approve %s: %v", got.Email, err)
	}
	approved, err := w.Members.Get(context.Background(), got.ID)
	if err != nil {
		w.T.Fatal(err)
	}
	return approved
}

// Mail returns every message to addr so far, oldest first: those already
// delivered (to the World's outbox) and then those still queued. A delivered
// message has no Link; its link is in its Text.
//
// The queue is read before the outbox: another test's RunJobs may send a
// message meanwhile, and the queue writes the message out before it marks the
// job done, so a message missing from the first read is in the second. One
// seen in both counts once.
func (w *World) Mail(addr string) []mail.Message {
	w.T.Helper()
	// A sent message's job keeps no payload: the queue erases what it carried.
	// LIKE only narrows the search (a World shared by many tests holds many
	// mails); the addresses are compared below.
	rows, err := w.DB.QueryContext(context.Background(), `SELECT payload FROM jobs WHERE kind = $1 AND state <> 'done' AND payload LIKE $2 ORDER BY created_at, id`,
		mail.JobKind, "%"+addr+"%")
	if err != nil {
		w.T.Fatal(err)
	}
	defer rows.Close()
	var queued []mail.Message
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			w.T.Fatal(err)
		}
		var m mail.Message
		if json.Unmarshal([]byte(p), &m) != nil {
			continue
		}
		if slices.Contains(m.To, addr) {
			queued = append(queued, m)
		}
	}
	if err := rows.Err(); err != nil {
		w.T.Fatal(err)
	}
	var out []mail.Message
	sent := map[string]bool{}
	for _, m := range w.delivered() {
		if slices.Contains(m.To, addr) {
			out = append(out, m)
			sent[m.ID] = true
		}
	}
	for _, m := range queued {
		if !sent[m.ID] {
			out = append(out, m)
		}
	}
	return out
}

// delivered returns the messages in the World's outbox, in the order sent (the
// outbox names its files by the time of sending).
func (w *World) delivered() []mail.Message {
	w.T.Helper()
	dir := filepath.Join(w.Config.Data, "outbox")
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		w.T.Fatal(err)
	}
	var out []mail.Message
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".eml") {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(dir, e.Name())) // #nosec G304 -- a file the test instance wrote in its own outbox
		if err != nil {
			w.T.Fatal(err)
		}
		p, err := mailtest.Parse(raw)
		if err != nil {
			w.T.Fatalf("outbox %s: %v", e.Name(), err)
		}
		to, err := p.Header.AddressList("To")
		if err != nil {
			w.T.Fatalf("outbox %s: To: %v", e.Name(), err)
		}
		m := mail.Message{Subject: p.Subject, Text: p.Text, HTML: p.HTML, ID: strings.Trim(p.Header.Get("Message-Id"), "<>")}
		for _, a := range to {
			m.To = append(m.To, a.Address)
		}
		out = append(out, m)
	}
	return out
}

var (
	tokenRE = regexp.MustCompile(`token=([A-Za-z0-9_-]+)`)
	valueRE = regexp.MustCompile(`^[A-Za-z0-9_-]+`)
)

// LinkToken returns the token of the newest link to path mailed to addr: what
// follows path when it ends in "=" (e.g. "/confirm?token=", "/register?invite="),
// else the link's token parameter.
func (w *World) LinkToken(addr, path string) string {
	w.T.Helper()
	msgs := w.Mail(addr)
	for i := len(msgs) - 1; i >= 0; i-- {
		for _, text := range []string{msgs[i].Link, msgs[i].Text} {
			j := strings.Index(text, path)
			if j < 0 {
				continue
			}
			if strings.HasSuffix(path, "=") {
				if v := valueRE.FindString(text[j+len(path):]); v != "" {
					return v
				}
			}
			if m := tokenRE.FindStringSubmatch(text[j:]); m != nil {
				return m[1]
			}
		}
	}
	w.T.Fatalf("no mail to %s with a link to %s among %d", addr, path, len(msgs))
	return ""
}

// ProofPNG is a small licence image, as a member uploads at registration.
func ProofPNG(t testing.TB) []byte {
	proof.once.Do(func() {
		img := image.NewRGBA(image.Rect(0, 0, 64, 40))
		for i := range img.Pix {
			img.Pix[i] = byte(i * 7)
		}
		img.Set(1, 1, color.Black)
		var b bytes.Buffer
		proof.err = png.Encode(&b, img)
		proof.png = b.Bytes()
	})
	if proof.err != nil {
		t.Fatal(proof.err)
	}
	return bytes.Clone(proof.png)
}

// proof is ProofPNG's image, encoded once: every member of every World has one.
var proof struct {
	once sync.Once
	png  []byte
	err  error
}
