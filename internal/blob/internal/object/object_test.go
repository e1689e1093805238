package object

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestExact(t *testing.T) {
	tests := []struct {
		data    string
		size    int64
		wantErr error
	}{
		{"hello", 5, nil},
		{"", 0, nil},
		{"hell", 5, ErrSize},
		{"hello!", 5, ErrSize},
		{"x", 0, ErrSize},
		{"", 1, ErrSize},
	}
	for _, tt := range tests {
		for name, r := range map[string]io.Reader{
			"plain":   strings.NewReader(tt.data),
			"onebyte": iotest.OneByteReader(strings.NewReader(tt.data)),
			"dataerr": iotest.DataErrReader(strings.NewReader(tt.data)),
		} {
			var got bytes.Buffer
			_, err := got.ReadFrom(Exact(r, tt.size))
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("%s: Exact(%q, %d) error = %v, want %v", name, tt.data, tt.size, err, tt.wantErr)
			}
			if err != nil && int64(got.Len()) >= tt.size && tt.size > 0 {
				t.Errorf("%s: Exact(%q, %d) delivered all %d bytes before failing", name, tt.data, tt.size, got.Len())
			}
			if err == nil && got.String() != tt.data {
				t.Errorf("%s: Exact(%q, %d) = %q", name, tt.data, tt.size, got.String())
			}
		}
	}
}

func TestValidPrefix(t *testing.T) {
	for _, p := range []string{"", "f/", "f/abc", "f/abc/", "a.", "f/."} {
		if err := ValidPrefix(p); err != nil {
			t.Errorf("ValidPrefix(%q) = %v", p, err)
		}
	}
	for _, p := range []string{"/", "f//", "../", "f/../", "./", "a b"} {
		if err := ValidPrefix(p); !errors.Is(err, ErrBadKey) {
			t.Errorf("ValidPrefix(%q) = %v, want ErrBadKey", p, err)
		}
	}
}
