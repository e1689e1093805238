package i18n

import (
	"strings"
	"testing"
)

func TestCatalogsComplete(t *testing.T) {
	ja, en := catalog[Ja], catalog[En]
	if len(ja) == 0 {
		t.Fatal("no Japanese messages loaded")
	}
	for id, v := range ja {
		if _, ok := en[id]; !ok {
			t.Errorf("message %q has Japanese but no English text", id)
		}
		if strings.TrimSpace(v) == "" {
			t.Errorf("message %q is empty in Japanese", id)
		}
	}
	for id, v := range en {
		if _, ok := ja[id]; !ok {
			t.Errorf("message %q has English but no Japanese text", id)
		}
		if strings.TrimSpace(v) == "" {
			t.Errorf("message %q is empty in English", id)
		}
	}
}

func TestNegotiate(t *testing.T) {
	tests := []struct {
		choice, accept string
		want           Lang
	}{
		{"", "", Ja},
		{"", "en-US,en;q=0.9", En},
		{"", "fr-FR, en;q=0.5", En},
		{"", "ja,en;q=0.8", Ja},
		{"ja", "en-US", Ja},
		{"en", "ja", En},
		{"", "zh-CN", Ja},
	}
	for _, tt := range tests {
		if got := Negotiate(tt.choice, tt.accept); got != tt.want {
			t.Errorf("Negotiate(%q, %q) = %q, want %q", tt.choice, tt.accept, got, tt.want)
		}
	}
}

func TestTFillsPlaceholders(t *testing.T) {
	if got := T(En, "common.app_name"); got != "MedBox" {
		t.Errorf("T(en, common.app_name) = %q", got)
	}
	if got := T(Ja, "no.such.message"); got != "no.such.message" {
		t.Errorf("missing message = %q, want its id", got)
	}
}
