package deid

import (
	"bytes"
	"compress/flate"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Transfer syntaxes that change how the dataset is read.
const (
	uidImplicitLE = "1.2.840.10008.1.2"
	uidExplicitLE = "1.2.840.10008.1.2.1"
	uidDeflatedLE = "1.2.840.10008.1.2.1.99"
	uidExplicitBE = "1.2.840.10008.1.2.2"
)

// maxInflated caps a deflated dataset once inflated.
const maxInflated = 1 << 30

// file is a parsed input file.
type file struct {
	prefix   string // "" (a bare dataset), "DICM" or a preamble plus "DICM"
	meta     []*elem
	enc      encoding
	ds       []*elem
	deflated bool
	data     io.ReaderAt // where ranged values live: the input, or the inflated dataset
	dataBase int64       // file offset of data's first byte (0 when inflated)
}

// parseFile reads the structure of a DICOM file: the preamble, the file meta
// information and the dataset, reading values up to readLimit and leaving
// larger ones, pixel data above all, where they are.
func parseFile(r io.ReaderAt, size int64) (*file, error) {
	w := &window{r: r, size: size}
	f := &file{data: r}
	pos := int64(0)
	switch {
	case size >= 132 && hasDICM(w, 128):
		f.prefix, pos = strings.Repeat("\x00", 128)+"DICM", 132
	case size >= 4 && hasDICM(w, 0):
		f.prefix, pos = "DICM", 4
	}
	p := &parser{w: w}
	for size-pos >= 8 {
		b, err := w.at(pos, 6)
		if err != nil {
			return nil, err
		}
		if binary.LittleEndian.Uint16(b) != 0x0002 {
			break
		}
		enc := encoding{}
		if !isVRShape(b[4:6]) {
			enc.implicit = true
		}
		e, next, err := p.element(pos, size, 0, enc)
		if err != nil {
			return nil, fmt.Errorf("file meta information: %w", err)
		}
		f.meta = append(f.meta, e)
		pos = next
	}
	ts := ""
	for _, e := range f.meta {
		if e.tag == tagTransferSynta {
			ts = strings.TrimRight(string(e.value), "\x00 ")
		}
	}
	if f.prefix == "" && len(f.meta) == 0 {
		head, _ := w.at(pos, int(min(size-pos, 12)))
		guess, ok := guessSyntax(head)
		if !ok {
			return nil, ErrNotDICOM
		}
		ts = guess
	}
	switch ts {
	case uidImplicitLE:
		f.enc = implicitLE
	case uidExplicitBE:
		f.enc = encoding{big: true}
	case uidDeflatedLE:
		f.deflated = true
	}
	if f.deflated {
		rest := make([]byte, size-pos)
		if _, err := r.ReadAt(rest, pos); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read deflated dataset: %w", err)
		}
		inflated, err := inflate(rest)
		if err != nil {
			return nil, err
		}
		f.data, f.dataBase = bytes.NewReader(inflated), -1
		w = &window{r: f.data, size: int64(len(inflated))}
		p = &parser{w: w, count: p.count}
		pos, size = 0, int64(len(inflated))
	}
	if head, err := w.at(pos, int(min(size-pos, 8))); err == nil && len(head) == 8 {
		f.enc = sniffVR(head, f.enc)
	}
	ds, _, err := p.dataset(pos, size, 0, f.enc, false)
	if err != nil {
		return nil, err
	}
	if len(ds) == 0 && len(f.meta) == 0 {
		return nil, ErrNotDICOM
	}
	f.ds = ds
	return f, nil
}

func hasDICM(w *window, pos int64) bool {
	b, err := w.at(pos, 4)
	return err == nil && string(b) == "DICM"
}

// guessSyntax guesses the transfer syntax of a dataset without meta information
// from its first element.
func guessSyntax(b []byte) (string, bool) {
	if len(b) < 8 {
		return "", false
	}
	le := binary.LittleEndian.Uint16(b)
	be := binary.BigEndian.Uint16(b)
	explicit := shortVRs[string(b[4:6])] || longVRs[string(b[4:6])]
	switch {
	case le >= 0x0008 && le <= 0x00FF && explicit:
		return uidExplicitLE, true
	case le >= 0x0008 && le <= 0x00FF:
		return uidImplicitLE, true
	case be >= 0x0008 && be <= 0x00FF && explicit:
		return uidExplicitBE, true
	}
	return "", false
}

// sniffVR corrects a transfer syntax that lies about explicit versus implicit
// VR, judging by the first element, as DCMTK does.
func sniffVR(b []byte, enc encoding) encoding {
	looksExplicit := shortVRs[string(b[4:6])] || longVRs[string(b[4:6])]
	switch {
	case !enc.implicit && !looksExplicit:
		enc.implicit = true
	case enc.implicit && looksExplicit && !enc.big && binary.LittleEndian.Uint32(b[4:]) >= 0x10000:
		// Read as implicit, the first element would claim 64 KiB or more:
		// the two letters are a VR.
		enc.implicit = false
	}
	return enc
}

// inflate inflates a deflated dataset: raw deflate as the standard says, or with
// a zlib header as some writers add.
func inflate(b []byte) ([]byte, error) {
	out, err := inflateWith(flate.NewReader(bytes.NewReader(b)))
	if err != nil && len(b) >= 2 && (uint16(b[0])<<8|uint16(b[1]))%31 == 0 {
		if z, zerr := zlib.NewReader(bytes.NewReader(b)); zerr == nil {
			if zout, zerr := inflateWith(z); zerr == nil {
				return zout, nil
			}
		}
	}
	return out, err
}

func inflateWith(zr io.ReadCloser) ([]byte, error) {
	defer zr.Close()
	var out bytes.Buffer
	n, err := out.ReadFrom(io.LimitReader(zr, maxInflated+1))
	switch {
	case n > maxInflated:
		return nil, fmt.Errorf("%w: deflated dataset inflates to more than %d bytes", ErrMalformed, maxInflated)
	case err != nil:
		return nil, fmt.Errorf("%w: inflate dataset: %v", ErrMalformed, err)
	}
	return out.Bytes(), nil
}
