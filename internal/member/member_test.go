package member_test

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"mime/multipart"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/medbox-jp/medbox/internal/featuretest"
	"github.com/medbox-jp/medbox/internal/i18n"
	"github.com/medbox-jp/medbox/internal/mail"
	"github.com/medbox-jp/medbox/internal/member"
)

// The tests of this package run on a whole wired instance (featuretest.World),
// on SQLite and on PostgreSQL. Each case makes its own members, so the cases of
// one test share an instance but no fixture.

var serial atomic.Int64

// newAddress returns an address no other case uses.
func newAddress(prefix string) string {
	return fmt.Sprintf("%s%d@hospital.example.jp", prefix, serial.Add(1))
}

// registration returns a complete, valid registration for email.
func registration(t testing.TB, email string) member.Registration {
	return member.Registration{Email: email, Password: featuretest.Password, Name: "山田 太郎", NameKana: "やまだ たろう",
		Profession: member.Doctor, LicenseNumber: fmt.Sprint(200000 + serial.Add(1)), Workplace: "東病院", Department: "内科",
		Proof: bytes.NewReader(featuretest.ProofPNG(t)), ProofName: "licence.png", Addr: "192.0.2.1"}
}

// register registers r and leaves the member unconfirmed.
func register(t testing.TB, w *featuretest.World, r member.Registration) *member.Member {
	t.Helper()
	m, err := w.Members.Register(t.Context(), r)
	if err != nil {
		t.Fatalf("Register(%s) = %v", r.Email, err)
	}
	if m == nil {
		t.Fatalf("Register(%s) made no member", r.Email)
	}
	return m
}

// get returns the member id as stored now.
func get(t testing.TB, w *featuretest.World, id member.ID) *member.Member {
	t.Helper()
	m, err := w.Members.Get(t.Context(), id)
	if err != nil {
		t.Fatalf("Get(%s) = %v", id, err)
	}
	return m
}

// subject is the subject of a member mail of kind with data, as the service
// composes it for a member whose language is Japanese (the default).
func subject(kind string, data map[string]any) string {
	return mail.Compose(i18n.Ja, "mail."+kind, data).Subject
}

// mailed returns the messages of kind queued for addr, in either language.
func mailed(w *featuretest.World, addr, kind string, data map[string]any) []mail.Message {
	var out []mail.Message
	for _, m := range w.Mail(addr) {
		if m.Subject == subject(kind, data) || m.Subject == mail.Compose(i18n.En, "mail."+kind, data).Subject {
			out = append(out, m)
		}
	}
	return out
}

// subjects lists the subjects of the messages queued for addr, for messages.
func subjects(w *featuretest.World, addr string) []string {
	var out []string
	for _, m := range w.Mail(addr) {
		out = append(out, m.Subject)
	}
	return out
}

// fieldErrors returns err as FieldErrors, or nil.
func fieldErrors(err error) member.FieldErrors {
	var fe member.FieldErrors
	if errors.As(err, &fe) {
		return fe
	}
	return nil
}

// count returns the result of a count(*) query.
func count(t testing.TB, w *featuretest.World, q string, args ...any) int {
	t.Helper()
	var n int
	if err := w.DB.QueryRowContext(t.Context(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// blobFiles lists the objects in the World's blob directory.
func blobFiles(t testing.TB, w *featuretest.World) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(filepath.Join(w.Config.Data, "blobs"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// hasBlob reports whether an object whose path contains part is stored.
func hasBlob(t testing.TB, w *featuretest.World, part string) bool {
	return slices.ContainsFunc(blobFiles(t, w), func(p string) bool { return strings.Contains(filepath.ToSlash(p), part) })
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// multipartForm returns a reader of a registration form with fields and a
// proof part holding proof.
func multipartForm(t testing.TB, fields map[string]string, proof []byte) *multipart.Reader {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, v := range fields {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	part, err := mw.CreateFormFile("proof", "licence.png")
	if err != nil {
		t.Fatal(err)
	}
	part.Write(proof)
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return multipart.NewReader(&b, mw.Boundary())
}

// inviteToken returns the token of the newest invitation link mailed to addr.
func inviteToken(t testing.TB, w *featuretest.World, addr string) string {
	t.Helper()
	msgs := w.Mail(addr)
	for i := len(msgs) - 1; i >= 0; i-- {
		if u, err := url.Parse(msgs[i].Link); err == nil && u.Query().Get("invite") != "" {
			return u.Query().Get("invite")
		}
	}
	t.Fatalf("no invitation link among %d mails to %s", len(msgs), addr)
	return ""
}

// newSubjects returns the subjects of the messages in after that are not in
// before, sorted: messages queued in one clock tick have no order.
func newSubjects(before, after []mail.Message) []string {
	old := map[string]int{}
	for _, m := range before {
		old[m.ID]++
	}
	var out []string
	for _, m := range after {
		if old[m.ID] > 0 {
			old[m.ID]--
			continue
		}
		out = append(out, m.Subject)
	}
	slices.Sort(out)
	return out
}
