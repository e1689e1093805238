package notify_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/medbox-jp/medbox/internal/box"
	"github.com/medbox-jp/medbox/internal/featuretest"
	"github.com/medbox-jp/medbox/internal/i18n"
	"github.com/medbox-jp/medbox/internal/mail"
	"github.com/medbox-jp/medbox/internal/member"
	"github.com/medbox-jp/medbox/internal/notify"
	"os"
)

// TestMain lets the test binary act as the DICOM worker (privacy_test.go sends a
// DICOM file, whose preview decodes in that worker).
func TestMain(m *testing.M) { os.Exit(featuretest.Main(m)) }

// fixture is a World with four members: a sender, two recipients of the box the
// sender opens, and an outsider who is in no box.
type fixture struct {
	*featuretest.World
	t                             *testing.T
	start                         time.Time
	sender, rcpt, other, outsider *member.Member
	box                           box.ID
}

func newFixture(t *testing.T, w *featuretest.World) *fixture {
	return &fixture{World: w, t: t, start: w.Clock.Now(),
		sender:   w.Member(featuretest.NewMember{Name: "送 信子", NameKana: "そう しんこ"}),
		rcpt:     w.Member(featuretest.NewMember{Name: "受 信男", NameKana: "じゅ しんお"}),
		other:    w.Member(featuretest.NewMember{}),
		outsider: w.Member(featuretest.NewMember{}),
	}
}

// who returns the fixture's member of a role: "sender", "rcpt", "other" or "outsider".
func (f *fixture) who(role string) *member.Member {
	m := map[string]*member.Member{"sender": f.sender, "rcpt": f.rcpt, "other": f.other, "outsider": f.outsider}[role]
	if m == nil {
		f.t.Fatalf("no role %q", role)
	}
	return m
}

var roles = []string{"sender", "rcpt", "other", "outsider"}

// share sends the fixture's box from the sender to rcpt and other, with its first
// file, as a send does: a box is news only once it holds a file.
func (f *fixture) share(expiresIn time.Duration) {
	f.t.Helper()
	f.shareEmpty(expiresIn)
	f.file(f.sender, "first.txt")
}

// shareEmpty opens the fixture's box from the sender to rcpt and other, without a
// file (every upload of the send failed, or none has finished yet).
func (f *fixture) shareEmpty(expiresIn time.Duration) {
	f.t.Helper()
	b, err := f.Boxes.Create(context.Background(), f.sender.ID, box.Draft{Recipients: []member.ID{f.rcpt.ID, f.other.ID}, ExpiresIn: expiresIn}, featuretest.Addr)
	if err != nil {
		f.t.Fatal(err)
	}
	f.box = b.ID
}

// afterWindow lets pending events become notices, moves the clock past the
// notification window, and delivers the mail that gathers them.
func (f *fixture) afterWindow() {
	f.t.Helper()
	f.RunJobs()
	f.Clock.Advance(f.Config.Notify.Window + time.Second)
	f.RunJobs()
}

// at moves the clock to d after the fixture began and delivers what is due.
func (f *fixture) at(d time.Duration) {
	f.t.Helper()
	if ahead := f.start.Add(d).Sub(f.Clock.Now()); ahead > 0 {
		f.Clock.Advance(ahead)
	}
	f.afterWindow()
}

func (f *fixture) comment(by *member.Member, body string) {
	f.t.Helper()
	if _, err := f.Boxes.AddComment(context.Background(), by.ID, f.box, body, featuretest.Addr); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) file(by *member.Member, name string) *box.File {
	f.t.Helper()
	return f.AddFile(by.ID, f.box, name, []byte(fmt.Sprintf("紹介状 %s\n経過をご報告します。\n", name)))
}

func (f *fixture) view(by *member.Member) {
	f.t.Helper()
	if _, err := f.Boxes.View(context.Background(), by.ID, f.box, featuretest.Addr); err != nil {
		f.t.Fatal(err)
	}
}

// notices returns the notification mails to m, oldest first.
func (f *fixture) notices(m *member.Member) []mail.Message {
	f.t.Helper()
	var out []mail.Message
	for _, msg := range f.Mail(string(m.Email)) {
		if kindOf(msg) != "" {
			out = append(out, msg)
		}
	}
	return out
}

// news returns the kinds of notification mail m has received, oldest first: a
// trigger, or "digest".
func (f *fixture) news(m *member.Member) []string {
	f.t.Helper()
	var out []string
	for _, msg := range f.notices(m) {
		out = append(out, kindOf(msg))
	}
	return out
}

// kindOf tells a notification mail's kind by its subject, in either language;
// "" for a mail that is not a notification.
func kindOf(m mail.Message) string {
	for _, l := range i18n.Langs {
		for _, k := range notify.Kinds {
			if strings.HasPrefix(m.Subject, i18n.T(l, "mail.notice."+string(k)+".subject")) {
				return string(k)
			}
		}
		if digestSubject(l).MatchString(m.Subject) {
			return "digest"
		}
	}
	return ""
}

func digestSubject(l i18n.Lang) *regexp.Regexp {
	s := regexp.QuoteMeta(i18n.T(l, "mail.notice.digest.subject", "N", 987654))
	return regexp.MustCompile("^" + strings.Replace(s, "987654", `\d+`, 1))
}

// boxLink is the link a mail gives to box b.
func (f *fixture) boxLink(b box.ID) string { return f.Config.BaseURL + "/boxes/" + string(b) }
