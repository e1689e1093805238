package dicom

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"

	"golang.org/x/image/draw"
)

// Sizes of the viewer's frames.
const (
	// ViewerMaxSide is the longest side of a viewer frame: larger frames are
	// scaled down to it, and shown at full resolution region by region
	// (ExtractOptions.Region) when the viewer zooms in.
	ViewerMaxSide = 4096
	// ScreenMaxSide is the longest side of the screen-sized rendition sent
	// first for frames larger than it, so that a phone shows the image before
	// the whole frame has arrived.
	ScreenMaxSide = 1024
	// MaxRegionSide bounds the sides of a region asked for at full resolution.
	MaxRegionSide = 4096
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
	// Region, if not empty, asks only for that part of Frame (x0, y0, x1, y1 in
	// the frame's own pixels, at most MaxRegionSide on a side) at full
	// resolution, as one Viewer output; nothing else is produced.
	Region [4]int `json:"region"`
}

// OutputKind says what an Output holds.
type OutputKind int

// Kinds of Output.
const (
	// Thumbnail is a JPEG no larger than ExtractOptions.ThumbnailSize.
	Thumbnail OutputKind = iota + 1
	// Rendered is a JPEG of the frame (at most ViewerMaxSide on a side), the
	// viewer's fallback.
	Rendered
	// Viewer is one frame encoded with ViewerFrame.MarshalBinary, at most
	// ViewerMaxSide on a side (or a region of it, at full resolution).
	Viewer
	// ScreenViewer is a frame scaled to at most ScreenMaxSide, in the same
	// encoding, for frames larger than that.
	ScreenViewer
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

// region returns the asked-for region, or false if none was.
func (o ExtractOptions) region() (image.Rectangle, bool) {
	r := image.Rect(o.Region[0], o.Region[1], o.Region[2], o.Region[3])
	return r, !r.Empty()
}

// extract reports the parsed file's summary, then emits the thumbnail, the
// rendered frame and the viewer frames. Frames are decoded one at a time, and
// each is scaled down to ViewerMaxSide as its rows are read, so memory holds at
// most two of those renditions.
func extract(f *File, opt ExtractOptions, summary func(Summary) error, emit func(Output) error) error {
	opt = opt.withDefaults()
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
	if r, ok := opt.region(); ok {
		return f.extractRegion(shown, r, emit)
	}
	fr, err := f.view(shown, viewOptions{maxSide: ViewerMaxSide})
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
			if cur, err = f.view(i, viewOptions{maxSide: ViewerMaxSide}); err != nil {
				return err
			}
		} else {
			shownFrame = nil
		}
		if err := emitViewer(cur, Viewer, emit); err != nil {
			return err
		}
		if max(cur.SourceWidth, cur.SourceHeight) > ScreenMaxSide {
			if err := emitViewer(cur.scaled(ScreenMaxSide), ScreenViewer, emit); err != nil {
				return err
			}
		}
	}
	return nil
}

// extractRegion emits region r of frame i at full resolution.
func (f *File) extractRegion(i int, r image.Rectangle, emit func(Output) error) error {
	if r.Dx() > MaxRegionSide || r.Dy() > MaxRegionSide || r.Min.X < 0 || r.Min.Y < 0 {
		return fmt.Errorf("region %v: at most %d pixels on a side", r, MaxRegionSide)
	}
	fr, err := f.view(i, viewOptions{region: r})
	if err != nil {
		return err
	}
	return emitViewer(fr, Viewer, emit)
}

func emitViewer(fr *Frame, kind OutputKind, emit func(Output) error) error {
	b, err := fr.marshalViewer()
	if err != nil {
		return err
	}
	return emit(Output{Kind: kind, Frame: fr.Index, Data: b})
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
