package dicom

import (
	"bytes"
	"cmp"
	"compress/flate"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
)

// File is a parsed DICOM file. Its methods are safe for concurrent use.
type File struct {
	src       []byte
	meta      *dataset
	ds        *dataset
	syntax    syntax
	guessed   bool // the file names no transfer syntax: it was inferred
	truncated bool // the file ends inside an element
	lim       Limits
	img       *imageInfo // nil when the file holds no image
	imgErr    error      // why img is nil

	frameOnce sync.Once
	frames    []encodedFrame // encoded frames of encapsulated pixel data
	framesErr error

	gdcmOnce sync.Once
	gdcmFile *File
	gdcmErr  error
}

// Parse parses a DICOM file (Part 10 with or without preamble, or a bare dataset)
// held in data. The File refers to data, which must not be modified afterwards.
// Parse checks the image description against lim; it decodes no pixels.
//
// A file that names no transfer syntax is read as DCMTK and pydicom read it:
// implicit VR little endian unless its first element has an explicit VR, and if
// that fails, the other encodings in turn (SyntaxGuessed says so). A file that
// ends early keeps what came before the cut (Incomplete says so).
func Parse(data []byte, lim Limits) (f *File, err error) {
	defer func() {
		if p := recover(); p != nil { // defence in depth; fuzzing keeps this unused
			f, err = nil, recovered("parse", p)
		}
	}()
	lim = lim.withDefaults()
	r := &reader{data: data, lim: lim}
	pos := 0
	switch {
	case len(data) >= 132 && string(data[128:132]) == "DICM":
		pos = 132
	case len(data) >= 4 && string(data[:4]) == "DICM":
		pos = 4
	}
	meta, pos, err := r.meta(pos)
	if err != nil {
		return nil, err
	}
	if ts := meta.ascii(tagTransferSyntaxUID); ts != "" {
		return parseAs(data, pos, meta, lim, r.count, ts, false)
	}
	candidates, err := guessSyntaxes(data[pos:])
	if err != nil {
		return nil, err
	}
	// The first encoding that reads the whole dataset wins; if every one of
	// them runs into the end of the data, the one that read most.
	var best *File
	var firstErr error
	for _, ts := range candidates {
		f, err := parseAs(data, pos, meta, lim, r.count, ts, true)
		switch {
		case err != nil:
			firstErr = cmp.Or(firstErr, err)
		case len(f.ds.elems) == 0:
		case !f.truncated:
			return f, nil
		case best == nil || len(f.ds.elems) > len(best.ds.elems):
			best = f
		}
	}
	if best != nil {
		return best, nil
	}
	return nil, cmp.Or(firstErr, fmt.Errorf("%w: no data elements", ErrNotDICOM))
}

// parseAs parses the dataset at pos with transfer syntax ts.
func parseAs(data []byte, pos int, meta *dataset, lim Limits, count int, ts string, guessed bool) (*File, error) {
	f := &File{src: data, meta: meta, lim: lim, guessed: guessed}
	f.syntax, _ = lookupSyntax(ts)
	enc := encoding{bo: f.syntax.byteOrder(), implicit: f.syntax.implicit}
	r := &reader{data: data, lim: lim, count: count}
	if f.syntax.deflated {
		inflated, err := inflate(data[pos:], lim.MaxInflatedBytes)
		if err != nil {
			return nil, err
		}
		r = &reader{data: inflated, base: -1, lim: lim, count: count}
		pos = 0
	}
	if !guessed {
		enc = sniffVR(r.data[pos:], enc)
	}
	var err error
	f.ds, _, err = r.dataset(pos, len(r.data), 0, enc, nil, false)
	if err != nil {
		return nil, err
	}
	if len(f.ds.elems) == 0 && len(meta.elems) == 0 {
		return nil, fmt.Errorf("%w: no data elements", ErrNotDICOM)
	}
	f.truncated = r.truncated
	f.img, f.imgErr = f.imageInfo()
	return f, nil
}

// SyntaxGuessed reports whether the file names no transfer syntax, so that the
// one in Summary.TransferSyntax was inferred from the data.
func (f *File) SyntaxGuessed() bool { return f.guessed }

// meta parses the file meta information group (0002), which is always explicit VR
// little endian, though some writers get that wrong.
func (r *reader) meta(pos int) (*dataset, int, error) {
	ds := &dataset{bo: binary.LittleEndian, offset: -1}
	end := len(r.data)
	for end-pos >= 8 && binary.LittleEndian.Uint16(r.data[pos:]) == 0x0002 {
		enc := encoding{bo: binary.LittleEndian}
		if !isVRShape(r.data[pos+4 : pos+6]) {
			enc.implicit = true
		}
		e, next, err := r.element(pos, end, 0, enc, ds)
		if err != nil {
			return nil, 0, fmt.Errorf("file meta information: %w", err)
		}
		ds.elems = append(ds.elems, e)
		pos = next
	}
	return ds, pos, nil
}

// guessSyntaxes returns the transfer syntaxes to try, in order, for a dataset
// without meta information: the one its first element suggests (implicit VR
// little endian unless the VR bytes spell a VR, big endian if the group only
// makes sense that way), then the others.
func guessSyntaxes(b []byte) ([]string, error) {
	if len(b) < 8 {
		return nil, fmt.Errorf("%w: %d bytes is too short for a dataset", ErrNotDICOM, len(b))
	}
	le := binary.LittleEndian.Uint16(b)
	be := binary.BigEndian.Uint16(b)
	explicit := isKnownVR(b[4:6])
	switch {
	case le >= 0x0008 && le <= 0x00FF && explicit:
		return []string{uidExplicitLE, uidImplicitLE}, nil
	case le >= 0x0008 && le <= 0x00FF:
		return []string{uidImplicitLE, uidExplicitLE}, nil
	case be >= 0x0008 && be <= 0x00FF && explicit:
		return []string{uidExplicitBE}, nil
	}
	return nil, fmt.Errorf("%w: no DICM prefix and no plausible first element", ErrNotDICOM)
}

// sniffVR corrects a transfer syntax that lies about explicit versus implicit VR,
// judging by the first element, as DCMTK does.
func sniffVR(b []byte, enc encoding) encoding {
	if len(b) < 8 {
		return enc
	}
	looksExplicit := isKnownVR(b[4:6])
	switch {
	case !enc.implicit && !looksExplicit:
		enc.implicit = true
	case enc.implicit && looksExplicit && enc.bo == binary.LittleEndian:
		t := newTag(binary.LittleEndian.Uint16(b), binary.LittleEndian.Uint16(b[2:]))
		if implicitVR(t) == (vr{b[4], b[5]}) {
			enc.implicit = false
		}
	}
	return enc
}

// inflate inflates a deflated dataset, refusing to produce more than max bytes.
// The standard says raw deflate; some writers add a zlib header, so that is tried
// when raw deflate fails.
func inflate(b []byte, max int64) ([]byte, error) {
	out, err := inflateWith(flate.NewReader(bytes.NewReader(b)), max)
	if err != nil && !errors.Is(err, ErrTooLarge) && len(b) >= 2 && (uint16(b[0])<<8|uint16(b[1]))%31 == 0 {
		if z, zerr := zlib.NewReader(bytes.NewReader(b)); zerr == nil {
			if zout, zerr := inflateWith(z, max); zerr == nil {
				return zout, nil
			}
		}
	}
	return out, err
}

func inflateWith(zr io.ReadCloser, max int64) ([]byte, error) {
	defer zr.Close()
	var out bytes.Buffer
	n, err := out.ReadFrom(io.LimitReader(zr, max+1))
	switch {
	case n > max:
		return nil, fmt.Errorf("%w: deflated dataset inflates to more than %d bytes", ErrTooLarge, max)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return nil, fmt.Errorf("%w: deflated dataset is truncated", ErrMalformed)
	case err != nil:
		return nil, fmt.Errorf("%w: inflate dataset: %v", ErrMalformed, err)
	}
	return out.Bytes(), nil
}
