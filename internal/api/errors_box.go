package api

import (
	"errors"
	"net/http"

	"github.com/medbox-jp/medbox/internal/box"
	"github.com/medbox-jp/medbox/internal/filetype"
	"github.com/medbox-jp/medbox/internal/i18n"
	"github.com/medbox-jp/medbox/internal/upload"
)

// classifyBox maps the errors of boxes and uploads to API errors, or returns nil.
func classifyBox(err error) *apiError {
	var ie *box.InputError
	var me *upload.MissingError
	var refusal *filetype.Refusal
	switch {
	case errors.Is(err, box.ErrNotFound), errors.Is(err, upload.ErrNotFound):
		return errNotFound
	case errors.As(err, &ie):
		return &apiError{status: http.StatusBadRequest, code: "invalid", fields: map[string]string{ie.Field: ie.Code}}
	case errors.Is(err, box.ErrNotSender):
		return &apiError{status: http.StatusForbidden, code: "not_sender"}
	case errors.Is(err, box.ErrQuota):
		return &apiError{status: http.StatusRequestEntityTooLarge, code: "quota_exceeded"}
	case errors.Is(err, box.ErrTooLarge):
		return &apiError{status: http.StatusRequestEntityTooLarge, code: "send_too_large"}
	case errors.Is(err, box.ErrTooManyFiles):
		return &apiError{status: http.StatusConflict, code: "too_many_files"}
	case errors.Is(err, upload.ErrBadChunk):
		return &apiError{status: http.StatusBadRequest, code: "bad_chunk"}
	case errors.Is(err, upload.ErrChunkSize):
		return &apiError{status: http.StatusBadRequest, code: "chunk_size"}
	case errors.Is(err, upload.ErrChunkBusy):
		return &apiError{status: http.StatusConflict, code: "chunk_busy"}
	case errors.Is(err, upload.ErrChunkConflict):
		return &apiError{status: http.StatusConflict, code: "chunk_conflict"}
	case errors.Is(err, upload.ErrDigest):
		return &apiError{status: http.StatusBadRequest, code: "digest_mismatch"}
	case errors.Is(err, upload.ErrEmpty):
		return &apiError{status: http.StatusBadRequest, code: "empty_file"}
	case errors.Is(err, upload.ErrBadName):
		return &apiError{status: http.StatusBadRequest, code: "invalid", fields: map[string]string{"name": "required"}}
	case errors.As(err, &me):
		return &apiError{status: http.StatusConflict, code: "chunks_missing", missing: me.Missing}
	case errors.As(err, &refusal):
		return &apiError{status: http.StatusUnsupportedMediaType, code: "type_not_allowed", reason: refusal.Code, entry: refusal.Entry}
	}
	return nil
}

// typeArgs fill the limits of the container walk into the refusal messages.
var typeArgs = []any{"Depth", filetype.MaxDepth, "Entries", filetype.MaxEntries,
	"Expanded", i18n.Size(filetype.MaxExpanded), "Ratio", filetype.MaxRatio}
