package audit

import (
	"crypto/hmac"
	"crypto/sha256"
	"hash"
)

// ForgeMAC links an event the way an attacker with a key of their own would:
// eventMAC under key instead of the audit key.
func ForgeMAC(key, prev []byte, part int, pos int64, e Event, detail string) []byte {
	return eventMAC(func() hash.Hash { return hmac.New(sha256.New, key) }, prev, part, pos, e, detail)
}

// LegacyHash is the unkeyed link of the chain from before keying.
var LegacyHash = legacyHash
