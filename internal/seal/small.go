package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"

	"golang.org/x/crypto/hkdf"
)

// smallFormat is the first byte of a sealed small value: AES-256-GCM under the
// data key's "small" subkey, nonce ‖ ciphertext ‖ tag.
const smallFormat = 1

// MaxSmall is the largest value SealBytes takes: small values are secrets such as
// a TOTP seed, never files.
const MaxSmall = 64 << 10

// ErrSmallCorrupt means a sealed small value failed to open: it was changed, its
// additional data differs, or it was sealed with another data key.
var ErrSmallCorrupt = errors.New("seal: sealed value does not authenticate")

// smallAEAD returns AES-256-GCM keyed with HKDF-SHA256 of the data key under the
// info string of small values, so the data key itself never encrypts and a value
// cannot be mistaken for an object sealed with the same key.
func (dk DataKey) smallAEAD() (cipher.AEAD, error) {
	if dk.IsZero() {
		return nil, errors.New("seal: the zero data key seals nothing")
	}
	k := make([]byte, 32)
	r := hkdf.New(sha256.New, dk.key()[:], []byte("medbox/seal/small/v1"), []byte("medbox/seal/small/v1"))
	if _, err := io.ReadFull(r, k); err != nil {
		panic(err) // HKDF-SHA256 gives up to 8160 bytes
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// SealBytes encrypts and authenticates a small value, such as a TOTP secret, for
// storage in a database column. aad is bound to the result and must be given
// again to OpenBytes: callers pass what the value belongs to (its table, row and
// owner), so a sealed value copied to another row does not open.
func (dk DataKey) SealBytes(aad, plaintext []byte) ([]byte, error) {
	if len(plaintext) > MaxSmall {
		return nil, errors.New("seal: value too large for SealBytes")
	}
	aead, err := dk.smallAEAD()
	if err != nil {
		return nil, err
	}
	out := make([]byte, 1+aead.NonceSize(), 1+aead.NonceSize()+len(plaintext)+aead.Overhead())
	out[0] = smallFormat
	rand.Read(out[1:])
	return aead.Seal(out, out[1:], plaintext, aad), nil // #nosec G407 -- the nonce is filled from crypto/rand on the line above
}

// OpenBytes decrypts a value sealed by SealBytes with the same aad. It returns
// ErrSmallCorrupt if the value does not authenticate.
func (dk DataKey) OpenBytes(aad, sealed []byte) ([]byte, error) {
	aead, err := dk.smallAEAD()
	if err != nil {
		return nil, err
	}
	ns := aead.NonceSize()
	if len(sealed) < 1+ns+aead.Overhead() || sealed[0] != smallFormat {
		return nil, ErrSmallCorrupt
	}
	plain, err := aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], aad)
	if err != nil {
		return nil, ErrSmallCorrupt
	}
	return plain, nil
}
