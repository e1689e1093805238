// Package audit keeps the append-only, tamper-evident record of every operation
// (R-X5). Events are written in the caller's transaction, so an operation and its
// record commit together or not at all.
//
// # Keyed chains
//
// Each event carries an HMAC-SHA256 over its fields and the MAC of the event
// before it in its chain. The MAC key is derived (seal.DataKey.MAC) from the
// audit key, a data key kept in seal_keys wrapped by the master key: whoever can
// only write the database can neither forge an event nor recompute the links
// after one they changed. Master-key rotation rewraps the audit key like every
// data key, so old events stay verifiable; the audit key itself never changes.
//
// Events are spread over Chains chains, each with its own head row, and an
// append takes whichever head no other transaction holds: appends from many
// instances do not queue on one row. seq is the one global order (a sequence
// that does not lock). Events from before keying form chain -1, linked by
// unkeyed SHA-256 as they always were; the first checkpoint seals them.
//
// # Checkpoints and anchors
//
// A checkpoint records every chain's head (count, MAC, last seq) at one moment,
// MAC'd under a second derived key and chained to the checkpoint before. Each is
// stored in the database, sealed into the blob store under AnchorPrefix, and
// written to the instance log; administrators can compare the log lines with
// `medbox audit verify --anchor N:MAC`. A truncation — events cut from the end
// and heads moved back — shows against the newest anchor; events newer than it
// are the ones a truncation could still remove unseen.
//
// Verify walks every chain, the heads, the checkpoints and the newest anchor and
// reports each link that does not hold, earliest first.
//
// An event names people only by their pseudonymous member id and never carries a
// password, token or message body.
package audit

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Results of an operation.
const (
	OK     = "ok"
	Denied = "denied"
	Failed = "failed"
)

// Event is one recorded operation.
type Event struct {
	Seq    int64             `json:"seq"`
	At     time.Time         `json:"at"`
	Actor  string            `json:"actor"`  // member id, "cli", "system" or "" for a stranger
	Action string            `json:"action"` // e.g. "member.approve"
	Target string            `json:"target"` // what was acted on: a member, box or file id
	Box    string            `json:"box,omitempty"`
	Addr   string            `json:"addr"`   // client address
	Result string            `json:"result"` // OK, Denied or Failed
	Detail map[string]string `json:"detail,omitempty"`
}

// secretWords may not appear in detail keys: an event must never hold a secret.
var secretWords = []string{"password", "token", "secret", "otp", "key", "cookie"}

// check completes e's defaults and refuses an event that may not be recorded. It
// returns the canonical encoding of the detail.
func check(e *Event) (string, error) {
	if e.Action == "" || e.At.IsZero() {
		return "", errors.New("record audit event: action and time are required")
	}
	if e.Result == "" {
		e.Result = OK
	}
	for k := range e.Detail {
		lk := strings.ToLower(k)
		for _, w := range secretWords {
			if strings.Contains(lk, w) {
				return "", fmt.Errorf("record audit event %s: detail key %q looks like a secret", e.Action, k)
			}
		}
	}
	detail, err := encodeDetail(e.Detail)
	if err != nil {
		return "", fmt.Errorf("record audit event %s: %w", e.Action, err)
	}
	return detail, nil
}

func encodeDetail(d map[string]string) (string, error) {
	if len(d) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(d) // map keys are sorted, so the encoding is canonical
	return string(b), err
}
