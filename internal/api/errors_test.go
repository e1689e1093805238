package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/medbox-jp/medbox/internal/featuretest"
	"github.com/medbox-jp/medbox/internal/i18n"
)

// errorBody is the shape of every error the API answers with.
type errorBody struct {
	Error struct {
		Code    string            `json:"code"`
		Message string            `json:"message"`
		Fields  map[string]string `json:"fields"`
		Reason  string            `json:"reason"`
		Missing []int             `json:"missing"`
	} `json:"error"`
}

// TestErrors: what goes wrong is answered as {"error":{"code","message"}} with
// the status guard.Classify gives it, the message in the caller's language
// (Accept-Language, or the lang cookie), and for bad input the fields at fault.
func TestErrors(t *testing.T) {
	tests := []struct {
		name       string
		as         string // role
		call       func(f *fixture) call
		wantStatus int
		wantCode   string
		wantFields []string
		check      func(t *testing.T, e errorBody)
	}{
		{"no credentials", "", func(f *fixture) call { return call{method: "GET", path: "/api/v1/boxes"} }, 401, "unauthorized", nil, nil},
		{"a token that is no session", "", func(f *fixture) call {
			return call{method: "GET", path: "/api/v1/boxes", token: "not-a-session-token"}
		}, 401, "unauthorized", nil, nil},
		{"awaiting review", "pending", func(f *fixture) call { return call{method: "GET", path: "/api/v1/boxes"} }, 403, "not_approved", nil, nil},
		{"no such route", "rcpt", func(f *fixture) call { return call{method: "GET", path: "/api/v1/nothing"} }, 404, "not_found", nil, nil},
		{"wrong password", "", func(f *fixture) call {
			return call{method: "POST", path: "/api/v1/login", body: map[string]string{"email": string(f.sender.Email), "password": "not the password"}}
		}, 401, "bad_credentials", nil, nil},
		{"not JSON", "sender", func(f *fixture) call {
			return call{method: "POST", path: "/api/v1/boxes", body: strings.NewReader(`{"recipients":`)}
		}, 400, "bad_request", []string{"body"}, nil},
		{"an unknown field", "sender", func(f *fixture) call {
			return call{method: "POST", path: "/api/v1/boxes", body: map[string]any{"recipients": []string{string(f.rcpt.ID)}, "cc": "x"}}
		}, 400, "bad_request", []string{"body"}, nil},
		{"trailing data", "sender", func(f *fixture) call {
			return call{method: "POST", path: "/api/v1/boxes", body: strings.NewReader(`{"recipients":[]} {}`)}
		}, 400, "bad_request", nil, nil},
		{"a body too large", "sender", func(f *fixture) call {
			return call{method: "POST", path: "/api/v1/boxes/" + string(f.box) + "/comments", body: map[string]string{"body": strings.Repeat("長", 30_000)}}
		}, 413, "too_large", nil, nil},
		{"no recipient", "sender", func(f *fixture) call {
			return call{method: "POST", path: "/api/v1/boxes", body: map[string]any{"recipients": []string{}}}
		}, 400, "invalid", []string{"recipients"}, nil},
		{"a storage period out of range", "sender", func(f *fixture) call {
			return call{method: "POST", path: "/api/v1/boxes", body: map[string]any{"recipients": []string{string(f.rcpt.ID)}, "expires_in_hours": -1}}
		}, 400, "invalid", []string{"expires_in_hours"}, nil},
		{"a recipient adds people", "rcpt", func(f *fixture) call {
			return call{method: "POST", path: "/api/v1/boxes/" + string(f.box) + "/participants", body: map[string]any{"member_ids": []string{string(f.outsider.ID)}}}
		}, 403, "not_sender", nil, nil},
		{"a fixed field", "rcpt", func(f *fixture) call {
			return call{method: "PATCH", path: "/api/v1/me", body: map[string]string{"name": "別 人"}}
		}, 400, "fixed_identity", nil, nil},
		{"an unknown trigger", "rcpt", func(f *fixture) call {
			return call{method: "PATCH", path: "/api/v1/me", body: map[string]any{"notifications": map[string]bool{"nonsense": true}}}
		}, 400, "invalid", []string{"notifications.nonsense"}, nil},
		{"an empty file", "sender", func(f *fixture) call {
			return call{method: "POST", path: "/api/v1/boxes/" + string(f.box) + "/uploads", body: map[string]any{"name": "a.txt", "size": 0}}
		}, 400, "empty_file", nil, nil},
		{"a chunk that is not there", "sender", func(f *fixture) call {
			return call{method: "PUT", path: "/api/v1/uploads/" + f.upload(3*f.Config.Limits.ChunkSize) + "/chunks/7", body: strings.NewReader("x")}
		}, 400, "bad_chunk", nil, nil},
		{"complete with chunks missing", "sender", func(f *fixture) call {
			return call{method: "POST", path: "/api/v1/uploads/" + f.upload(3*f.Config.Limits.ChunkSize) + "/complete"}
		}, 409, "chunks_missing", nil, func(t *testing.T, e errorBody) {
			if !slices.Equal(e.Error.Missing, []int{0, 1, 2}) {
				t.Errorf("missing = %v, want [0 1 2]", e.Error.Missing)
			}
		}},
		{"a file of a refused type", "sender", func(f *fixture) call {
			script := []byte("#!/bin/sh\nrm -rf /\n")
			id := f.upload(int64(len(script)))
			if r := f.do(call{method: "PUT", path: "/api/v1/uploads/" + id + "/chunks/0", body: bytes.NewReader(script), token: f.tokens["sender"]}); r.StatusCode != http.StatusNoContent {
				t.Fatalf("chunk: %d", r.StatusCode)
			}
			return call{method: "POST", path: "/api/v1/uploads/" + id + "/complete"}
		}, 415, "type_not_allowed", nil, func(t *testing.T, e errorBody) {
			if e.Error.Reason == "" {
				t.Error("no reason given for the refusal")
			}
		}},
	}
	featuretest.Each(t, featuretest.Options{Env: map[string]string{"MEDBOX_CHUNK_SIZE": "256KiB"}}, func(t *testing.T, w *featuretest.World) {
		f := newFixture(t, w)
		for _, tt := range tests {
			for _, lang := range []i18n.Lang{i18n.Ja, i18n.En} {
				t.Run(tt.name+"/"+string(lang), func(t *testing.T) {
					f.t = t
					c := tt.call(f)
					if c.token == "" {
						c.token = f.tokens[tt.as]
					}
					c.header = map[string]string{"Accept-Language": string(lang)}
					var e errorBody
					status, body := f.json(c, &e)
					if status != tt.wantStatus || e.Error.Code != tt.wantCode {
						t.Fatalf("%s %s = %d %q, want %d %q: %s", c.method, c.path, status, e.Error.Code, tt.wantStatus, tt.wantCode, body)
					}
					var raw map[string]json.RawMessage
					json.Unmarshal(body, &raw)
					if len(raw) != 1 || raw["error"] == nil {
						t.Errorf("body %s, want only {\"error\":…}", body)
					}
					if want := i18n.T(lang, "api.err."+tt.wantCode); e.Error.Reason == "" && !strings.HasPrefix(e.Error.Message, strings.SplitN(want, "{{", 2)[0]) {
						t.Errorf("message %q, want the %s message %q", e.Error.Message, lang, want)
					}
					if japanese := strings.ContainsFunc(e.Error.Message, func(r rune) bool { return r >= 0x3040 }); japanese != (lang == i18n.Ja) {
						t.Errorf("message %q is not in %s", e.Error.Message, lang)
					}
					var fields []string
					for k, v := range e.Error.Fields {
						fields = append(fields, k)
						if v == "" || strings.HasPrefix(v, "err.") {
							t.Errorf("field %s: message %q", k, v)
						}
					}
					if slices.Sort(fields); !slices.Equal(fields, tt.wantFields) {
						t.Errorf("fields %v, want %v", fields, tt.wantFields)
					}
					if tt.check != nil {
						tt.check(t, e)
					}
				})
			}
		}
	})
}

// upload starts an upload of size bytes into the fixture's box as the sender.
func (f *fixture) upload(size int64) string {
	f.t.Helper()
	var u struct{ ID string }
	status, body := f.json(call{method: "POST", path: "/api/v1/boxes/" + string(f.box) + "/uploads", token: f.tokens["sender"],
		body: map[string]any{"name": "part.bin", "size": size}}, &u)
	if status != http.StatusCreated {
		f.t.Fatalf("start upload: %d %s", status, body)
	}
	return u.ID
}

// TestErrorLanguage: the language a member chose on the pages (the lang cookie)
// comes before the browser's Accept-Language.
func TestErrorLanguage(t *testing.T) {
	tests := []struct {
		cookie, accept string
		want           i18n.Lang
	}{
		{"", "ja", i18n.Ja},
		{"", "en-US,en;q=0.9", i18n.En},
		{"", "fr", i18n.Ja}, // neither: Japanese
		{"en", "ja", i18n.En},
		{"ja", "en", i18n.Ja},
	}
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		f := newFixture(t, w)
		for _, tt := range tests {
			t.Run(tt.cookie+"/"+tt.accept, func(t *testing.T) {
				f.t = t
				h := map[string]string{"Accept-Language": tt.accept}
				if tt.cookie != "" {
					h["Cookie"] = "lang=" + tt.cookie
				}
				var e errorBody
				f.json(call{method: "GET", path: "/api/v1/boxes", header: h}, &e)
				if want := i18n.T(tt.want, "api.err.unauthorized"); e.Error.Message != want {
					t.Errorf("message %q, want %q", e.Error.Message, want)
				}
			})
		}
	})
}
