package preview

import (
	"bytes"
	"encoding/binary"
	"image"
	"io"
)

// orientation returns the EXIF orientation (1–8) of an image, or 1 when it has
// none or it cannot be read. It looks only at the start of the file: JPEG APP1
// segments, a TIFF's first IFD, PNG's eXIf chunk and WebP's EXIF chunk. (HEIC is
// not asked: its decoder applies the container's own rotation, and the EXIF
// orientation there only repeats it.)
func orientation(format string, r io.ReaderAt, size int64) int {
	switch format {
	case "tiff":
		return tiffOrientation(r, size)
	case "jpeg":
		if x := jpegEXIF(readHead(r, size, 256<<10)); x != nil {
			return tiffOrientation(bytes.NewReader(x), int64(len(x)))
		}
	case "png":
		if x := pngEXIF(readHead(r, size, 1<<20)); x != nil {
			return tiffOrientation(bytes.NewReader(x), int64(len(x)))
		}
	case "webp":
		if x := webpEXIF(readHead(r, size, 1<<20)); x != nil {
			return tiffOrientation(bytes.NewReader(x), int64(len(x)))
		}
	}
	return 1
}

func readHead(r io.ReaderAt, size, n int64) []byte {
	b := make([]byte, min(size, n))
	k, _ := r.ReadAt(b, 0)
	return b[:k]
}

// jpegEXIF returns the TIFF structure of a JPEG's Exif APP1 segment.
func jpegEXIF(b []byte) []byte {
	if len(b) < 4 || b[0] != 0xFF || b[1] != 0xD8 {
		return nil
	}
	for i := 2; i+4 <= len(b); {
		if b[i] != 0xFF {
			return nil
		}
		marker := b[i+1]
		if marker == 0xFF { // fill byte
			i++
			continue
		}
		if marker == 0xDA || marker == 0xD9 { // start of scan, end of image
			return nil
		}
		n := int(binary.BigEndian.Uint16(b[i+2:]))
		if n < 2 || i+2+n > len(b) {
			return nil
		}
		seg := b[i+4 : i+2+n]
		if marker == 0xE1 && bytes.HasPrefix(seg, []byte("Exif\x00\x00")) {
			return seg[6:]
		}
		i += 2 + n
	}
	return nil
}

// pngEXIF returns the content of a PNG's eXIf chunk, which comes before IDAT.
func pngEXIF(b []byte) []byte {
	if !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
		return nil
	}
	for i := 8; i+8 <= len(b); {
		n := int(binary.BigEndian.Uint32(b[i:]))
		typ := string(b[i+4 : i+8])
		if n < 0 || i+12+n > len(b) || typ == "IDAT" {
			return nil
		}
		if typ == "eXIf" {
			return b[i+8 : i+8+n]
		}
		i += 12 + n
	}
	return nil
}

// webpEXIF returns the content of a WebP's EXIF chunk.
func webpEXIF(b []byte) []byte {
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WEBP" {
		return nil
	}
	for i := 12; i+8 <= len(b); {
		n := int(binary.LittleEndian.Uint32(b[i+4:]))
		if n < 0 || i+8+n > len(b) {
			return nil
		}
		if string(b[i:i+4]) == "EXIF" {
			return bytes.TrimPrefix(b[i+8:i+8+n], []byte("Exif\x00\x00"))
		}
		i += 8 + n + n%2
	}
	return nil
}

// tiffOrientation reads tag 0x0112 from the first IFD of a TIFF structure.
func tiffOrientation(r io.ReaderAt, size int64) int {
	var hdr [8]byte
	if size < 8 {
		return 1
	}
	if _, err := r.ReadAt(hdr[:], 0); err != nil {
		return 1
	}
	var bo binary.ByteOrder
	switch string(hdr[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 1
	}
	if bo.Uint16(hdr[2:]) != 42 {
		return 1
	}
	ifd := int64(bo.Uint32(hdr[4:]))
	var cnt [2]byte
	if ifd < 8 || ifd+2 > size {
		return 1
	}
	if _, err := r.ReadAt(cnt[:], ifd); err != nil {
		return 1
	}
	n := int64(bo.Uint16(cnt[:]))
	if ifd+2+12*n > size {
		return 1
	}
	entries := make([]byte, 12*n)
	if _, err := r.ReadAt(entries, ifd+2); err != nil {
		return 1
	}
	for k := int64(0); k < n; k++ {
		e := entries[12*k:]
		if bo.Uint16(e) != 0x0112 {
			continue
		}
		if bo.Uint16(e[2:]) != 3 { // SHORT
			return 1
		}
		if v := int(bo.Uint16(e[8:])); v >= 1 && v <= 8 {
			return v
		}
		return 1
	}
	return 1
}

// orient returns img turned upright according to EXIF orientation o: mirrored
// and rotated so that it shows as its camera meant. Orientations 5–8 swap width
// and height.
func orient(img *image.RGBA, o int) *image.RGBA {
	if o <= 1 || o > 8 {
		return img
	}
	w, h := img.Rect.Dx(), img.Rect.Dy()
	dw, dh := w, h
	if o >= 5 {
		dw, dh = h, w
	}
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))
	for y := range dh {
		for x := range dw {
			var sx, sy int
			switch o {
			case 2:
				sx, sy = w-1-x, y
			case 3:
				sx, sy = w-1-x, h-1-y
			case 4:
				sx, sy = x, h-1-y
			case 5:
				sx, sy = y, x
			case 6:
				sx, sy = y, h-1-x
			case 7:
				sx, sy = w-1-y, h-1-x
			case 8:
				sx, sy = w-1-y, x
			}
			si := img.PixOffset(sx, sy)
			di := dst.PixOffset(x, y)
			copy(dst.Pix[di:di+4], img.Pix[si:si+4])
		}
	}
	return dst
}
