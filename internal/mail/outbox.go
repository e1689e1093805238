package mail

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode"
)

// Outbox writes each message as an .eml file into a directory.
type Outbox struct {
	dir  string
	from string
	log  *slog.Logger
	now  func() time.Time
}

// NewOutbox returns a Sender that writes RFC 5322 files into dir (created 0700,
// files 0600) and logs where each went and its link, never its body.
func NewOutbox(dir, from string, log *slog.Logger) *Outbox {
	if log == nil {
		log = slog.Default()
	}
	return &Outbox{dir: dir, from: from, log: log, now: time.Now}
}

// Send writes m atomically: a reader never sees half a file.
func (o *Outbox) Send(ctx context.Context, m *Message) error {
	msg, err := build(m, o.from, o.now())
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.dir, 0o700); err != nil {
		return fmt.Errorf("create outbox: %w", err)
	}
	// A Message-ID may hold "/" and "." (RFC 5322 atext); only letters and digits
	// go into the file name, so that no ID can lead the file out of the outbox.
	idPart := strings.Map(func(r rune) rune {
		if r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			return r
		}
		return -1
	}, strings.SplitN(m.ID, "@", 2)[0])
	name := fmt.Sprintf("%s-%s.eml", o.now().UTC().Format("20060102T150405.000000000"), idPart)
	tmp, err := os.CreateTemp(o.dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("write outbox: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := msg.WriteTo(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("write outbox: %w", err)
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	path := filepath.Join(o.dir, name)
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write outbox: %w", err)
	}
	o.log.InfoContext(ctx, "mail written to outbox", "file", path, "to", maskAll(m.To), "link", m.Link)
	return nil
}
