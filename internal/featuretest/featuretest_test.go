package featuretest_test

import (
	"testing"

	"github.com/medbox-jp/medbox/internal/featuretest"
	"github.com/medbox-jp/medbox/internal/member"
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
