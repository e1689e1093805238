package seal_test

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"

	"github.com/medbox-jp/medbox/internal/seal"
	"github.com/medbox-jp/medbox/internal/sqldb"
	"github.com/medbox-jp/medbox/internal/sqldb/sqltest"
)

func TestSealBytesRoundTrip(t *testing.T) {
	dk := seal.RandomKeyForTest()
	secret := []byte("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
	aad := []byte("mfa_totp\x00member-1")
	sealed, err := dk.SealBytes(aad, secret)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, secret[:8]) {
		t.Fatal("sealed value contains the plaintext")
	}
	again, _ := dk.SealBytes(aad, secret)
	if bytes.Equal(sealed, again) {
		t.Error("two seals of one value are equal; the nonce is not random")
	}
	got, err := dk.OpenBytes(aad, sealed)
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("OpenBytes = %q, %v; want %q", got, err, secret)
	}
	empty, err := dk.SealBytes(aad, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := dk.OpenBytes(aad, empty); err != nil || len(got) != 0 {
		t.Errorf("empty value: %q, %v", got, err)
	}
}

// TestOpenBytesRefuses: every change to a sealed value, its additional data or its
// key makes it refuse to open, with ErrSmallCorrupt.
func TestOpenBytesRefuses(t *testing.T) {
	dk := seal.RandomKeyForTest()
	aad := []byte("mfa_totp\x00member-1")
	sealed, err := dk.SealBytes(aad, []byte("a totp secret"))
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		b := bytes.Clone(sealed)
		b[i] ^= 1
		return b
	}
	tests := []struct {
		name   string
		key    seal.DataKey
		aad    []byte
		sealed []byte
	}{
		{"other row", dk, []byte("mfa_totp\x00member-2"), sealed},
		{"no additional data", dk, nil, sealed},
		{"other data key", seal.RandomKeyForTest(), aad, sealed},
		{"format byte", dk, aad, flip(0)},
		{"nonce", dk, aad, flip(3)},
		{"ciphertext", dk, aad, flip(14)},
		{"tag", dk, aad, flip(len(sealed) - 1)},
		{"cut short", dk, aad, sealed[:len(sealed)-1]},
		{"empty", dk, aad, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := tt.key.OpenBytes(tt.aad, tt.sealed); !errors.Is(err, seal.ErrSmallCorrupt) {
				t.Errorf("OpenBytes = %q, %v; want ErrSmallCorrupt", got, err)
			}
		})
	}
	var zero seal.DataKey
	if _, err := zero.SealBytes(aad, []byte("x")); err == nil {
		t.Error("the zero data key sealed a value")
	}
	if _, err := dk.SealBytes(aad, make([]byte, seal.MaxSmall+1)); err == nil {
		t.Error("SealBytes took a value larger than MaxSmall")
	}
}

// TestSealedBytesSurviveRotation: a small value sealed under a data key kept in
// seal_keys opens again after the master key has rotated, because rotation
// rewraps the data key and leaves the value as it is.
func TestSealedBytesSurviveRotation(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqldb.DB) {
		m, err := seal.LoadOrCreate(filepath.Join(t.TempDir(), "master.key"))
		if err != nil {
			t.Fatal(err)
		}
		id, dk, err := m.NewKey(t.Context(), db, now)
		if err != nil {
			t.Fatal(err)
		}
		aad := []byte("row-1")
		sealed, err := dk.SealBytes(aad, []byte("secret seed"))
		if err != nil {
			t.Fatal(err)
		}
		before := m.CurrentID()
		if _, err := m.Rotate(t.Context(), db); err != nil {
			t.Fatal(err)
		}
		if m.CurrentID() == before {
			t.Fatal("rotation kept the master key")
		}
		dk2, err := m.Key(t.Context(), db, id)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := dk2.OpenBytes(aad, sealed); err != nil || string(got) != "secret seed" {
			t.Errorf("after rotation: %q, %v", got, err)
		}
		if err := seal.DestroyKey(t.Context(), db, id); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Key(t.Context(), db, id); !errors.Is(err, seal.ErrKeyNotFound) {
			t.Errorf("Key after DestroyKey = %v, want ErrKeyNotFound", err)
		}
	})
}
