package dicom

import (
	"fmt"
	"sync/atomic"
)

// panics counts the panics recovered by Parse, Frame and the worker. Every
// decoder checks its bounds, so the count stays zero; tests fail when it does
// not, because a recovered panic is a bug that only looks handled.
var panics atomic.Int64

// recovered records a recovered panic and returns it as an error.
func recovered(where string, p any) error {
	panics.Add(1)
	return fmt.Errorf("%w: panic in %s: %v", ErrMalformed, where, p)
}
