package dicom

import (
	"os/exec"
	"time"
)

// Default limits. A 100 Mpixel frame is 10000×10000, far beyond any CT, MR, CR or
// mammogram (≈ 4k×5k); 512 Mpixel in total is, for example, 2000 CT slices of
// 512×512. Frames are read a row at a time and shown at most ViewerMaxSide on a
// side, so their size costs time, not memory; only frames that a decoder must
// hold whole (JPEG, JPEG-LS, JPEG 2000) are held to MaxDecodedPixels.
const (
	DefaultMaxFramePixels   = 100 << 20
	DefaultMaxDecodedPixels = 24 << 20
	DefaultMaxTotalPixels   = 512 << 20
	DefaultMaxInflatedBytes = 128 << 20
	DefaultMaxDepth         = 32
	DefaultMaxElements      = 1 << 20
)

// Limits bound what a parse may allocate and decode. A zero field means its
// default; the zero Limits is valid and does not use GDCM.
type Limits struct {
	// MaxFramePixels caps rows × columns × samples per pixel of one frame.
	MaxFramePixels int64
	// MaxDecodedPixels caps rows × columns × samples of a JPEG 2000 frame,
	// which is decoded whole (native, RLE and deflated frames are read a row at
	// a time, whatever their size). JPEG-LS frames may have a third more, JPEG
	// frames twice as many: their decoders need less memory per sample. With
	// the default, the worker needs at most about 500 MiB.
	MaxDecodedPixels int64
	// MaxTotalPixels caps MaxFramePixels summed over all frames.
	MaxTotalPixels int64
	// MaxInflatedBytes caps the size of a deflated dataset once inflated,
	// which is held whole (twice, for a moment, while it is inflated). Deflated
	// datasets are small in practice (reports, waveforms); images come
	// compressed by their own codecs.
	MaxInflatedBytes int64
	// MaxDepth caps the nesting of sequences.
	MaxDepth int
	// MaxElements caps the number of data elements (including sequence items).
	MaxElements int
	// GDCM, if set, is used for pixel data our own decoders cannot decode.
	GDCM *GDCM
}

// GDCM configures the `gdcmconv --raw` fallback decoder.
type GDCM struct {
	// Path is the gdcmconv executable.
	Path string
	// MemoryLimit is the address-space limit of the gdcmconv process in bytes
	// (default 1 GiB).
	MemoryLimit int64
	// Timeout bounds one conversion (default 30 s).
	Timeout time.Duration
}

// FindGDCM returns the GDCM fallback if gdcmconv is installed, else nil.
func FindGDCM() *GDCM {
	p, err := exec.LookPath("gdcmconv")
	if err != nil {
		return nil
	}
	return &GDCM{Path: p}
}

// DefaultLimits returns the default limits with the GDCM fallback enabled when
// gdcmconv is installed.
func DefaultLimits() Limits {
	return Limits{GDCM: FindGDCM()}.withDefaults()
}

func (l Limits) withDefaults() Limits {
	if l.MaxFramePixels <= 0 {
		l.MaxFramePixels = DefaultMaxFramePixels
	}
	if l.MaxDecodedPixels <= 0 {
		l.MaxDecodedPixels = DefaultMaxDecodedPixels
	}
	if l.MaxTotalPixels <= 0 {
		l.MaxTotalPixels = DefaultMaxTotalPixels
	}
	if l.MaxInflatedBytes <= 0 {
		l.MaxInflatedBytes = DefaultMaxInflatedBytes
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxElements <= 0 {
		l.MaxElements = DefaultMaxElements
	}
	return l
}

// wholeFrameLimit returns the most samples a frame of codec c may have when it
// must be decoded whole, or 0 if its frames are read a row at a time.
func (l Limits) wholeFrameLimit(c codec) int64 {
	switch c {
	case codecJPEG2000:
		return l.MaxDecodedPixels
	case codecJPEGLS:
		return l.MaxDecodedPixels * 4 / 3
	case codecJPEG, codecJPEGLossless:
		return l.MaxDecodedPixels * 2
	}
	return 0
}
