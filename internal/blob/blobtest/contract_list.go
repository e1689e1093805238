package blobtest

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/medbox-jp/medbox/internal/blob"
)

// listAll returns "key:size" for every listed object, space-separated.
func listAll(t *testing.T, s blob.Store, prefix string) string {
	t.Helper()
	var got []string
	err := s.List(t.Context(), prefix, func(key string, size int64) error {
		got = append(got, fmt.Sprintf("%s:%d", key, size))
		return nil
	})
	if err != nil {
		t.Fatalf("List(%q) = %v", prefix, err)
	}
	return strings.Join(got, " ")
}

func testList(t *testing.T, s blob.Store) {
	// '-' < '.' < '/' < digits < letters: a directory-order walk would get these wrong.
	for i, key := range []string{"p/ab", "p/a/c/d", "q/x", "p/a.b", "p-x", "p/a/b", "p/a-c", "p/zz", "p0"} {
		put(t, s, key, pattern(byte(i), i+1))
	}
	tests := []struct{ prefix, want string }{
		{"", "p-x:5 p/a-c:7 p/a.b:4 p/a/b:6 p/a/c/d:2 p/ab:1 p/zz:8 p0:9 q/x:3"},
		{"p", "p-x:5 p/a-c:7 p/a.b:4 p/a/b:6 p/a/c/d:2 p/ab:1 p/zz:8 p0:9"},
		{"p/", "p/a-c:7 p/a.b:4 p/a/b:6 p/a/c/d:2 p/ab:1 p/zz:8"},
		{"p/a", "p/a-c:7 p/a.b:4 p/a/b:6 p/a/c/d:2 p/ab:1"},
		{"p/a/", "p/a/b:6 p/a/c/d:2"},
		{"p/a/c/d", "p/a/c/d:2"},
		{"p/zz/", ""},
		{"nothing/", ""},
		{"q", "q/x:3"},
	}
	for _, tt := range tests {
		if got := listAll(t, s, tt.prefix); got != tt.want {
			t.Errorf("List(%q)\n got %q\nwant %q", tt.prefix, got, tt.want)
		}
	}

	stop := errors.New("enough")
	calls := 0
	err := s.List(t.Context(), "p/", func(string, int64) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("List with fn failing: err = %v after %d calls, want %v after 1", err, calls, stop)
	}

	for _, prefix := range []string{"/", "/p", "p//", "../", "p/../", "./", "p q", "p\\"} {
		err := s.List(t.Context(), prefix, func(string, int64) error { return nil })
		if !errors.Is(err, blob.ErrBadKey) {
			t.Errorf("List(%q) = %v, want ErrBadKey", prefix, err)
		}
	}
}

var badKeys = []string{
	"", "/", "/a", "a/", "a//b", ".", "..", "./a", "../a", "a/.", "a/..", "a/../b", "a/./b",
	"a b", "a\\b", "a:b", "a\x00b", "a\nb", "é", "ａ", "a?b", "a*b", "~", "a~",
	strings.Repeat("a", blob.MaxKeyLen+1), "a/" + strings.Repeat("b", 256),
}

func testBadKeys(t *testing.T, s blob.Store) {
	ctx := t.Context()
	for _, key := range badKeys {
		if err := s.Put(ctx, key, strings.NewReader("x"), 1); !errors.Is(err, blob.ErrBadKey) {
			t.Errorf("Put(%q) = %v, want ErrBadKey", key, err)
		}
		if rc, err := s.Get(ctx, key, 0, -1); !errors.Is(err, blob.ErrBadKey) {
			if err == nil {
				rc.Close()
			}
			t.Errorf("Get(%q) = %v, want ErrBadKey", key, err)
		}
		if _, err := s.Stat(ctx, key); !errors.Is(err, blob.ErrBadKey) {
			t.Errorf("Stat(%q) = %v, want ErrBadKey", key, err)
		}
		if err := s.Delete(ctx, key); !errors.Is(err, blob.ErrBadKey) {
			t.Errorf("Delete(%q) = %v, want ErrBadKey", key, err)
		}
	}
	if got := listAll(t, s, ""); got != "" {
		t.Errorf("after refused Puts, List = %q, want nothing", got)
	}
}

func testGoodKeys(t *testing.T, s blob.Store) {
	keys := []string{
		"a", "A-Z_a.z-0.9", ".hidden", "..a", "a..", "f/01HXYZ/00000003", "x/y/z/w/v",
		strings.Repeat("k", 255), strings.Repeat("d/", (blob.MaxKeyLen-1)/2) + "b",
	}
	for i, key := range keys {
		if err := blob.ValidKey(key); err != nil {
			t.Fatalf("ValidKey(%q) = %v", key, err)
		}
		put(t, s, key, []byte{byte(i)})
	}
	for i, key := range keys {
		wantContent(t, s, key, []byte{byte(i)})
	}
}
