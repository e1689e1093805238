package seal

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	"github.com/minio/sio"
	"golang.org/x/crypto/hkdf"
)

// A sealed object is a DARE 2.0 stream (github.com/minio/sio): 64 KiB packages of
// plaintext, each AES-256-GCM sealed with a 16-byte header and a 16-byte tag,
// numbered in sequence, the last one flagged final. Its key is derived from the
// data key and the object's key string, so an object moved to another key, a
// reordered or dropped package, and a cut-off end all fail to authenticate.
//
// DARE cannot express an empty stream, so an empty object is stored as a 32-byte
// marker, an HMAC of the object key; no DARE stream is 32 bytes long.
const (
	payloadSize = 64 << 10
	packageSize = 16 + payloadSize + 16
	emptySize   = sha256.Size
)

// ErrCorrupt means a stored object failed to authenticate: it was changed,
// truncated, moved from another key, or sealed with another data key.
var ErrCorrupt = errors.New("seal: stored object does not authenticate")

// objectKey derives the key that seals the object stored under name.
func objectKey(dk DataKey, name string) []byte {
	k := make([]byte, 32)
	r := hkdf.New(sha256.New, dk.key()[:], []byte("medbox/seal/object/v1"), []byte(name))
	if _, err := io.ReadFull(r, k); err != nil {
		panic(err) // HKDF-SHA256 gives up to 8160 bytes
	}
	return k
}

func dareConfig(key []byte, seq uint32) sio.Config {
	return sio.Config{
		MinVersion:     sio.Version20,
		MaxVersion:     sio.Version20,
		CipherSuites:   []byte{sio.AES_256_GCM},
		Key:            key,
		SequenceNumber: seq,
	}
}

// emptyMarker is what an empty object is stored as.
func emptyMarker(key []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte("medbox/seal/empty/v1"))
	return h.Sum(nil)
}

// sealedSize is the stored size of plain bytes of plaintext.
func sealedSize(plain int64) int64 {
	if plain == 0 {
		return emptySize
	}
	n, err := sio.EncryptedSize(uint64(plain))
	if err != nil {
		return -1
	}
	return int64(n)
}

// plainSize is the plaintext size of a stored object of sealed bytes.
func plainSize(sealed int64) (int64, error) {
	if sealed == emptySize {
		return 0, nil
	}
	n, err := sio.DecryptedSize(uint64(sealed))
	if sealed <= 0 || err != nil {
		return 0, fmt.Errorf("%w: %d bytes is no sealed object's size", ErrCorrupt, sealed)
	}
	return int64(n), nil
}

// corruptReader reports sio's authentication failures as ErrCorrupt.
type corruptReader struct{ r io.Reader }

func (c corruptReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if _, ok := err.(sio.Error); ok {
		err = fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return n, err
}
