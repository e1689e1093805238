package guard_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"testing"

	"github.com/medbox-jp/medbox/internal/auth"
	"github.com/medbox-jp/medbox/internal/box"
	"github.com/medbox-jp/medbox/internal/filetype"
	"github.com/medbox-jp/medbox/internal/guard"
	"github.com/medbox-jp/medbox/internal/i18n"
	"github.com/medbox-jp/medbox/internal/member"
	"github.com/medbox-jp/medbox/internal/preview"
	"github.com/medbox-jp/medbox/internal/upload"
)

// TestClassify: every kind of error a feature returns means one status and one
// code to the caller, for the web and the API alike, also when wrapped; an error
// of our own is "internal" and reported as not the caller's.
func TestClassify(t *testing.T) {
	custom := &guard.Problem{Status: http.StatusTeapot, Code: "not_found"}
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantCode   string
		wantOurs   bool // false: a failure of ours, to be logged
		want       func(t *testing.T, p *guard.Problem)
	}{
		{"a problem as it is", custom, http.StatusTeapot, "not_found", true, func(t *testing.T, p *guard.Problem) {
			if p != custom {
				t.Errorf("got %p, want the problem itself %p", p, custom)
			}
		}},
		{"member not found", member.ErrNotFound, 404, "not_found", true, nil},
		{"box not found", box.ErrNotFound, 404, "not_found", true, nil},
		{"upload not found", upload.ErrNotFound, 404, "not_found", true, nil},
		{"no preview", preview.ErrNoPreview, 404, "no_preview", true, nil},
		{"bad link", member.ErrBadToken, 410, "bad_link", true, nil},
		{"wrong state", member.ErrWrongState, 409, "wrong_state", true, nil},
		{"too many", member.ErrTooMany, 429, "too_many", true, nil},
		{"wrong password", member.ErrBadPassword, 400, "invalid", true, fields(map[string]string{"password": "wrong_password"})},
		{"fixed identity", member.ErrFixedIdentity, 400, "fixed_identity", true, nil},
		{"bad credentials", auth.ErrBadCredentials, 401, "bad_credentials", true, nil},
		{"suspended", auth.ErrSuspended, 403, "suspended", true, nil},
		{"new password required", auth.ErrNewPassword, 403, "new_password_required", true, nil},
		{"not the sender", box.ErrNotSender, 403, "not_sender", true, nil},
		{"quota", box.ErrQuota, 413, "quota_exceeded", true, nil},
		{"send too large", box.ErrTooLarge, 413, "send_too_large", true, nil},
		{"too many files", box.ErrTooManyFiles, 409, "too_many_files", true, nil},
		{"bad chunk", upload.ErrBadChunk, 400, "bad_chunk", true, nil},
		{"chunk size", upload.ErrChunkSize, 400, "chunk_size", true, nil},
		{"chunk busy", upload.ErrChunkBusy, 409, "chunk_busy", true, nil},
		{"chunk conflict", upload.ErrChunkConflict, 409, "chunk_conflict", true, nil},
		{"digest mismatch", upload.ErrDigest, 400, "digest_mismatch", true, nil},
		{"empty file", upload.ErrEmpty, 400, "empty_file", true, nil},
		{"bad file name", upload.ErrBadName, 400, "invalid", true, fields(map[string]string{"name": "required"})},
		{"field errors", member.FieldErrors{"email": "invalid_email", "name": "required"}, 400, "invalid", true,
			fields(map[string]string{"email": "invalid_email", "name": "required"})},
		{"input error", &box.InputError{Field: "message", Code: "too_long"}, 400, "invalid", true, fields(map[string]string{"message": "too_long"})},
		{"throttled", &auth.ThrottledError{RetryAfter: 30e9}, 429, "throttled", true, nil},
		{"chunks missing", &upload.MissingError{Missing: []int{2, 5}}, 409, "chunks_missing", true, func(t *testing.T, p *guard.Problem) {
			if !slices.Equal(p.Missing, []int{2, 5}) {
				t.Errorf("Missing = %v, want [2 5]", p.Missing)
			}
		}},
		{"type refused", &filetype.Refusal{Code: filetype.CodeScript, Detail: "#!/bin/sh"}, 415, "type_not_allowed", true, func(t *testing.T, p *guard.Problem) {
			if p.Reason != filetype.CodeScript {
				t.Errorf("Reason = %q, want %q", p.Reason, filetype.CodeScript)
			}
		}},
		{"body too large", &http.MaxBytesError{Limit: 10}, 413, "too_large", true, nil},
		{"wrapped kind", fmt.Errorf("get box x: %w", box.ErrNotFound), 404, "not_found", true, nil},
		{"wrapped type", fmt.Errorf("complete: %w", &upload.MissingError{Missing: []int{0}}), 409, "chunks_missing", true, nil},
		{"ours: unknown", errors.New("disk on fire"), 500, "internal", false, nil},
		{"ours: cancelled", fmt.Errorf("query: %w", context.Canceled), 500, "internal", false, nil},
		{"ours: no session reached a handler", auth.ErrNoSession, 500, "internal", false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, ours := guard.Classify(tt.err)
			if p.Status != tt.wantStatus || p.Code != tt.wantCode || ours != tt.wantOurs {
				t.Errorf("Classify(%v) = %d %q ours=%v, want %d %q ours=%v", tt.err, p.Status, p.Code, ours, tt.wantStatus, tt.wantCode, tt.wantOurs)
			}
			if tt.want != nil {
				tt.want(t, p)
			}
			// What the caller reads: the code's message in both languages.
			for _, l := range i18n.Langs {
				if id := "api.err." + p.Code; !i18n.Has(l, id) {
					t.Errorf("no %s message %q", l, id)
				}
				if p.Reason != "" && !i18n.Has(l, "api.err.type."+p.Reason) {
					t.Errorf("no %s message for the refusal %q", l, p.Reason)
				}
				for f, code := range p.Fields {
					if !i18n.Has(l, "err."+code) {
						t.Errorf("no %s message for field %s's %q", l, f, code)
					}
				}
			}
		})
	}
}

// fields checks a problem's fields.
func fields(want map[string]string) func(t *testing.T, p *guard.Problem) {
	return func(t *testing.T, p *guard.Problem) {
		if !maps.Equal(p.Fields, want) {
			t.Errorf("Fields = %v, want %v", p.Fields, want)
		}
	}
}

// TestClientGone: a failure of ours on a request whose client hung up is the
// hang-up's echo, not a fault of the service; a request still open, or a
// problem the caller caused, is not.
func TestClientGone(t *testing.T) {
	open := func() *http.Request { return &http.Request{} }
	hungUp := func() *http.Request {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		return (&http.Request{}).WithContext(ctx)
	}
	tests := []struct {
		name string
		r    *http.Request
		err  error
		want bool
	}{
		{"store failed after the client left", hungUp(), fmt.Errorf("store chunk 3 of u: %w", context.Canceled), true},
		{"any failure of ours after the client left", hungUp(), errors.New("read body: connection reset"), true},
		{"the client's own problem, then it left", hungUp(), upload.ErrDigest, false},
		{"a failure of ours, client still there", open(), fmt.Errorf("query: %w", context.Canceled), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := guard.ClientGone(tt.r, tt.err); got != tt.want {
				t.Errorf("ClientGone = %v, want %v", got, tt.want)
			}
		})
	}
}
