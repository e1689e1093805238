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
	frames    []frameRef // frames of encapsulated pixel data
	framesErr error

	// at, for a file parsed by ParseAt, reads what src (its start) does not
	// hold: the pixel data; size is the file's size.
	at   io.ReaderAt
	size int64

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
	return parse(data, len(data), nil, lim)
}

// Sizes for ParseAt; tests make them small.
var (
	wholeFileBytes  int64 = 32 << 20  // files up to this size are read whole
	firstHeaderRead int64 = 1 << 20   // the first read of a larger file's start
	maxHeaderRead   int64 = 256 << 20 // a header longer than this is refused
)

// ParseAt parses a DICOM file of size bytes read through r. A small file is
// read whole, as by Parse. Of a larger one only the start is read, up to its
// pixel data, which is read a frame at a time as frames are decoded, so that a
// file larger than memory can be shown. Elements after the pixel data are
// not read.
func ParseAt(r io.ReaderAt, size int64, lim Limits) (*File, error) {
	if size <= wholeFileBytes {
		return parseWhole(r, size, lim)
	}
	for n := firstHeaderRead; ; n *= 4 {
		n = min(n, size)
		b := make([]byte, n)
		if _, err := r.ReadAt(b, 0); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read DICOM header: %w", err)
		}
		f, err := parse(b, int(size), r, lim)
		switch {
		case !errors.Is(err, errNeedMore):
			return f, err
		case n >= size || n >= maxHeaderRead:
			return nil, fmt.Errorf("%w: a header of more than %d bytes", ErrTooLarge, n)
		}
	}
}

// parseWhole reads all size bytes of r and parses them.
func parseWhole(r io.ReaderAt, size int64, lim Limits) (*File, error) {
	b := make([]byte, size)
	if _, err := r.ReadAt(b, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read DICOM file: %w", err)
	}
	return Parse(b, lim)
}

// parse parses data, the start of a file of size bytes whose rest at reads
// (nil when data is the whole file).
func parse(data []byte, size int, at io.ReaderAt, lim Limits) (f *File, err error) {
	defer func() {
		if p := recover(); p != nil { // defence in depth; fuzzing keeps this unused
			f, err = nil, recovered("parse", p)
		}
	}()
	lim = lim.withDefaults()
	r := &reader{data: data, lim: lim, size: size, at: at}
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
		return parseAs(r, pos, meta, r.count, ts, false)
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
		f, err := parseAs(r, pos, meta, r.count, ts, true)
		switch {
		case errors.Is(err, errNeedMore):
			return nil, err
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

// parseAs parses the dataset at pos with transfer syntax ts, with a reader
// like base (whose meta information is parsed).
func parseAs(base *reader, pos int, meta *dataset, count int, ts string, guessed bool) (*File, error) {
	data, lim := base.data, base.lim
	f := &File{src: data, meta: meta, lim: lim, guessed: guessed, at: base.at, size: int64(base.size)}
	f.syntax, _ = lookupSyntax(ts)
	enc := encoding{bo: f.syntax.byteOrder(), implicit: f.syntax.implicit}
	r := &reader{data: data, lim: lim, count: count, size: base.size, at: base.at}
	if f.syntax.deflated {
		// The compressed dataset is read from the file itself when it was
		// not read whole, so that memory holds only what it inflates to.
		open := func() io.Reader { return bytes.NewReader(data[pos:]) }
		if base.at != nil {
			at, off, n := base.at, int64(pos), int64(base.size-pos)
			open = func() io.Reader { return io.NewSectionReader(at, off, n) }
		}
		inflated, err := inflate(open, lim.MaxInflatedBytes)
		if err != nil {
			return nil, err
		}
		r = &reader{data: inflated, base: -1, lim: lim, count: count, size: len(inflated)}
		pos = 0
	}
	if !guessed {
		enc = sniffVR(r.data[pos:], enc)
	}
	var err error
	f.ds, _, err = r.dataset(pos, r.size, 0, enc, nil, false)
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
	end := r.size
	for end-pos >= 8 {
		if err := r.avail(pos, min(12, end-pos)); err != nil {
			return nil, 0, err
		}
		if binary.LittleEndian.Uint16(r.data[pos:]) != 0x0002 {
			break
		}
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

// inflate inflates a deflated dataset read from open, refusing to produce more
// than limit bytes. The standard says raw deflate; some writers add a zlib
// header, so that is tried when raw deflate fails.
func inflate(open func() io.Reader, limit int64) ([]byte, error) {
	out, err := inflateWith(flate.NewReader(open()), limit)
	if err != nil && !errors.Is(err, ErrTooLarge) {
		var hdr [2]byte
		if n, _ := io.ReadFull(open(), hdr[:]); n == 2 && (uint16(hdr[0])<<8|uint16(hdr[1]))%31 == 0 {
			if z, zerr := zlib.NewReader(open()); zerr == nil {
				if zout, zerr := inflateWith(z, limit); zerr == nil {
					return zout, nil
				}
			}
		}
	}
	return out, err
}

// inflateWith reads all of zr, at most limit bytes, in pieces that are then
// copied into one slice of the exact size: at most twice the output in memory,
// where a growing buffer may hold three times as much.
func inflateWith(zr io.ReadCloser, limit int64) ([]byte, error) {
	defer zr.Close()
	var parts [][]byte
	var total int64
	for done := false; !done; {
		b := make([]byte, min(max(total, 64<<10), 4<<20))
		k := 0
		for k < len(b) && !done {
			n, err := zr.Read(b[k:])
			k += n
			switch {
			case err == io.EOF:
				done = true
			case errors.Is(err, io.ErrUnexpectedEOF):
				return nil, fmt.Errorf("%w: deflated dataset is truncated", ErrMalformed)
			case err != nil:
				return nil, fmt.Errorf("%w: inflate dataset: %v", ErrMalformed, err)
			}
		}
		if total += int64(k); total > limit {
			return nil, fmt.Errorf("%w: deflated dataset inflates to more than %d bytes", ErrTooLarge, limit)
		}
		parts = append(parts, b[:k])
	}
	out := make([]byte, 0, total)
	for _, p := range parts {
		out = append(out, p...)
	}
	return out, nil
}
