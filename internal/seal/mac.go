package seal

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"hash"
	"io"

	"golang.org/x/crypto/hkdf"
)

// macSalt keeps MAC keys apart from object and small-value keys derived from the
// same data key: their HKDF salts differ.
const macSalt = "medbox/seal/mac/v1"

// MAC returns a constructor of HMAC-SHA256 hashes keyed with a subkey of dk for
// one purpose, named by label: HKDF-SHA256 of the data key with the salt
// "medbox/seal/mac/v1" and label as info. The data key itself never keys a MAC,
// and MACs made for one label do not verify under another. The key never leaves
// the returned function.
func (dk DataKey) MAC(label string) (func() hash.Hash, error) {
	if dk.IsZero() {
		return nil, errors.New("seal: the zero data key keys no MAC")
	}
	if label == "" {
		return nil, errors.New("seal: a MAC key needs a label")
	}
	k := make([]byte, 32)
	if _, err := io.ReadFull(hkdf.New(sha256.New, dk.key()[:], []byte(macSalt), []byte(label)), k); err != nil {
		panic(err) // HKDF-SHA256 gives up to 8160 bytes
	}
	return func() hash.Hash { return hmac.New(sha256.New, k) }, nil
}
