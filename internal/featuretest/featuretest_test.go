package featuretest_test

import (
	"strings"
	"testing"

	"github.com/medbox-jp/medbox/internal/featuretest"
	"github.com/medbox-jp/medbox/internal/member"
	"github.com/medbox-jp/medbox/internal/server"
)

func TestWorldMakesApprovedMembers(t *testing.T) {
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		m := w.Member(featuretest.NewMember{Name: "山田 花子", NameKana: "やまだ はなこ"})
		if m.Status != member.Active || !m.CanExchange() {
			t.Errorf("member %s: status %s, can exchange %v; want active, true", m.ID, m.Status, m.CanExchange())
		}
		pending := w.Registered(featuretest.NewMember{})
		if pending.CanExchange() {
			t.Errorf("a member awaiting review can exchange")
		}
		if !w.Admin().IsAdmin() {
			t.Error("the World's administrator is not an administrator")
		}
	})
}

// TestMailKeepsWhatWasSent: a message is still there after its job has sent it
// (the queue erases a finished job's payload; the outbox keeps the message).
func TestMailKeepsWhatWasSent(t *testing.T) {
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		m := w.Registered(featuretest.NewMember{})
		queued := len(w.Mail(string(m.Email)))
		if queued == 0 {
			t.Fatal("no mail queued for a new registration")
		}
		w.RunJobs()
		sent := w.Mail(string(m.Email))
		if len(sent) != queued {
			t.Fatalf("after the jobs ran: %d messages, before %d", len(sent), queued)
		}
		if !strings.Contains(sent[0].Text, "/confirm?token=") || sent[0].Subject == "" || sent[0].ID == "" {
			t.Errorf("delivered message lost its parts: %+v", sent[0])
		}
	})
}

func TestEachSharedSharesPostgres(t *testing.T) {
	instances := map[string][]*server.Instance{}
	for range 2 {
		t.Run("test", func(t *testing.T) {
			featuretest.EachShared(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
				if w.T != t {
					t.Error("the World handed to fn does not report to its test")
				}
				name := t.Name()[strings.LastIndex(t.Name(), "/")+1:]
				instances[name] = append(instances[name], w.Instance)
			})
		})
	}
	if p := instances["postgres"]; len(p) == 2 && p[0] != p[1] {
		t.Error("two tests got different PostgreSQL Worlds, want one shared")
	}
	if s := instances["sqlite"]; len(s) != 2 || s[0] == s[1] {
		t.Errorf("two tests got SQLite Worlds %v, want one each", s)
	}
}
