package guard

import (
	"errors"
	"net/http"

	"github.com/medbox-jp/medbox/internal/auth"
	"github.com/medbox-jp/medbox/internal/box"
	"github.com/medbox-jp/medbox/internal/filetype"
	"github.com/medbox-jp/medbox/internal/member"
	"github.com/medbox-jp/medbox/internal/preview"
	"github.com/medbox-jp/medbox/internal/upload"
)

// Problem is an error as the caller sees it: an HTTP status and a code (the
// API's error code, and with "api.err." its message in the i18n catalogs). A
// handler may return one directly.
type Problem struct {
	Status  int
	Code    string
	Fields  map[string]string // for "invalid": field → i18n code ("err."+code)
	Reason  string            // for "type_not_allowed": why, as an i18n code ("api.err.type."+reason)
	Entry   string            // for "type_not_allowed": the entry inside the file that is why, if any
	Missing []int             // for "chunks_missing": the chunks still to send
}

func (p *Problem) Error() string { return p.Code }

// Problems every part of the service answers with.
var (
	ErrNotFound     = &Problem{Status: http.StatusNotFound, Code: "not_found"}
	ErrUnauthorized = &Problem{Status: http.StatusUnauthorized, Code: "unauthorized"}
	ErrBadRequest   = &Problem{Status: http.StatusBadRequest, Code: "bad_request"}
	ErrNotApproved  = &Problem{Status: http.StatusForbidden, Code: "not_approved"}
	ErrInternal     = &Problem{Status: http.StatusInternalServerError, Code: "internal"}
)

// StatusClientGone is recorded (metrics, access log) for a request whose client
// hung up before the answer: no one reads it, and it is no failure of ours. The
// number is nginx's for the same.
const StatusClientGone = 499

// ClientGone reports whether err is only the echo of the client hanging up — an
// upload cancelled mid-chunk, a page closed while it loaded: a failure that is
// not the caller's problem, on a request whose context is already done. It is
// logged as information, not as an error of the service.
func ClientGone(r *http.Request, err error) bool {
	if r.Context().Err() == nil {
		return false
	}
	_, ours := Classify(err)
	return !ours
}

// Invalid is a 400 that names the fields at fault (field → i18n code).
func Invalid(fields map[string]string) *Problem {
	return &Problem{Status: http.StatusBadRequest, Code: "invalid", Fields: fields}
}

// Classify says what err means to the caller, in one table for the web and the
// API. The second result is false for an error the caller has no part in (a
// failure of ours): the caller gets ErrInternal and the details go to the log.
func Classify(err error) (*Problem, bool) {
	var (
		p        *Problem
		fe       member.FieldErrors
		te       *auth.ThrottledError
		ie       *box.InputError
		me       *upload.MissingError
		refusal  *filetype.Refusal
		tooLarge *http.MaxBytesError
	)
	switch {
	case errors.As(err, &p):
		return p, true
	case errors.As(err, &fe):
		return Invalid(fe), true
	case errors.As(err, &ie):
		return Invalid(map[string]string{ie.Field: ie.Code}), true
	case errors.As(err, &te):
		return &Problem{Status: http.StatusTooManyRequests, Code: "throttled"}, true
	case errors.As(err, &me):
		return &Problem{Status: http.StatusConflict, Code: "chunks_missing", Missing: me.Missing}, true
	case errors.As(err, &refusal):
		return &Problem{Status: http.StatusUnsupportedMediaType, Code: "type_not_allowed", Reason: refusal.Code, Entry: refusal.Entry}, true
	case errors.As(err, &tooLarge):
		return &Problem{Status: http.StatusRequestEntityTooLarge, Code: "too_large"}, true
	}
	for _, k := range kinds {
		if errors.Is(err, k.err) {
			return k.problem, true
		}
	}
	return ErrInternal, false
}

// kinds maps each feature's error kinds to what the caller sees.
var kinds = []struct {
	err     error
	problem *Problem
}{
	{member.ErrNotFound, ErrNotFound},
	{box.ErrNotFound, ErrNotFound},
	{upload.ErrNotFound, ErrNotFound},
	{preview.ErrNoPreview, &Problem{Status: http.StatusNotFound, Code: "no_preview"}},
	{member.ErrBadToken, &Problem{Status: http.StatusGone, Code: "bad_link"}},
	{member.ErrWrongState, &Problem{Status: http.StatusConflict, Code: "wrong_state"}},
	{member.ErrTooMany, &Problem{Status: http.StatusTooManyRequests, Code: "too_many"}},
	{member.ErrBadPassword, Invalid(map[string]string{"password": "wrong_password"})},
	{member.ErrFixedIdentity, &Problem{Status: http.StatusBadRequest, Code: "fixed_identity"}},
	{auth.ErrBadCredentials, &Problem{Status: http.StatusUnauthorized, Code: "bad_credentials"}},
	{auth.ErrSuspended, &Problem{Status: http.StatusForbidden, Code: "suspended"}},
	{auth.ErrNewPassword, &Problem{Status: http.StatusForbidden, Code: "new_password_required"}},
	{box.ErrNotSender, &Problem{Status: http.StatusForbidden, Code: "not_sender"}},
	{box.ErrQuota, &Problem{Status: http.StatusRequestEntityTooLarge, Code: "quota_exceeded"}},
	{box.ErrTooLarge, &Problem{Status: http.StatusRequestEntityTooLarge, Code: "send_too_large"}},
	{box.ErrTooManyFiles, &Problem{Status: http.StatusConflict, Code: "too_many_files"}},
	{upload.ErrBadChunk, &Problem{Status: http.StatusBadRequest, Code: "bad_chunk"}},
	{upload.ErrChunkSize, &Problem{Status: http.StatusBadRequest, Code: "chunk_size"}},
	{upload.ErrChunkBusy, &Problem{Status: http.StatusConflict, Code: "chunk_busy"}},
	{upload.ErrChunkConflict, &Problem{Status: http.StatusConflict, Code: "chunk_conflict"}},
	{upload.ErrDigest, &Problem{Status: http.StatusBadRequest, Code: "digest_mismatch"}},
	{upload.ErrEmpty, &Problem{Status: http.StatusBadRequest, Code: "empty_file"}},
	{upload.ErrBadName, Invalid(map[string]string{"name": "required"})},
}
