package seal_test

import (
	"bytes"
	"testing"

	"github.com/medbox-jp/medbox/internal/seal"
)

func TestMACKeysDependOnKeyAndLabel(t *testing.T) {
	dk, other := seal.RandomKeyForTest(), seal.RandomKeyForTest()
	sum := func(dk seal.DataKey, label string) []byte {
		t.Helper()
		mac, err := dk.MAC(label)
		if err != nil {
			t.Fatal(err)
		}
		h := mac()
		h.Write([]byte("event 1"))
		return h.Sum(nil)
	}
	a := sum(dk, "medbox/audit/chain/v2")
	if !bytes.Equal(a, sum(dk, "medbox/audit/chain/v2")) {
		t.Error("one key and label give two different MACs")
	}
	if bytes.Equal(a, sum(dk, "medbox/audit/checkpoint/v2")) {
		t.Error("two labels give the same MAC")
	}
	if bytes.Equal(a, sum(other, "medbox/audit/chain/v2")) {
		t.Error("two data keys give the same MAC")
	}
	for _, enc := range seal.KeyEncodingsForTest(dk) {
		if bytes.Contains(a, []byte(enc)) {
			t.Errorf("the MAC contains the data key (%q)", enc)
		}
	}
	if _, err := (seal.DataKey{}).MAC("x"); err == nil {
		t.Error("the zero data key keyed a MAC")
	}
	if _, err := dk.MAC(""); err == nil {
		t.Error("a MAC key without a label")
	}
}
