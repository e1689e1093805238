package seal

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
)

// RandomKeyForTest returns a data key that exists nowhere but in the test.
func RandomKeyForTest() DataKey {
	return newDataKey()
}

// KeyEncodingsForTest returns the ways a key's bytes could appear in text.
func KeyEncodingsForTest(dk DataKey) []string {
	k := dk.key()[:]
	return []string{
		hex.EncodeToString(k[:8]), strings.ToUpper(hex.EncodeToString(k[:8])),
		base64.StdEncoding.EncodeToString(k)[:11], fmt.Sprint(k[:8])[1:20],
		strings.Trim(fmt.Sprintf("%q", string(k[:6])), `"`),
	}
}
