package filetype

import (
	"testing"

	"golang.org/x/text/encoding/japanese"
)

// SetMaxHeld lowers the memory held for compressed entries for one test, so
// that small archives take the path of large ones.
func SetMaxHeld(t testing.TB, n int64) {
	old := maxHeld
	maxHeld = n
	t.Cleanup(func() { maxHeld = old })
}

func japaneseEncode(b []byte) ([]byte, error) { return japanese.ShiftJIS.NewEncoder().Bytes(b) }
