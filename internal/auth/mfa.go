package auth

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/medbox-jp/medbox/internal/audit"
	"github.com/medbox-jp/medbox/internal/member"
	"github.com/medbox-jp/medbox/internal/seal"
	"github.com/medbox-jp/medbox/internal/sqldb"
)

// Second factors (R-X2). A member may enrol a TOTP authenticator app and any
// number of passkeys; with the first factor come ten single-use recovery codes.
// A sign-in with the right password by a member who has a factor opens a partial
// session, which reaches only the second-factor page and sign-out, until a code
// or a passkey completes it (SignInWith, CompleteSecondFactor). Administrators,
// and every member under MEDBOX_REQUIRE_2FA, must enrol a factor before anything
// else. Every failed second factor counts towards the account lock like a wrong
// password.

// Need says what a session still owes before it is fully signed in.
type Need string

// What a session may still owe.
const (
	NeedNothing      Need = ""
	NeedSecondFactor Need = "second_factor" // the password was right; a code or passkey is still due
	NeedEnrolment    Need = "enrolment"     // a second factor must be enrolled before anything else
)

// PartialError is Authenticate's answer for a session that owes a second factor
// or its enrolment. Such a session must be treated as signed out, except by the
// pages that collect what it owes; Actor is whom it belongs to, for those pages.
type PartialError struct {
	Actor *Actor
	Need  Need
}

func (e *PartialError) Error() string { return "session owes " + string(e.Need) }

// Errors of second factors.
var (
	ErrSecondFactorRequired = errors.New("a second factor is required")
	ErrBadCode              = errors.New("the code or passkey is wrong, used or expired")
	ErrTooManyAttempts      = errors.New("too many wrong attempts; the account is locked for a while")
	ErrLastFactor           = errors.New("the last second factor cannot be removed while one is required")
	ErrNoEnrolment          = errors.New("no enrolment is waiting for confirmation")
	ErrNoPasskeys           = errors.New("passkeys are not available at this address")
)

// SecondFactorOptions configures second factors.
type SecondFactorOptions struct {
	Master  *seal.Master // seals TOTP secrets under data keys of their own
	BaseURL string       // the passkey relying party: its host is the RP ID, itself the origin
	Issuer  string       // the name authenticator apps show; default "MedBox"
}

type secondFactors struct {
	master  *seal.Master
	baseURL string
	issuer  string
	rpID    string
	wa      *webauthn.WebAuthn // nil when the base URL has no domain name (passkeys then are unavailable)
}

// UseSecondFactors turns on TOTP and passkeys. Passkeys need a domain name in the
// base URL (browsers refuse an IP address as relying party); without one they are
// unavailable, which PasskeysAvailable reports, and TOTP still works.
func (s *Service) UseSecondFactors(o SecondFactorOptions) error {
	if o.Master == nil {
		return errors.New("second factors: a master key is required")
	}
	if o.Issuer == "" {
		o.Issuer = "MedBox"
	}
	u, err := url.Parse(o.BaseURL)
	if err != nil || u.Host == "" {
		return fmt.Errorf("second factors: base URL %q has no host", o.BaseURL)
	}
	mfa := &secondFactors{master: o.Master, baseURL: strings.TrimRight(o.BaseURL, "/"), issuer: o.Issuer,
		rpID: u.Hostname()}
	wa, err := webauthn.New(&webauthn.Config{
		RPID:          mfa.rpID,
		RPDisplayName: o.Issuer,
		RPOrigins:     []string{u.Scheme + "://" + u.Host},
	})
	if err != nil {
		s.log.Warn("passkeys are unavailable: the base URL needs a domain name such as localhost", "rp_id", mfa.rpID, "err", err)
	} else {
		mfa.wa = wa
	}
	s.mfa = mfa
	return nil
}

// PasskeysAvailable reports whether passkeys can be used at this instance's address.
func (s *Service) PasskeysAvailable() bool { return s.mfa != nil && s.mfa.wa != nil }

func (s *Service) factors() (*secondFactors, error) {
	if s.mfa == nil {
		return nil, errors.New("second factors are not configured")
	}
	return s.mfa, nil
}

// FactorRequired reports whether m must have a second factor: administrators
// always, everyone under MEDBOX_REQUIRE_2FA.
func (s *Service) FactorRequired(m *member.Member) bool {
	if s.policy.RequireSecondFactor {
		return true
	}
	return m.Role == member.RoleAdmin
}

// hasFactor reports whether id has a confirmed TOTP authenticator or a passkey.
func hasFactor(ctx context.Context, q sqldb.Querier, id member.ID) (bool, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM mfa_totp WHERE member_id = $1 AND state = 'active')
		+ (SELECT count(*) FROM passkeys WHERE member_id = $1)`, id).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("look up second factors of %s: %w", id, err)
	}
	return n > 0, nil
}

// Factors is what a member has enrolled, for the settings page and the API.
type Factors struct {
	Required     bool      // the member may not be without a factor
	TOTP         bool      // a confirmed authenticator app
	TOTPSince    time.Time // when it was confirmed
	TOTPPending  bool      // an enrolment waits for its first code
	Passkeys     []Passkey // newest first
	RecoveryLeft int       // unused recovery codes
	Devices      int       // remembered devices that have not expired
}

// Any reports whether there is at least one second factor.
func (f *Factors) Any() bool { return f.TOTP || len(f.Passkeys) > 0 }

// Factors lists the second factors of m.
func (s *Service) Factors(ctx context.Context, m *member.Member) (*Factors, error) {
	f := &Factors{Required: s.FactorRequired(m)}
	rows, err := s.db.QueryContext(ctx, `SELECT state, confirmed_at FROM mfa_totp WHERE member_id = $1`, m.ID)
	if err != nil {
		return nil, fmt.Errorf("read totp of %s: %w", m.ID, err)
	}
	for rows.Next() {
		var state string
		var confirmed int64
		if err := rows.Scan(&state, &confirmed); err != nil {
			rows.Close()
			return nil, err
		}
		if state == "active" {
			f.TOTP, f.TOTPSince = true, sqldb.FromMillis(confirmed)
		} else {
			f.TOTPPending = true
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if f.Passkeys, err = s.passkeys(ctx, s.db, m.ID); err != nil {
		return nil, err
	}
	now := sqldb.Millis(s.now())
	err = s.db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM mfa_recovery WHERE member_id = $1 AND used_at = 0),
		(SELECT count(*) FROM remembered_devices WHERE member_id = $1 AND expires_at > $2)`, m.ID, now).Scan(&f.RecoveryLeft, &f.Devices)
	if err != nil {
		return nil, fmt.Errorf("count recovery codes and devices of %s: %w", m.ID, err)
	}
	return f, nil
}

// Proof is a second factor as a member gives it: a TOTP or recovery code, or a
// passkey assertion (the JSON of the PublicKeyCredential from
// navigator.credentials.get, for the ceremony begun by BeginPasskeyLogin).
type Proof struct {
	Code    string
	Passkey []byte
}

func (p Proof) empty() bool { return strings.TrimSpace(p.Code) == "" && len(p.Passkey) == 0 }

// checkProof verifies p for id within tx and returns how it was given ("totp",
// "recovery" or "passkey"). A wrong, reused or expired proof gives ok = false;
// using it up (a TOTP step, a recovery code, a passkey ceremony) happens in tx.
func (s *Service) checkProof(ctx context.Context, tx *sqldb.Tx, id member.ID, sessionHash string, p Proof, now time.Time) (method string, ok bool, err error) {
	if len(p.Passkey) > 0 {
		ok, err := s.checkPasskey(ctx, tx, id, sessionHash, p.Passkey, now)
		return "passkey", ok, err
	}
	code := normalizeCode(p.Code)
	switch {
	case isTOTPCode(code):
		ok, err := s.checkTOTP(ctx, tx, id, code, now)
		return "totp", ok, err
	case isRecoveryCode(code):
		ok, err := useRecoveryCode(ctx, tx, id, code, now)
		return "recovery", ok, err
	}
	return "code", false, nil
}

// secondStep decides, inside the sign-in transaction, what a sign-in with the
// right password still owes: nothing (no factor, a remembered device, or a valid
// code given with it), a second factor (a web sign-in; the session is partial),
// or an enrolment. An API sign-in without a code gets ErrSecondFactorRequired and
// one with a wrong code errWrongCode.
func (s *Service) secondStep(ctx context.Context, tx *sqldb.Tx, m *member.Member, at Attempt, now time.Time) (Need, string, error) {
	has, err := hasFactor(ctx, tx, m.ID)
	if err != nil {
		return "", "", err
	}
	if !has {
		if s.FactorRequired(m) {
			return NeedEnrolment, "", nil
		}
		return NeedNothing, "", nil
	}
	if at.Kind == Web && at.Device != "" {
		if ok, err := deviceRemembered(ctx, tx, m.ID, at.Device, now); err != nil || ok {
			return NeedNothing, "device", err
		}
	}
	if strings.TrimSpace(at.Code) != "" {
		method, ok, err := s.checkProof(ctx, tx, m.ID, "", Proof{Code: at.Code}, now)
		if err != nil {
			return "", "", err
		}
		if !ok {
			return "", method, errWrongCode
		}
		return NeedNothing, method, nil
	}
	if at.Kind == API {
		return "", "", ErrSecondFactorRequired
	}
	return NeedSecondFactor, "", nil
}

var errWrongCode = errors.New("wrong second factor")

// CompleteSecondFactor finishes the sign-in of a partial session with p. On
// success the partial session ends and a full one begins, whose token it returns
// (a new token, so that one seen before the second factor is worth nothing); with
// remember, it also returns the token of a remembered device for a cookie. A wrong
// proof counts towards the account lock and gives ErrBadCode; once the account is
// locked, the partial session ends and ErrTooManyAttempts is returned.
func (s *Service) CompleteSecondFactor(ctx context.Context, partial *Actor, p Proof, remember bool, userAgent string) (token, device string, err error) {
	if partial == nil || partial.Session == nil {
		return "", "", ErrNoSession
	}
	id, addr, now := partial.ID(), partial.Addr, s.now()
	var result error
	err = s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		st, err := loginState(ctx, tx, id)
		if err != nil {
			return err
		}
		if st.lockedUntil.After(now) {
			result = ErrTooManyAttempts
			return endSession(ctx, tx, partial.Session.Hash)
		}
		method, ok := "", false
		if !p.empty() {
			if method, ok, err = s.checkProof(ctx, tx, id, partial.Session.Hash, p, now); err != nil {
				return err
			}
		}
		if !ok {
			result = ErrBadCode
			locked, err := s.countFailure(ctx, tx, id, addr, now, &st)
			if err != nil {
				return err
			}
			if locked {
				result = ErrTooManyAttempts
				if err := endSession(ctx, tx, partial.Session.Hash); err != nil {
					return err
				}
			}
			return s.recordFactorUse(ctx, tx, now, id, addr, audit.Failed, method)
		}
		if st.failures > 0 {
			st.failures = 0
			if err := saveLoginState(ctx, tx, id, st); err != nil {
				return err
			}
		}
		if err := endSession(ctx, tx, partial.Session.Hash); err != nil {
			return err
		}
		if token, err = s.openSession(ctx, tx, id, partial.Session.Kind, addr, userAgent, now, false); err != nil {
			return err
		}
		if remember {
			if device, err = s.rememberDevice(ctx, tx, id, addr, now); err != nil {
				return err
			}
		}
		return s.recordFactorUse(ctx, tx, now, id, addr, audit.OK, method)
	})
	if err != nil {
		return "", "", fmt.Errorf("complete second factor: %w", err)
	}
	if result != nil {
		return "", "", result
	}
	return token, device, nil
}

func endSession(ctx context.Context, tx *sqldb.Tx, hash string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = $1`, hash); err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	return nil
}

// recordFactorUse audits one use of a second factor; method says which kind
// ("totp", "recovery", "passkey", "device"), never what was given.
func (s *Service) recordFactorUse(ctx context.Context, tx *sqldb.Tx, now time.Time, id member.ID, addr, result, method string) error {
	return s.audit.Record(ctx, tx, audit.Event{At: now, Actor: string(id), Action: "auth.second_factor", Target: string(id), Addr: addr,
		Result: result, Detail: map[string]string{"method": method}})
}

// recordFactorChange audits an enrolment or removal of a factor.
func (s *Service) recordFactorChange(ctx context.Context, tx *sqldb.Tx, now time.Time, actor, target member.ID, addr, action, factor string) error {
	return s.audit.Record(ctx, tx, audit.Event{At: now, Actor: string(actor), Action: action, Target: string(target), Addr: addr,
		Detail: map[string]string{"factor": factor}})
}

// removeAllFactors deletes every second factor, recovery code, remembered device
// and passkey ceremony of id, destroying the data key of the TOTP secret. It runs
// when an administrator resets the factors of a lost device and at withdrawal.
func removeAllFactors(ctx context.Context, tx *sqldb.Tx, id member.ID) error {
	if err := deleteTOTP(ctx, tx, id); err != nil {
		return err
	}
	for _, q := range []string{
		`DELETE FROM passkeys WHERE member_id = $1`,
		`DELETE FROM passkey_users WHERE member_id = $1`,
		`DELETE FROM mfa_recovery WHERE member_id = $1`,
		`DELETE FROM remembered_devices WHERE member_id = $1`,
	} {
		if _, err := tx.ExecContext(ctx, q, id); err != nil {
			return fmt.Errorf("remove second factors of %s: %w", id, err)
		}
	}
	return nil
}

// DeleteFactorsTx removes everything second-factor of id inside a withdrawal
// transaction (member.Service.OnWithdraw); the TOTP data key is destroyed, not
// left behind.
func (s *Service) DeleteFactorsTx(ctx context.Context, tx *sqldb.Tx, id member.ID) error {
	return removeAllFactors(ctx, tx, id)
}

// ResetFactors is the administrator's lost-device action with re-enrolment
// (R-X4): every session, API token and remembered device of target ends, a new
// password is demanded, and every second factor is removed, so the member enrols
// again after the reset. The member is told by mail.
func (s *Service) ResetFactors(ctx context.Context, admin *Actor, target member.ID) error {
	if !admin.Member.IsAdmin() {
		return member.ErrNotFound
	}
	now := s.now()
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		m, err := s.members.GetTx(ctx, tx, target)
		if err != nil {
			return err
		}
		if err := s.signOutEverywhereTx(ctx, tx, admin, target, now); err != nil {
			return err
		}
		if err := removeAllFactors(ctx, tx, target); err != nil {
			return err
		}
		if err := s.recordFactorChange(ctx, tx, now, admin.ID(), target, admin.Addr, "auth.factor.reset", "all"); err != nil {
			return err
		}
		return s.mailFactor(ctx, tx, m, mailFactorsReset)
	})
}
