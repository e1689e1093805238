package dicom

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/medbox-jp/medbox/internal/dicom/j2k"
)

// j2kHeader is what we need from a JPEG 2000 main header.
type j2kHeader struct {
	width, height, comps int
	precision            int
	signed               bool
	mct                  bool
}

// parseJ2K reads the SIZ and COD markers of a codestream.
func parseJ2K(cs []byte) (*j2kHeader, error) {
	if len(cs) < 4 || cs[0] != 0xFF || cs[1] != 0x4F {
		return nil, fmt.Errorf("%w: JPEG 2000 codestream without SOC", ErrMalformed)
	}
	h := &j2kHeader{}
	for pos := 2; pos+4 <= len(cs); {
		if cs[pos] != 0xFF {
			return nil, fmt.Errorf("%w: JPEG 2000 main header", ErrMalformed)
		}
		m := cs[pos+1]
		n := int(binary.BigEndian.Uint16(cs[pos+2:]))
		if m == 0x90 || m == 0x93 { // SOT or SOD: end of the main header
			break
		}
		if n < 2 || pos+2+n > len(cs) {
			return nil, fmt.Errorf("%w: JPEG 2000 marker length %d", ErrMalformed, n)
		}
		seg := cs[pos+4 : pos+2+n]
		switch m {
		case 0x51: // SIZ
			if len(seg) < 36 {
				return nil, fmt.Errorf("%w: short SIZ", ErrMalformed)
			}
			u := func(o int) int64 { return int64(binary.BigEndian.Uint32(seg[o:])) }
			xs, ys, xo, yo := u(2), u(6), u(10), u(14)
			xt, yt, xto, yto := u(18), u(22), u(26), u(30)
			nc := int(binary.BigEndian.Uint16(seg[34:]))
			if xt == 0 || yt == 0 || xs <= xo || ys <= yo || xto > xo || yto > yo || nc < 1 || len(seg) < 36+3*nc {
				return nil, fmt.Errorf("%w: SIZ geometry", ErrMalformed)
			}
			h.width, h.height, h.comps = int(xs-xo), int(ys-yo), nc
			h.precision, h.signed = int(seg[36]&0x7F)+1, seg[36]&0x80 != 0
		case 0x52: // COD
			if len(seg) >= 5 {
				h.mct = seg[4] != 0
			}
		}
		pos += 2 + n
	}
	if h.width == 0 {
		return nil, fmt.Errorf("%w: JPEG 2000 codestream without SIZ", ErrMalformed)
	}
	return h, nil
}

// codestream returns the J2K codestream of a frame, unwrapping a JP2 file.
func codestream(b []byte) ([]byte, error) {
	if !bytes.HasPrefix(b, []byte{0, 0, 0, 0x0C, 'j', 'P', ' ', ' '}) {
		return b, nil
	}
	for pos := 0; pos+8 <= len(b); {
		n := int64(binary.BigEndian.Uint32(b[pos:]))
		typ := string(b[pos+4 : pos+8])
		hdr := int64(8)
		switch n {
		case 0:
			n = int64(len(b) - pos)
		case 1:
			if pos+16 > len(b) {
				return nil, fmt.Errorf("%w: JP2 box", ErrMalformed)
			}
			n, hdr = int64(binary.BigEndian.Uint64(b[pos+8:])), 16
		}
		if n < hdr || n > int64(len(b)-pos) {
			return nil, fmt.Errorf("%w: JP2 box length", ErrMalformed)
		}
		if typ == "jp2c" {
			return b[pos+int(hdr) : pos+int(n)], nil
		}
		pos += int(n)
	}
	return nil, fmt.Errorf("%w: JP2 file without codestream", ErrMalformed)
}

// decodeJ2K decodes a JPEG 2000 frame with our own decoder (package j2k).
// github.com/mrjoshuak/go-jpeg2000 v1.0.0 was tried and is not a dependency: its
// Decode never decodes packets and returns a flat image.
func decodeJ2K(data []byte, im *imageInfo) (*rawFrame, error) {
	cs, err := codestream(data)
	if err != nil {
		return nil, err
	}
	h, err := parseJ2K(cs)
	if err != nil {
		return nil, err
	}
	if err := checkGeometry(h.width, h.height, h.comps, im); err != nil {
		return nil, err
	}
	img, err := j2k.Decode(cs, im.framePixels)
	if err != nil {
		return nil, err
	}
	if err := checkGeometry(img.Width, img.Height, img.Components, im); err != nil {
		return nil, err
	}
	photometric := im.photometric
	if img.Components == 3 && (img.MCT || photometric == "YBR_RCT" || photometric == "YBR_ICT") {
		photometric = "RGB"
	}
	// Signed samples go on as their two's complement patterns.
	rf := decodedFrame(img.Pix, img.Precision, im, monoOr(im, photometric))
	if img.Signed && !im.signed {
		rf.signed, rf.bits = true, img.Precision
	}
	return rf, nil
}
