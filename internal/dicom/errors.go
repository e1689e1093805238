package dicom

import "errors"

// Errors callers can test for with errors.Is. Each is wrapped with the detail.
var (
	// ErrNotDICOM means the input is not a DICOM file or dataset.
	ErrNotDICOM = errors.New("not a DICOM file")
	// ErrMalformed means the file breaks the DICOM encoding rules, for example a
	// declared length that runs past the end of the data.
	ErrMalformed = errors.New("malformed DICOM")
	// ErrTooLarge means a limit in Limits was exceeded.
	ErrTooLarge = errors.New("DICOM file exceeds limits")
	// ErrNoPixels means the file is valid but holds no image (a report, a
	// DICOMDIR, a structured report, ...).
	ErrNoPixels = errors.New("DICOM file has no image")
	// ErrUnsupported means the file holds an image this package cannot decode.
	ErrUnsupported = errors.New("unsupported DICOM image")
	// ErrCannotPreview is what Guard returns for every failure of the worker:
	// a panic, running out of memory or time, garbage input, or any error above.
	// The file can still be downloaded; it just cannot be shown.
	ErrCannotPreview = errors.New("cannot preview DICOM file")
)
