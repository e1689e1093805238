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
	frames              int // declared
	present             int // frames with at least some data: fewer than frames in a truncated file
	incomplete          bool
	float               int // 32 or 64 for Float and Double Float Pixel Data, else 0
	pixel               *element
	framePixels         int64 // rows × cols × samples
	nativeFrameBytes    int64 // bytes of one native frame (rounded up for 1- and 12-bit samples)
	subsampled422Native bool  // native YBR_FULL_422/YBR_PARTIAL_422 (2 samples per pixel)
	swapOWBytes         bool  // 8-bit pixels in an OW element of a big endian file
}

// imageInfo reads and checks the Image Pixel module.
func (f *File) imageInfo() (*imageInfo, error) {
	ds := f.ds
	im := &imageInfo{frames: 1}
	pe, ok := ds.find(tagPixelData)
	if !ok {
		if pe, ok = ds.find(tagFloatPixelData); ok {
			im.float = 32
		} else if pe, ok = ds.find(tagDoubleFloatPixelData); ok {
			im.float = 64
		} else {
			return nil, ErrNoPixels
		}
	}
	im.pixel = pe
	get := func(t Tag, def int) int {
		if v, ok := ds.int(t); ok {
			return v
		}
		return def
	}
	im.rows, im.cols = get(tagRows, 0), get(tagColumns, 0)
	im.samples = get(tagSamplesPerPixel, 1)
	im.bitsAlloc = get(tagBitsAllocated, 0)
	if im.float != 0 {
		// Float pixel data has no BitsStored, HighBit or PixelRepresentation.
		im.bitsAlloc, im.bitsStored, im.highBit, im.signed = im.float, im.float, im.float-1, true
	} else {
		im.bitsStored = get(tagBitsStored, im.bitsAlloc)
		im.highBit = get(tagHighBit, im.bitsStored-1)
		im.signed = get(tagPixelRepresentation, 0) == 1
	}
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
	case im.float != 0 && (im.samples != 1 || f.syntax.encapsulated):
		return nil, fmt.Errorf("%w: float pixel data with %d samples in %s", ErrUnsupported, im.samples, f.syntax.uid)
	case im.float == 0 && im.bitsAlloc != 1 && im.bitsAlloc != 8 && im.bitsAlloc != 12 && im.bitsAlloc != 16 && im.bitsAlloc != 32:
		return nil, fmt.Errorf("%w: %d bits allocated", ErrUnsupported, im.bitsAlloc)
	case im.bitsAlloc == 12 && (f.syntax.encapsulated || im.samples != 1):
		return nil, fmt.Errorf("%w: packed 12-bit samples in %s", ErrUnsupported, f.syntax.uid)
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
	if limit := f.lim.wholeFrameLimit(f.syntax.codec); limit > 0 && im.framePixels > limit {
		return nil, fmt.Errorf("%w: a %d×%d×%d frame decoded whole, limit %d samples", ErrTooLarge, im.cols, im.rows, im.samples, limit)
	}
	im.nativeFrameBytes = storedBytes(im.framePixels, im.bitsAlloc)
	if !f.syntax.encapsulated && strings.HasSuffix(im.photometric, "_422") && im.samples == 3 {
		im.subsampled422Native = true
		im.nativeFrameBytes = int64(im.rows) * int64((im.cols+1)/2*4) * int64(im.bitsAlloc/8)
	}
	im.present = im.frames
	if pe.seq != nil && !f.syntax.encapsulated {
		return nil, fmt.Errorf("%w: encapsulated pixel data in a native transfer syntax", ErrMalformed)
	}
	if pe.seq == nil {
		if f.syntax.encapsulated && im.float == 0 {
			return nil, fmt.Errorf("%w: native pixel data in an encapsulated transfer syntax", ErrMalformed)
		}
		if err := im.checkNativeLength(f.truncated); err != nil {
			return nil, err
		}
		im.swapOWBytes = f.syntax.bigEndian && pe.vr == vrOW && im.bitsAlloc == 8
	} else if f.truncated {
		f.img = im // encodedFrames reads it
		frames, err := f.encodedFrames()
		if err != nil {
			return nil, err
		}
		if len(frames) < im.frames || frames[len(frames)-1].partial {
			im.present, im.incomplete = len(frames), true
		}
	}
	return im, nil
}

// checkNativeLength checks that native pixel data holds every frame. In a file
// that ends early, the frames that have at least one byte are shown, the last
// one padded with zeros, and the image is marked incomplete.
func (im *imageInfo) checkNativeLength(truncated bool) error {
	have := im.pixel.length() * 8 // bits
	frameBits := im.nativeFrameBytes * 8
	if im.bitsAlloc == 1 || im.bitsAlloc == 12 {
		frameBits = im.framePixels * int64(im.bitsAlloc)
	}
	need := frameBits * int64(im.frames)
	if have >= need {
		return nil
	}
	if !truncated || have == 0 {
		return fmt.Errorf("%w: pixel data holds %d bytes, %d frames of %d×%d need %d", ErrMalformed, have/8, im.frames, im.cols, im.rows, (need+7)/8)
	}
	im.present = int((have + frameBits - 1) / frameBits)
	im.incomplete = true
	return nil
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

// NumFrames returns the number of frames that can be decoded, 0 if the file
// holds no image. In a truncated file it counts the frames that have at least
// some data (see Incomplete), which may be fewer than the file declares.
func (f *File) NumFrames() int {
	if f.img == nil {
		return 0
	}
	return f.img.present
}

// Incomplete reports whether the file ends before all of its pixel data: some
// frames are missing and the last one shown may be padded with zeros.
func (f *File) Incomplete() bool { return f.img != nil && f.img.incomplete }
