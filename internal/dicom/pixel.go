package dicom

import (
	"fmt"
	"strings"
)

// imageInfo is the Image Pixel module of a file, checked against the limits.
type imageInfo struct {
	rows, cols, samples int
	bitsAlloc           int
	bitsStored, highBit int
	signed              bool
	planar              bool
	photometric         string
	frames              int
	pixel               *element
	framePixels         int64 // rows × cols × samples
	nativeFrameBytes    int64 // bytes of one native frame
	subsampled422Native bool  // native YBR_FULL_422/YBR_PARTIAL_422 (2 samples per pixel)
	swapOWBytes         bool  // 8-bit pixels in an OW element of a big endian file
}

// imageInfo reads and checks the Image Pixel module.
func (f *File) imageInfo() (*imageInfo, error) {
	ds := f.ds
	pe, ok := ds.find(tagPixelData)
	if !ok {
		if _, fl := ds.find(tagFloatPixelData); fl {
			return nil, fmt.Errorf("%w: float pixel data", ErrUnsupported)
		}
		if _, fl := ds.find(tagDoubleFloatPixelData); fl {
			return nil, fmt.Errorf("%w: double float pixel data", ErrUnsupported)
		}
		return nil, ErrNoPixels
	}
	im := &imageInfo{pixel: pe, frames: 1}
	get := func(t Tag, def int) int {
		if v, ok := ds.int(t); ok {
			return v
		}
		return def
	}
	im.rows, im.cols = get(tagRows, 0), get(tagColumns, 0)
	im.samples = get(tagSamplesPerPixel, 1)
	im.bitsAlloc = get(tagBitsAllocated, 0)
	im.bitsStored = get(tagBitsStored, im.bitsAlloc)
	im.highBit = get(tagHighBit, im.bitsStored-1)
	im.signed = get(tagPixelRepresentation, 0) == 1
	im.planar = get(tagPlanarConfiguration, 0) == 1
	im.photometric = strings.ToUpper(ds.ascii(tagPhotometric))
	if n, ok := ds.int(tagNumberOfFrames); ok {
		im.frames = n
	}
	if im.photometric == "" {
		im.photometric = "MONOCHROME2"
		if im.samples == 3 {
			im.photometric = "RGB"
		}
	}
	switch {
	case im.rows <= 0 || im.cols <= 0 || im.rows > 0xFFFF || im.cols > 0xFFFF:
		return nil, fmt.Errorf("%w: image size %d×%d", ErrMalformed, im.cols, im.rows)
	case im.samples != 1 && im.samples != 3:
		return nil, fmt.Errorf("%w: %d samples per pixel", ErrUnsupported, im.samples)
	case im.bitsAlloc != 1 && im.bitsAlloc != 8 && im.bitsAlloc != 16 && im.bitsAlloc != 32:
		return nil, fmt.Errorf("%w: %d bits allocated", ErrUnsupported, im.bitsAlloc)
	case im.bitsStored < 1 || im.bitsStored > im.bitsAlloc:
		return nil, fmt.Errorf("%w: %d bits stored in %d allocated", ErrMalformed, im.bitsStored, im.bitsAlloc)
	case im.frames < 1:
		return nil, fmt.Errorf("%w: %d frames", ErrMalformed, im.frames)
	}
	if im.highBit < im.bitsStored-1 || im.highBit >= im.bitsAlloc {
		im.highBit = im.bitsStored - 1
	}
	if err := im.checkPhotometric(); err != nil {
		return nil, err
	}
	im.framePixels = int64(im.rows) * int64(im.cols) * int64(im.samples)
	if im.framePixels > f.lim.MaxFramePixels {
		return nil, fmt.Errorf("%w: frame of %d×%d×%d samples, limit %d", ErrTooLarge, im.cols, im.rows, im.samples, f.lim.MaxFramePixels)
	}
	if im.framePixels*int64(im.frames) > f.lim.MaxTotalPixels {
		return nil, fmt.Errorf("%w: %d frames of %d samples, limit %d in total", ErrTooLarge, im.frames, im.framePixels, f.lim.MaxTotalPixels)
	}
	im.nativeFrameBytes = (im.framePixels*int64(im.bitsAlloc) + 7) / 8
	if !f.syntax.encapsulated && strings.HasSuffix(im.photometric, "_422") && im.samples == 3 {
		im.subsampled422Native = true
		im.nativeFrameBytes = int64(im.rows) * int64((im.cols+1)/2*4) * int64(im.bitsAlloc/8)
	}
	if pe.seq != nil && !f.syntax.encapsulated {
		return nil, fmt.Errorf("%w: encapsulated pixel data in a native transfer syntax", ErrMalformed)
	}
	if pe.seq == nil {
		if f.syntax.encapsulated {
			return nil, fmt.Errorf("%w: native pixel data in an encapsulated transfer syntax", ErrMalformed)
		}
		need := im.nativeFrameBytes * int64(im.frames)
		if im.bitsAlloc == 1 {
			need = (im.framePixels*int64(im.frames) + 7) / 8
		}
		if int64(len(pe.value)) < need {
			return nil, fmt.Errorf("%w: pixel data holds %d bytes, %d frames of %d×%d need %d", ErrMalformed, len(pe.value), im.frames, im.cols, im.rows, need)
		}
		im.swapOWBytes = f.syntax.bigEndian && pe.vr == vrOW && im.bitsAlloc == 8
	}
	return im, nil
}

func (im *imageInfo) checkPhotometric() error {
	switch im.photometric {
	case "MONOCHROME1", "MONOCHROME2", "PALETTE COLOR":
		if im.samples != 1 {
			return fmt.Errorf("%w: %s with %d samples per pixel", ErrMalformed, im.photometric, im.samples)
		}
	case "RGB", "YBR_FULL", "YBR_FULL_422", "YBR_PARTIAL_422", "YBR_PARTIAL_420", "YBR_ICT", "YBR_RCT":
		if im.samples != 3 {
			return fmt.Errorf("%w: %s with %d samples per pixel", ErrMalformed, im.photometric, im.samples)
		}
		if im.bitsAlloc == 1 {
			return fmt.Errorf("%w: 1-bit colour", ErrUnsupported)
		}
	default:
		return fmt.Errorf("%w: photometric interpretation %q", ErrUnsupported, im.photometric)
	}
	return nil
}

// HasImage reports whether the file holds pixel data this package can try to
// decode; if not, ImageError says why.
func (f *File) HasImage() bool { return f.img != nil }

// ImageError returns why the file has no decodable image (wrapping ErrNoPixels,
// ErrUnsupported, ErrMalformed or ErrTooLarge), or nil.
func (f *File) ImageError() error { return f.imgErr }

// NumFrames returns the number of frames, 0 if the file holds no image.
func (f *File) NumFrames() int {
	if f.img == nil {
		return 0
	}
	return f.img.frames
}
