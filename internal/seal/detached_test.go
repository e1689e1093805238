package seal

import (
	"path/filepath"
	"testing"
)

func TestDetachedKeys(t *testing.T) {
	m, err := LoadOrCreate(filepath.Join(t.TempDir(), "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	dk, k, err := m.NewDetachedKey("backup-20261124")
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.OpenDetachedKey(k)
	if err != nil {
		t.Fatalf("OpenDetachedKey: %v", err)
	}
	if *got.key() != *dk.key() {
		t.Error("unwrapped a different key")
	}
	relabelled := k
	relabelled.Label = "backup-20261125"
	if _, err := m.OpenDetachedKey(relabelled); err == nil {
		t.Error("a relabelled key unwrapped")
	}
	other, _ := LoadOrCreate(filepath.Join(t.TempDir(), "other.key"))
	if _, err := other.OpenDetachedKey(k); err == nil {
		t.Error("another master key unwrapped it")
	}
}
