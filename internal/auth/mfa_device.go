package auth

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/medbox-jp/medbox/internal/audit"
	"github.com/medbox-jp/medbox/internal/member"
	"github.com/medbox-jp/medbox/internal/sqldb"
)

// "Remember this device": after a second factor a browser may keep a random
// cookie for DeviceLifetime; signing in from it with the right password needs no
// second factor. Only the cookie's hash is stored, per member. Signing out
// everywhere, and removing the last factor, forget every device.
const DeviceLifetime = 30 * 24 * time.Hour

// Cookie names of a remembered device; over HTTPS with the __Host- prefix.
const (
	DeviceCookieName       = "medbox_device"
	SecureDeviceCookieName = "__Host-medbox_device"
)

// DeviceCookie returns the remembered-device token a browser sent, or "".
func DeviceCookie(r *http.Request) string {
	for _, name := range []string{SecureDeviceCookieName, DeviceCookieName} {
		if c, err := r.Cookie(name); err == nil && c.Value != "" {
			return c.Value
		}
	}
	return ""
}

func (s *Service) rememberDevice(ctx context.Context, tx *sqldb.Tx, id member.ID, addr string, now time.Time) (string, error) {
	token := newSessionToken()
	if _, err := tx.ExecContext(ctx, `INSERT INTO remembered_devices (token_hash, member_id, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
		member.HashToken(token), id, sqldb.Millis(now), sqldb.Millis(now.Add(DeviceLifetime))); err != nil {
		return "", fmt.Errorf("remember device: %w", err)
	}
	if err := s.audit.Record(ctx, tx, audit.Event{At: now, Actor: string(id), Action: "auth.device.remember", Target: string(id), Addr: addr}); err != nil {
		return "", err
	}
	return token, nil
}

// deviceRemembered reports whether token is a live remembered device of id.
func deviceRemembered(ctx context.Context, q sqldb.Querier, id member.ID, token string, now time.Time) (bool, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT count(*) FROM remembered_devices WHERE token_hash = $1 AND member_id = $2 AND expires_at > $3`,
		member.HashToken(token), id, sqldb.Millis(now)).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("look up remembered device: %w", err)
	}
	return n > 0, nil
}

// DeviceRemembered reports whether the device token belongs to a's member.
func (s *Service) DeviceRemembered(ctx context.Context, a *Actor, token string) (bool, error) {
	if token == "" {
		return false, nil
	}
	return deviceRemembered(ctx, s.db, a.ID(), token, s.now())
}

func forgetDevices(ctx context.Context, tx *sqldb.Tx, id member.ID) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM remembered_devices WHERE member_id = $1`, id); err != nil {
		return fmt.Errorf("forget devices of %s: %w", id, err)
	}
	return nil
}

// ForgetDevices forgets every remembered device of a's member: the next sign-in on
// each asks for the second factor again.
func (s *Service) ForgetDevices(ctx context.Context, a *Actor) error {
	now := s.now()
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		if err := forgetDevices(ctx, tx, a.ID()); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Event{At: now, Actor: string(a.ID()), Action: "auth.device.forget", Target: string(a.ID()), Addr: a.Addr})
	})
}

// PurgeDevices deletes remembered devices past their lifetime, and passkey
// ceremonies left unfinished; a periodic job.
func (s *Service) PurgeDevices(ctx context.Context, now time.Time) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM remembered_devices WHERE expires_at <= $1`, sqldb.Millis(now)); err != nil {
		return fmt.Errorf("purge remembered devices: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM passkey_ceremonies WHERE expires_at <= $1`, sqldb.Millis(now)); err != nil {
		return fmt.Errorf("purge passkey ceremonies: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM passkey_signins WHERE expires_at <= $1`, sqldb.Millis(now)); err != nil {
		return fmt.Errorf("purge passkey sign-ins: %w", err)
	}
	return nil
}
