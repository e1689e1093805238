package dicom

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"

	"golang.org/x/image/draw"
)

// ExtractOptions say what Guard.Extract produces.
type ExtractOptions struct {
	// ThumbnailSize is the longest edge of the thumbnail in pixels (default 256).
	ThumbnailSize int `json:"thumbnail_size"`
	// Quality is the JPEG quality of the thumbnail and the rendered frame
	// (default 85).
	Quality int `json:"quality"`
	// Frame is the frame shown by the thumbnail and the rendered JPEG; -1 means
	// the middle frame.
	Frame int `json:"frame"`
	// Window renders the thumbnail and the JPEG; zero means the default window.
	Window Window `json:"window"`
	// SkipViewer leaves out the viewer frames.
	SkipViewer bool `json:"skip_viewer"`
	// MaxViewerFrames caps how many viewer frames are emitted (0: all).
	MaxViewerFrames int `json:"max_viewer_frames"`
}

// OutputKind says what an Output holds.
type OutputKind int

// Kinds of Output.
const (
	// Thumbnail is a JPEG no larger than ExtractOptions.ThumbnailSize.
	Thumbnail OutputKind = iota + 1
	// Rendered is a full-size JPEG of the frame, the viewer's fallback.
	Rendered
	// Viewer is one frame encoded with ViewerFrame.MarshalBinary.
	Viewer
)

// Output is one product of Extract, delivered as soon as it is ready.
type Output struct {
	Kind  OutputKind
	Frame int
	Data  []byte
}

func (o ExtractOptions) withDefaults() ExtractOptions {
	if o.ThumbnailSize <= 0 {
		o.ThumbnailSize = 256
	}
	if o.Quality <= 0 || o.Quality > 100 {
		o.Quality = 85
	}
	return o
}

// extract parses data, reports its summary, then emits the thumbnail, the
// rendered frame and the viewer frames, one at a time so that memory holds at
// most two decoded frames.
func extract(data []byte, lim Limits, opt ExtractOptions, summary func(Summary) error, emit func(Output) error) error {
	opt = opt.withDefaults()
	f, err := Parse(data, lim)
	if err != nil {
		return err
	}
	if err := summary(f.Summary()); err != nil {
		return err
	}
	if !f.HasImage() {
		return f.ImageError()
	}
	n := f.NumFrames()
	shown := opt.Frame
	if shown < 0 || shown >= n {
		shown = 0
		if opt.Frame < 0 {
			shown = n / 2
		}
	}
	fr, err := f.Frame(shown)
	if err != nil {
		return err
	}
	img := fr.Render(opt.Window)
	thumb, err := encodeJPEG(scaleDown(img, opt.ThumbnailSize), opt.Quality)
	if err != nil {
		return err
	}
	if err := emit(Output{Kind: Thumbnail, Frame: shown, Data: thumb}); err != nil {
		return err
	}
	full, err := encodeJPEG(img, opt.Quality)
	if err != nil {
		return err
	}
	if err := emit(Output{Kind: Rendered, Frame: shown, Data: full}); err != nil {
		return err
	}
	if opt.SkipViewer {
		return nil
	}
	if opt.MaxViewerFrames > 0 {
		n = min(n, opt.MaxViewerFrames)
	}
	shownFrame := fr
	fr, img, full, thumb = nil, nil, nil, nil
	for i := range n {
		cur := shownFrame
		if i != shown {
			if cur, err = f.Frame(i); err != nil {
				return err
			}
		} else {
			shownFrame = nil
		}
		b, err := cur.Viewer().MarshalBinary()
		if err != nil {
			return err
		}
		if err := emit(Output{Kind: Viewer, Frame: i, Data: b}); err != nil {
			return err
		}
	}
	return nil
}

// scaleDown shrinks img so that its longest edge is at most size.
func scaleDown(img image.Image, size int) image.Image {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= size && h <= size {
		return img
	}
	if w >= h {
		w, h = size, max(1, h*size/w)
	} else {
		w, h = max(1, w*size/h), size
	}
	var dst draw.Image
	if _, ok := img.(*image.Gray); ok {
		dst = image.NewGray(image.Rect(0, 0, w, h))
	} else {
		dst = image.NewRGBA(image.Rect(0, 0, w, h))
	}
	draw.CatmullRom.Scale(dst, dst.Bounds(), img, b, draw.Src, nil)
	return dst
}

func encodeJPEG(img image.Image, quality int) ([]byte, error) {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality}); err != nil {
		return nil, fmt.Errorf("encode JPEG: %w", err)
	}
	return buf.Bytes(), nil
}
