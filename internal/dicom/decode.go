package dicom

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/medbox-jp/medbox/internal/dicom/jpegls"
)

// forceGDCM makes raw skip our own decoders; tests set it to check the fallback.
var forceGDCM bool

// raw returns frame i as samples ready for unpack, and the image description
// they follow (that of the GDCM output when GDCM decoded them).
func (f *File) raw(i int) (*rawFrame, *imageInfo, error) {
	im := f.img
	if !f.syntax.encapsulated {
		rf, err := f.native(i)
		return rf, im, err
	}
	var err error
	if !forceGDCM {
		var rf *rawFrame
		if rf, err = f.decodeFrame(i); err == nil {
			return rf, im, nil
		}
	} else {
		err = errors.New("own decoders disabled")
	}
	if f.lim.GDCM == nil {
		return nil, nil, err
	}
	g, gerr := f.viaGDCM()
	if gerr != nil {
		return nil, nil, fmt.Errorf("%w (gdcm fallback: %w)", err, gerr)
	}
	return nativeFrame(g.img, g.syntax, i), g.img, nil
}

// newRaw returns a raw frame of im's geometry and sample description.
func (im *imageInfo) newRaw(data []byte, bo binary.ByteOrder) *rawFrame {
	return &rawFrame{
		data: data, bo: bo, bitsAlloc: im.bitsAlloc, planar: im.planar,
		photometric: im.photometric, shift: im.highBit + 1 - im.bitsStored,
		bits: im.bitsStored, signed: im.signed, w: im.cols, h: im.rows, spp: im.samples,
	}
}

// nativeFrame returns frame i of native pixel data. Frames of 1- and 12-bit
// samples are packed without padding, so they are located by bit offset.
func nativeFrame(im *imageInfo, s syntax, i int) *rawFrame {
	rf := im.newRaw(im.pixel.value, s.byteOrder())
	rf.sub422, rf.swap8 = im.subsampled422Native, im.swapOWBytes
	switch im.bitsAlloc {
	case 1, 12:
		rf.off = int64(i) * im.framePixels * int64(im.bitsAlloc)
	default:
		rf.off = int64(i) * im.nativeFrameBytes
	}
	if rf.sub422 {
		rf.planar = false
	}
	return rf
}

// native returns native frame i, reading it from the file if ParseAt left it
// there.
func (f *File) native(i int) (*rawFrame, error) {
	im := f.img
	lz := im.pixel.lazy
	if lz == nil {
		return nativeFrame(im, f.syntax, i), nil
	}
	// Read the bytes the frame covers, from an even offset so that byte-swapped
	// 8-bit samples keep their pairs.
	rf := nativeFrame(im, f.syntax, i)
	var start, n int64
	switch im.bitsAlloc {
	case 1, 12:
		start, n = rf.off/16*2, (im.framePixels*int64(im.bitsAlloc)+15)/8+2
		rf.off -= start * 8
	default:
		start, n = rf.off&^1, im.nativeFrameBytes+1
		rf.off -= start
	}
	n = min(n, int64(lz.n)-start)
	if n <= 0 {
		rf.data = nil
		return rf, nil
	}
	b, err := f.fragmentBytes(fragment{off: lz.off + start, n: int(n)})
	if err != nil {
		return nil, err
	}
	rf.data = b
	return rf, nil
}

// decodeFrame decodes frame i of encapsulated pixel data with our own decoders.
// The last frame of a truncated file is decoded as far as its data goes and
// padded with zeros; if its decoder cannot make anything of it, it is all zeros.
func (f *File) decodeFrame(i int) (*rawFrame, error) {
	ef, err := f.encoded(i)
	if err != nil {
		return nil, err
	}
	im := f.img
	rf, err := f.decodeEncoded(ef, im)
	if err != nil && ef.partial && !errors.Is(err, ErrUnsupported) {
		rf, err = im.newRaw(nil, binary.LittleEndian), nil
		rf.photometric = monoOr(im, "RGB")
	}
	return rf, err
}

func (f *File) decodeEncoded(ef encodedFrame, im *imageInfo) (*rawFrame, error) {
	data := ef.data
	switch f.syntax.codec {
	case codecRLE:
		return decodeRLE(ef, im)
	case codecDeflate:
		return decodeDeflated(ef, im)
	case codecJPEG, codecJPEGLossless:
		return decodeJPEG(data, im)
	case codecJPEGLS:
		img, err := jpegls.Decode(data, im.framePixels)
		if err != nil {
			return nil, err
		}
		if err := checkGeometry(img.Width, img.Height, img.Components, im); err != nil {
			return nil, err
		}
		return decodedFrame(img.Pix, img.Precision, im, monoOr(im, im.photometric)), nil
	case codecJPEG2000:
		return decodeJ2K(data, im)
	}
	return nil, fmt.Errorf("%w: transfer syntax %s", ErrUnsupported, f.syntax.uid)
}

// checkGeometry checks a decoded image against the DICOM header.
func checkGeometry(w, h, comps int, im *imageInfo) error {
	if w != im.cols || h != im.rows || comps != im.samples {
		return fmt.Errorf("%w: codestream is %d×%d×%d, header says %d×%d×%d",
			ErrMalformed, w, h, comps, im.cols, im.rows, im.samples)
	}
	return nil
}

// monoOr returns the photometric interpretation of decoded, full-resolution
// samples: a 4:2:2 or 4:2:0 label no longer describes them.
func monoOr(im *imageInfo, colour string) string {
	if im.samples == 1 {
		return im.photometric
	}
	switch colour {
	case "YBR_FULL_422":
		return "YBR_FULL"
	case "YBR_PARTIAL_420":
		return "YBR_PARTIAL_422"
	}
	return colour
}

// decodedFrame wraps decoder output (unsigned bit patterns of prec bits) as a
// little-endian raw frame.
func decodedFrame[T uint16 | int32](pix []T, prec int, im *imageInfo, photometric string) *rawFrame {
	bits := max(prec, im.bitsStored)
	if im.signed {
		bits = im.bitsStored // the codec coded two's complement patterns of BitsStored bits
	}
	rf := &rawFrame{bo: binary.LittleEndian, photometric: photometric, bits: min(bits, 16), signed: im.signed,
		w: im.cols, h: im.rows, spp: im.samples}
	if prec <= 8 && !im.signed {
		rf.bitsAlloc = 8
		rf.data = make([]byte, len(pix))
		for k, v := range pix {
			rf.data[k] = byte(v)
		}
		return rf
	}
	rf.bitsAlloc = 16
	rf.data = make([]byte, 2*len(pix))
	for k, v := range pix {
		binary.LittleEndian.PutUint16(rf.data[2*k:], uint16(v))
	}
	return rf
}
