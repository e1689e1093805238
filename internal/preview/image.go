package preview

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"

	"github.com/gen2brain/heic"
	"golang.org/x/image/draw"
	"golang.org/x/image/tiff"
	"golang.org/x/image/webp"

	"github.com/medbox-jp/medbox/internal/box"
)

// imageFormats are the image types that get previews, by decoder.
var imageFormats = map[string]string{
	"image/jpeg": "jpeg", "image/png": "png", "image/gif": "gif", "image/webp": "webp",
	"image/tiff": "tiff", "image/heic": "heic", "image/heif": "heic",
}

// browserShows are the image types every browser shows itself; the rest (HEIC,
// TIFF) get a full-size JPEG rendition.
var browserShows = map[string]bool{"image/jpeg": true, "image/png": true, "image/gif": true, "image/webp": true}

const (
	// ThumbSize is the longest edge of a thumbnail in pixels (160 CSS pixels on
	// a 2× phone screen).
	ThumbSize = 320
	// maxRendition is the longest edge of a full-size rendition: 48 Mpixel
	// phone photos stay full size; larger ones are scaled down to it.
	maxRendition = 8192
)

// makeImage makes a thumbnail, and a full-size JPEG when browsers cannot show
// the file as it is: HEIC, TIFF, or an image whose EXIF orientation must be
// applied. Animated GIFs keep their animation: they are shown as they are.
func (s *Service) makeImage(ctx context.Context, f box.File, in *sourceReader, st *counting) (outcome, error) {
	format := imageFormats[f.ContentType]
	o := 1
	if format != "heic" && format != "gif" {
		o = orientation(format, in, f.Size)
	}
	select {
	case s.decode <- struct{}{}:
	case <-ctx.Done():
		return outcome{}, ctx.Err()
	}
	defer func() { <-s.decode }()
	img, err := s.decodeImage(format, in, f.Size)
	if err != nil {
		return outcome{}, err
	}
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	if o >= 5 {
		w, h = h, w
	}
	out := outcome{width: w, height: h}
	if !browserShows[f.ContentType] || o > 1 {
		fw, fh := fit(w, h, maxRendition)
		b, err := encodeJPEG(upright(img, fw, fh, o), 90)
		if err != nil {
			return outcome{}, err
		}
		if err := st.put(ctx, fullKey(f.ID), b); err != nil {
			return outcome{}, err
		}
		out.full, out.width, out.height = true, fw, fh
	}
	tw, th := fit(w, h, ThumbSize)
	b, err := encodeJPEG(upright(img, tw, th, o), 85)
	if err != nil {
		return outcome{}, err
	}
	if err := st.put(ctx, thumbKey(f.ID), b); err != nil {
		return outcome{}, err
	}
	out.thumb, out.thumbWidth, out.thumbHeight = true, tw, th
	return out, nil
}

// decodeImage decodes an untrusted image after checking from its header that
// its pixels fit the limits; a decoder's panic is a file that cannot be shown.
func (s *Service) decodeImage(format string, in *sourceReader, size int64) (img image.Image, err error) {
	defer func() {
		if p := recover(); p != nil {
			img, err = nil, cannot(ReasonCannotPreview, "%s decoder panicked: %v", format, p)
		}
	}()
	check := func(cfg image.Config, err error) error {
		switch {
		case err != nil:
			return cannot(ReasonCannotPreview, "%s header: %w", format, err)
		case cfg.Width <= 0 || cfg.Height <= 0:
			return cannot(ReasonCannotPreview, "%s of %d×%d pixels", format, cfg.Width, cfg.Height)
		case int64(cfg.Width)*int64(cfg.Height) > s.lim.MaxImagePixels:
			return cannot(ReasonTooLarge, "%s of %d×%d pixels", format, cfg.Width, cfg.Height)
		}
		return nil
	}
	switch format {
	case "heic":
		if size > s.lim.MaxImageBytes {
			return nil, cannot(ReasonTooLarge, "HEIC of %d bytes", size)
		}
		data := make([]byte, size)
		if _, err := in.ReadAt(data, 0); err != nil && err != io.EOF {
			return nil, cannot(ReasonCannotPreview, "read HEIC: %w", err)
		}
		if err := check(heic.DecodeConfig(bytes.NewReader(data))); err != nil {
			return nil, err
		}
		img, err = heic.Decode(bytes.NewReader(data))
	case "tiff":
		ra := newBlockReader(in, size)
		if err := check(tiff.DecodeConfig(io.NewSectionReader(ra, 0, size))); err != nil {
			return nil, err
		}
		img, err = tiff.Decode(io.NewSectionReader(ra, 0, size))
	default:
		open := func() io.Reader { return bufio.NewReaderSize(io.NewSectionReader(in, 0, size), 256<<10) }
		var cfg func(io.Reader) (image.Config, error)
		var dec func(io.Reader) (image.Image, error)
		switch format {
		case "jpeg":
			cfg, dec = jpeg.DecodeConfig, jpeg.Decode
		case "png":
			cfg, dec = png.DecodeConfig, png.Decode
		case "gif":
			cfg, dec = gif.DecodeConfig, gif.Decode
		case "webp":
			cfg, dec = webp.DecodeConfig, webp.Decode
		default:
			return nil, cannot(ReasonCannotPreview, "no decoder for %q", format)
		}
		if err := check(cfg(open())); err != nil {
			return nil, err
		}
		img, err = dec(open())
	}
	if err != nil {
		return nil, cannot(ReasonCannotPreview, "decode %s: %w", format, err)
	}
	return img, nil
}

// fit returns w×h scaled down (never up) so that its longest edge is at most size.
func fit(w, h, size int) (int, int) {
	if w <= size && h <= size {
		return w, h
	}
	if w >= h {
		return size, max(1, (h*size+w/2)/w)
	}
	return max(1, (w*size+h/2)/h), size
}

// upright draws img at w×h (as it is to be seen, after orientation o) over
// white — JPEG has no transparency — and turns it upright.
func upright(img image.Image, w, h, o int) *image.RGBA {
	sw, sh := w, h
	if o >= 5 {
		sw, sh = h, w
	}
	dst := image.NewRGBA(image.Rect(0, 0, sw, sh))
	draw.Draw(dst, dst.Bounds(), image.White, image.Point{}, draw.Src)
	if b := img.Bounds(); b.Dx() == sw && b.Dy() == sh {
		draw.Draw(dst, dst.Bounds(), img, b.Min, draw.Over)
	} else {
		draw.BiLinear.Scale(dst, dst.Bounds(), img, b, draw.Over, nil)
	}
	return orient(dst, o)
}

func encodeJPEG(img image.Image, quality int) ([]byte, error) {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality}); err != nil {
		return nil, fmt.Errorf("encode JPEG: %w", err)
	}
	return buf.Bytes(), nil
}

// thumbnailOf decodes a JPEG we made (a poster frame, a page) and returns its
// thumbnail with its size.
func thumbnailOf(full []byte) (thumb []byte, w, h int, err error) {
	img, err := jpeg.Decode(bytes.NewReader(full))
	if err != nil {
		return nil, 0, 0, fmt.Errorf("decode rendered JPEG: %w", err)
	}
	w, h = fit(img.Bounds().Dx(), img.Bounds().Dy(), ThumbSize)
	thumb, err = encodeJPEG(upright(img, w, h, 1), 85)
	return thumb, w, h, err
}

// jpegSize returns the dimensions of a JPEG.
func jpegSize(b []byte) (int, int, error) {
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(b))
	return cfg.Width, cfg.Height, err
}
