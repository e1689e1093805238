package monitor

import (
	"context"
	"errors"
	"time"

	"github.com/medbox-jp/medbox/internal/audit"
	"github.com/medbox-jp/medbox/internal/i18n"
	"github.com/medbox-jp/medbox/internal/mail"
	"github.com/medbox-jp/medbox/internal/member"
	"github.com/medbox-jp/medbox/internal/sqldb"
)

// memberNote is news for a member about their own account.
type memberNote struct {
	member member.ID
	kind   string
	at     time.Time
	addr   string
}

// newDevice reports a sign-in from a device the member has not signed in from
// before. The very first sign-in of an account is not news.
func (s *Service) newDevice(ctx context.Context, e audit.Event) (*memberNote, error) {
	earlier, err := s.o.Audit.List(ctx, audit.Filter{Actor: e.Actor, Action: "auth.signin", Until: e.At.Add(time.Millisecond)})
	if err != nil {
		return nil, err
	}
	seen, known := false, false
	for _, x := range earlier {
		if x.Seq >= e.Seq || x.Result != audit.OK {
			continue
		}
		seen = true
		if x.Detail["device"] == e.Detail["device"] {
			known = true
			break
		}
	}
	if !seen || known {
		return nil, nil
	}
	return &memberNote{member: member.ID(e.Actor), kind: memberNewDevice, at: e.At, addr: e.Addr}, nil
}

// tell mails a member about their own account.
func (s *Service) tell(ctx context.Context, tx *sqldb.Tx, n memberNote) error {
	m, err := s.members.GetTx(ctx, tx, n.member)
	if errors.Is(err, member.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	lang := i18n.Lang(m.Lang)
	msg := mail.Compose(lang, "mail.account."+n.kind, map[string]any{
		"When": n.at.In(jst).Format("2006-01-02 15:04"), "Addr": n.addr, "Link": s.o.BaseURL + "/settings#sessions"})
	msg.To = []string{string(m.Email)}
	return mail.Enqueue(ctx, tx, s.o.Now(), msg)
}

var jst = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		return time.FixedZone("JST", 9*3600)
	}
	return loc
}()
