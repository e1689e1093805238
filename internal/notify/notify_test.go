package notify_test

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/medbox-jp/medbox/internal/featuretest"
	"github.com/medbox-jp/medbox/internal/member"
	"github.com/medbox-jp/medbox/internal/notify"
)

// TestEventsMailWhom (R-N1): a box shared (once it holds a file), a file added, a
// comment and being added to a box later each mail the right participants —
// never the one who acted, never someone outside the box, never a member who may
// not exchange — and news of a box already mailed waits until it is opened.
func TestEventsMailWhom(t *testing.T) {
	opened := func(f *fixture) { f.view(f.rcpt); f.view(f.other); f.view(f.sender) }
	tests := []struct {
		name string
		act  func(f *fixture) // after the box was shared and its mail went out
		want map[string][]string
	}{
		{"box shared: every recipient, not the sender", nil,
			map[string][]string{"rcpt": {"shared"}, "other": {"shared"}}},
		{"sender's file, box opened: the recipients", func(f *fixture) { opened(f); f.file(f.sender, "a.txt") },
			map[string][]string{"rcpt": {"shared", "file_added"}, "other": {"shared", "file_added"}}},
		{"sender's file, box not opened yet: nothing more", func(f *fixture) { f.file(f.sender, "a.txt") },
			map[string][]string{"rcpt": {"shared"}, "other": {"shared"}}},
		{"recipient's file: the sender and the other recipient", func(f *fixture) { opened(f); f.file(f.rcpt, "a.txt") },
			map[string][]string{"sender": {"file_added"}, "rcpt": {"shared"}, "other": {"shared", "file_added"}}},
		{"comment: everyone in the box but its author", func(f *fixture) { opened(f); f.comment(f.rcpt, "拝見しました") },
			map[string][]string{"sender": {"comment"}, "rcpt": {"shared"}, "other": {"shared", "comment"}}},
		{"added to the box later: the newcomer alone", func(f *fixture) {
			if err := f.Boxes.AddRecipients(context.Background(), f.sender.ID, f.box, []member.ID{f.outsider.ID}, featuretest.Addr); err != nil {
				t.Fatal(err)
			}
		}, map[string][]string{"rcpt": {"shared"}, "other": {"shared"}, "outsider": {"shared"}}},
		{"a suspended participant: nothing", func(f *fixture) {
			if err := f.Members.Suspend(context.Background(), f.Admin().ID, f.other.ID, featuretest.Addr); err != nil {
				t.Fatal(err)
			}
			f.view(f.rcpt)
			f.comment(f.sender, "ご確認ください")
		}, map[string][]string{"rcpt": {"shared", "comment"}, "other": {"shared"}}},
	}
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				f := newFixture(t, w.For(t))
				f.share(0)
				f.afterWindow()
				if tt.act != nil {
					tt.act(f)
					f.afterWindow()
				}
				for _, role := range roles {
					if got := f.news(f.who(role)); !slices.Equal(got, tt.want[role]) {
						t.Errorf("%s's mail: got %q, want %q", role, got, tt.want[role])
					}
				}
				for _, m := range f.notices(f.rcpt) {
					if !strings.Contains(m.Text, f.boxLink(f.box)) {
						t.Errorf("mail %q has no link to the box:\n%s", m.Subject, m.Text)
					}
				}
			})
		}
	})
}

// TestAnEmptyBoxMailsNobody (issue 15): a box whose uploads all failed, or that
// has no finished file yet, is no news; its first file tells the recipients that
// something was sent to them — the arrival, not "a file was added".
func TestAnEmptyBoxMailsNobody(t *testing.T) {
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		f := newFixture(t, w)
		f.shareEmpty(0)
		f.afterWindow()
		f.at(30 * time.Hour) // no reminder of nothing either
		for _, role := range roles {
			if got := f.news(f.who(role)); len(got) != 0 {
				t.Errorf("%s was mailed about a box without files: %q", role, got)
			}
		}
		f.file(f.sender, "a.txt")
		f.afterWindow()
		for _, role := range []string{"rcpt", "other"} {
			if got := f.news(f.who(role)); !slices.Equal(got, []string{"shared"}) {
				t.Errorf("%s after the first file: got %q, want the arrival", role, got)
			}
		}
	})
}

// TestTriggersAreEachMembers (R-N2): a member who turns a trigger off gets no mail
// of that kind and every other kind still; the other recipient, who changed
// nothing, gets every kind.
func TestTriggersAreEachMembers(t *testing.T) {
	tests := []struct {
		name string
		off  notify.Kind
	}{
		{"all on (the default)", ""},
		{"shared off", notify.Shared},
		{"file_added off", notify.FileAdded},
		{"comment off", notify.Comment},
		{"reminder off", notify.Reminder},
		{"expiring off", notify.Expiring},
	}
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				f := newFixture(t, w.For(t))
				if tt.off != "" {
					if _, err := f.Notify.SetSettings(context.Background(), f.rcpt.ID, notify.Settings{tt.off: false}, featuretest.Addr); err != nil {
						t.Fatal(err)
					}
				}
				// News: each mailed after the box was opened since the last mail.
				f.share(0) // 72 hours
				f.afterWindow()
				f.view(f.rcpt)
				f.view(f.other)
				f.file(f.sender, "a.txt")
				f.afterWindow()
				f.view(f.rcpt)
				f.view(f.other)
				f.comment(f.sender, "ご確認ください")
				f.afterWindow()
				news := f.news(f.rcpt)
				// Reminders: another box, never opened.
				f.share(0)
				f.afterWindow()
				f.at(f.Clock.Now().Sub(f.start) + 25*time.Hour) // a reminder: unread for a day
				f.at(f.Clock.Now().Sub(f.start) + 36*time.Hour) // a warning: unread 12 hours before expiry
				later := f.news(f.rcpt)[len(news):]
				got := append(slices.Clone(news), later...)
				wantAll := func(off notify.Kind) []string {
					var out []string
					for _, k := range []string{"shared", "file_added", "comment", "shared", "reminder", "expiring"} {
						if k != string(off) {
							out = append(out, k)
						}
					}
					return out
				}
				if !slices.Equal(got, wantAll(tt.off)) {
					t.Errorf("the member's mail: got %q, want %q", got, wantAll(tt.off))
				}
				if got := f.news(f.other); !slices.Equal(got, wantAll("")) {
					t.Errorf("the other recipient's mail: got %q, want %q", got, wantAll(""))
				}
			})
		}
	})
}

// TestSettings: every trigger is on until turned off; a change touches only the
// triggers it names; an unknown trigger is refused and changes nothing.
func TestSettings(t *testing.T) {
	on := notify.Settings{notify.Shared: true, notify.FileAdded: true, notify.Comment: true, notify.Reminder: true, notify.Expiring: true}
	with := func(k notify.Kind, v bool) notify.Settings {
		s := notify.Settings{}
		for kk, vv := range on {
			s[kk] = vv
		}
		s[k] = v
		return s
	}
	tests := []struct {
		name    string
		changes []notify.Settings
		want    notify.Settings
		wantErr bool
	}{
		{"defaults", nil, on, false},
		{"one off", []notify.Settings{{notify.Comment: false}}, with(notify.Comment, false), false},
		{"off, then on again", []notify.Settings{{notify.Reminder: false}, {notify.Reminder: true}}, on, false},
		{"a second change keeps the first", []notify.Settings{{notify.Shared: false}, {notify.Comment: true}}, with(notify.Shared, false), false},
		{"unknown trigger", []notify.Settings{{notify.Kind("nonsense"): true, notify.Comment: false}}, on, true},
	}
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				m := w.For(t).Member(featuretest.NewMember{})
				var err error
				for _, c := range tt.changes {
					_, err = w.Notify.SetSettings(context.Background(), m.ID, c, featuretest.Addr)
				}
				if (err != nil) != tt.wantErr {
					t.Errorf("SetSettings() error = %v, want error %v", err, tt.wantErr)
				}
				got, err := w.Notify.Settings(context.Background(), m.ID)
				if err != nil {
					t.Fatal(err)
				}
				if !maps.Equal(got, tt.want) {
					t.Errorf("Settings() = %v, want %v", got, tt.want)
				}
			})
		}
	})
}

// TestMailSpeaksTheMembersLanguage: a member who chose English gets English mail;
// one who reads Japanese gets Japanese with the English after it.
func TestMailSpeaksTheMembersLanguage(t *testing.T) {
	tests := []struct {
		lang        string
		subject     string // prefix
		wantEnglish bool   // in a Japanese mail, the English version follows
		noJapanese  bool
	}{
		{"ja", "【MedBox】新しいやりとりが届きました", true, false},
		{"en", "[MedBox] Something was sent to you", true, true},
	}
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		for _, tt := range tests {
			t.Run(tt.lang, func(t *testing.T) {
				f := newFixture(t, w.For(t))
				if _, err := f.Members.UpdateProfile(context.Background(), f.rcpt.ID, member.Profile{Lang: &tt.lang}, featuretest.Addr); err != nil {
					t.Fatal(err)
				}
				f.share(0)
				f.afterWindow()
				got := f.notices(f.rcpt)
				if len(got) != 1 {
					t.Fatalf("got %d mails, want 1", len(got))
				}
				m := got[0]
				if !strings.HasPrefix(m.Subject, tt.subject) {
					t.Errorf("subject %q, want it to begin %q", m.Subject, tt.subject)
				}
				if tt.wantEnglish && !strings.Contains(m.Text, "Something was sent to you on MedBox") {
					t.Errorf("no English text:\n%s", m.Text)
				}
				if hasJapanese := strings.ContainsFunc(m.Subject+m.Text, func(r rune) bool { return r >= 0x3040 && r <= 0x9fff }); hasJapanese == tt.noJapanese {
					t.Errorf("Japanese in the mail: %v, want %v:\n%s\n%s", hasJapanese, !tt.noJapanese, m.Subject, m.Text)
				}
			})
		}
	})
}
