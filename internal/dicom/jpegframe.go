package dicom

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	stdjpeg "image/jpeg"

	"github.com/medbox-jp/medbox/internal/dicom/jpeg"
)

// decodeJPEG decodes a JPEG frame: 8-bit DCT with the standard library, lossless
// and 12-bit with our own decoder.
func decodeJPEG(data []byte, im *imageInfo) (*rawFrame, error) {
	if prec, sof, ok := jpegFrameHeader(data); ok && prec == 8 && sof <= 0xC2 && sof != 0xC3 {
		rf, err := decodeStdJPEG(data, im)
		if err == nil {
			return rf, nil
		}
		var ue stdjpeg.UnsupportedError
		if !errors.As(err, &ue) {
			return nil, err
		}
	}
	img, err := jpeg.Decode(data, im.framePixels)
	if err != nil {
		return nil, err
	}
	if err := checkGeometry(img.Width, img.Height, img.Components, im); err != nil {
		return nil, err
	}
	return decodedFrame(img.Pix, img.Precision, im, jpegColour(im, img.AdobeTransform, img.ComponentIDs, img.JFIF, img.Lossless)), nil
}

// jpegColour decides whether three JPEG components are RGB or YCbCr. JPEG
// markers say so when present; otherwise the DICOM header is believed.
func jpegColour(im *imageInfo, adobe int, ids []byte, jfif, lossless bool) string {
	switch {
	case im.samples == 1:
		return im.photometric
	case adobe == 0:
		return "RGB"
	case adobe == 1:
		return "YBR_FULL"
	case string(ids) == "RGB":
		return "RGB"
	case jfif && !lossless:
		return "YBR_FULL"
	}
	return monoOr(im, im.photometric)
}

// jpegFrameHeader finds the SOF marker and returns the sample precision and
// marker code.
func jpegFrameHeader(b []byte) (prec int, sof byte, ok bool) {
	for i := 2; i+9 < len(b); {
		if b[i] != 0xFF {
			i++
			continue
		}
		m := b[i+1]
		switch {
		case m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC:
			return int(b[i+4]), m, true
		case m == 0xFF || m == 0x00 || m >= 0xD0 && m <= 0xD9:
			i += 2
		case m == 0xDA:
			return 0, 0, false
		default:
			i += 2 + int(b[i+2])<<8 | int(b[i+3])
		}
	}
	return 0, 0, false
}

// decodeStdJPEG decodes an 8-bit DCT JPEG with image/jpeg, keeping the samples
// as coded (no colour conversion).
func decodeStdJPEG(data []byte, im *imageInfo) (*rawFrame, error) {
	cfg, err := stdjpeg.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	if cfg.Width != im.cols || cfg.Height != im.rows {
		return nil, checkGeometry(cfg.Width, cfg.Height, im.samples, im)
	}
	img, err := stdjpeg.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	w, h := im.cols, im.rows
	pix := make([]uint16, w*h*im.samples)
	var photometric string
	switch m := img.(type) {
	case *image.Gray:
		if im.samples != 1 {
			return nil, checkGeometry(w, h, 1, im)
		}
		for y := range h {
			for x := range w {
				pix[y*w+x] = uint16(m.Pix[y*m.Stride+x])
			}
		}
		photometric = im.photometric
	case *image.YCbCr:
		if im.samples != 3 {
			return nil, checkGeometry(w, h, 3, im)
		}
		cb, cr := chroma(m)
		for y := range h {
			for x := range w {
				o := 3 * (y*w + x)
				pix[o], pix[o+1], pix[o+2] = uint16(m.Y[m.YOffset(x, y)]), uint16(cb[y*w+x]), uint16(cr[y*w+x])
			}
		}
		photometric = jpegColour(im, -1, nil, hasJFIF(data), false)
	case *image.RGBA:
		if im.samples != 3 {
			return nil, checkGeometry(w, h, 3, im)
		}
		for y := range h {
			for x := range w {
				o, s := 3*(y*w+x), y*m.Stride+4*x
				pix[o], pix[o+1], pix[o+2] = uint16(m.Pix[s]), uint16(m.Pix[s+1]), uint16(m.Pix[s+2])
			}
		}
		photometric = "RGB"
	default:
		return nil, fmt.Errorf("%w: JPEG colour model %T", ErrUnsupported, img)
	}
	return decodedFrame(pix, 8, im, photometric), nil
}

func hasJFIF(b []byte) bool {
	return len(b) > 12 && bytes.Contains(b[:min(len(b), 64)], []byte("JFIF\x00"))
}

// chroma returns the Cb and Cr planes of m at full resolution, upsampled the way
// libjpeg does (image/jpeg only replicates).
func chroma(m *image.YCbCr) (cb, cr []int32) {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	hf, vf := 1, 1
	switch m.SubsampleRatio {
	case image.YCbCrSubsampleRatio422:
		hf = 2
	case image.YCbCrSubsampleRatio420:
		hf, vf = 2, 2
	case image.YCbCrSubsampleRatio440:
		vf = 2
	case image.YCbCrSubsampleRatio411:
		hf = 4
	case image.YCbCrSubsampleRatio410:
		hf, vf = 4, 2
	}
	sw, sh := (w+hf-1)/hf, (h+vf-1)/vf
	plane := func(p []uint8) []int32 {
		src := make([]int32, sw*sh)
		for y := range sh {
			for x := range sw {
				src[y*sw+x] = int32(p[y*m.CStride+x])
			}
		}
		return jpeg.Upsample(src, sw, sh, sw, hf, vf, w, h)
	}
	return plane(m.Cb), plane(m.Cr)
}
