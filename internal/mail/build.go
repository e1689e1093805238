package mail

import (
	"crypto/rand"
	"fmt"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// newMessageID returns a globally unique Message-ID value (without brackets).
func newMessageID(from string) string {
	domain := "medbox.localhost"
	if at := strings.LastIndexByte(from, '@'); at >= 0 {
		domain = strings.Trim(from[at+1:], "> ")
	}
	return strings.ToLower(rand.Text()) + "@" + domain
}

// build turns m into a go-mail message with every header MedBox sends.
func build(m *Message, from string, now time.Time) (*gomail.Msg, error) {
	if err := m.validate(); err != nil {
		return nil, err
	}
	msg := gomail.NewMsg(gomail.WithCharset(gomail.CharsetUTF8), gomail.WithEncoding(gomail.EncodingQP))
	if err := msg.From(from); err != nil {
		return nil, fmt.Errorf("%w: sender %v", ErrInvalid, err)
	}
	if err := msg.To(m.To...); err != nil {
		return nil, fmt.Errorf("%w: recipients: %v", ErrInvalid, err)
	}
	msg.Subject(m.Subject)
	if m.ID == "" {
		m.ID = newMessageID(from)
	}
	msg.SetMessageIDWithValue(m.ID)
	msg.SetDateWithValue(now)
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	msg.SetGenHeader(gomail.HeaderXMailer, "MedBox")
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}
