package dicom

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
)

// ViewerFrame is a frame in the compact form the browser viewer draws from: 16-bit
// grey values plus the rescale and window to apply, so that window/level changes
// need no round trip; or 8-bit RGB for colour images.
//
// For grey frames, modality value = Pixels[i]·Slope + Intercept; WindowCenter and
// WindowWidth are in modality units; Invert is set for MONOCHROME1 (high values
// dark). Stored values that do not fit in 0..65535 (signed or 32-bit data) are
// shifted or linearly requantized, and the map is folded into Slope and
// Intercept, so the browser never needs to know.
type ViewerFrame struct {
	Index        int     `json:"index"`
	Width        int     `json:"width"`
	Height       int     `json:"height"`
	Color        bool    `json:"-"`
	Slope        float64 `json:"slope"`
	Intercept    float64 `json:"intercept"`
	WindowCenter float64 `json:"window_center"`
	WindowWidth  float64 `json:"window_width"`
	VOIFunction  string  `json:"voi_function,omitempty"`
	Invert       bool    `json:"invert"`
	Min          float64 `json:"min"` // smallest modality value
	Max          float64 `json:"max"` // largest modality value
	// SourceWidth and SourceHeight are the frame's own size; Region is the
	// part of it this image shows (x, y, width, height in the frame's own
	// pixels), scaled to Width×Height: all of it for a frame, perhaps scaled
	// down, or a part at full resolution.
	SourceWidth  int      `json:"source_width"`
	SourceHeight int      `json:"source_height"`
	Region       [4]int   `json:"region"`
	Pixels       []uint16 `json:"-"` // grey: Width·Height values, row-major
	RGB          []uint8  `json:"-"` // colour: Width·Height R, G, B triplets
}

// Viewer returns the frame in viewer form.
func (fr *Frame) Viewer() ViewerFrame {
	v, pixel := fr.viewerHeader()
	if pixel != nil {
		v.Pixels = make([]uint16, len(fr.Gray))
		for i, s := range fr.Gray {
			v.Pixels[i] = pixel(s)
		}
	}
	return v
}

// viewerHeader returns the viewer form without its pixels, and for grey frames
// the map from stored values to the 16-bit values it holds.
func (fr *Frame) viewerHeader() (ViewerFrame, func(int32) uint16) {
	v := ViewerFrame{Index: fr.Index, Width: fr.Width, Height: fr.Height, SourceWidth: fr.SourceWidth, SourceHeight: fr.SourceHeight,
		Region: [4]int{fr.Region.Min.X, fr.Region.Min.Y, fr.Region.Dx(), fr.Region.Dy()}}
	if v.SourceWidth == 0 || v.Region[2] == 0 {
		v.SourceWidth, v.SourceHeight, v.Region = fr.Width, fr.Height, [4]int{0, 0, fr.Width, fr.Height}
	}
	if fr.RGB != nil {
		v.Color, v.RGB = true, fr.RGB
		return v, nil
	}
	v.Slope, v.Intercept = fr.Slope, fr.Intercept
	v.WindowCenter, v.WindowWidth = fr.Window.Center, fr.Window.Width
	v.VOIFunction, v.Invert = fr.VOIFunction, fr.Photometric == "MONOCHROME1"
	lo, hi := int64(fr.Min), int64(fr.Max)
	v.Min, v.Max = float64(lo)*fr.Slope+fr.Intercept, float64(hi)*fr.Slope+fr.Intercept
	if v.Min > v.Max {
		v.Min, v.Max = v.Max, v.Min
	}
	switch {
	case lo >= 0 && hi <= math.MaxUint16:
		return v, func(s int32) uint16 { return uint16(s) }
	case hi-lo <= math.MaxUint16:
		v.Intercept += float64(lo) * fr.Slope
		return v, func(s int32) uint16 { return uint16(int64(s) - lo) }
	}
	scale := float64(hi-lo) / math.MaxUint16
	v.Intercept += float64(lo) * fr.Slope
	v.Slope *= scale
	return v, func(s int32) uint16 { return uint16(math.Round(float64(int64(s)-lo) / scale)) }
}

// marshalViewer is fr.Viewer().MarshalBinary() without the intermediate
// 16-bit copy of the pixels.
func (fr *Frame) marshalViewer() ([]byte, error) {
	v, pixel := fr.viewerHeader()
	if pixel == nil {
		return v.MarshalBinary()
	}
	out, err := v.marshalHeader(len(fr.Gray))
	if err != nil {
		return nil, err
	}
	for _, s := range fr.Gray {
		out = binary.LittleEndian.AppendUint16(out, pixel(s))
	}
	return out, nil
}

// viewerMagic starts every encoded ViewerFrame.
const viewerMagic = "MBVF"

// viewerHeader is the JSON header of the binary encoding.
type viewerHeader struct {
	Version int    `json:"version"`
	Kind    string `json:"kind"` // "gray" or "rgb"
	ViewerFrame
}

// MarshalBinary encodes the frame for the browser:
//
//	bytes 0–3   "MBVF"
//	bytes 4–7   N, the length of the JSON header, uint32 little endian
//	bytes 8–…   N bytes of UTF-8 JSON, padded with spaces so that 8+N is a
//	            multiple of 8
//	then        the pixels: for "gray", width·height uint16 little endian;
//	            for "rgb", width·height·3 bytes R, G, B
//
// The header is {"version":1,"kind":"gray"|"rgb","index","width","height",
// "slope","intercept","window_center","window_width","voi_function","invert",
// "min","max","source_width","source_height","region"} (the grey fields are
// zero for "rgb"). In JavaScript:
//
//	const dv = new DataView(buf);
//	const n = dv.getUint32(4, true);
//	const h = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, 8, n)));
//	const px = h.kind === "gray"
//	  ? new Uint16Array(buf, 8 + n, h.width * h.height) // little-endian hosts
//	  : new Uint8Array(buf, 8 + n, h.width * h.height * 3);
//	// grey level of pixel i: modality = px[i] * h.slope + h.intercept, then
//	// the DICOM linear window (h.window_center, h.window_width), inverted if h.invert.
func (v ViewerFrame) MarshalBinary() ([]byte, error) {
	n := v.Width * v.Height
	if v.Color && len(v.RGB) != 3*n {
		return nil, fmt.Errorf("marshal viewer frame: %d RGB bytes for %d×%d", len(v.RGB), v.Width, v.Height)
	}
	if !v.Color && len(v.Pixels) != n {
		return nil, fmt.Errorf("marshal viewer frame: %d pixels for %d×%d", len(v.Pixels), v.Width, v.Height)
	}
	out, err := v.marshalHeader(n)
	if err != nil {
		return nil, err
	}
	if v.Color {
		return append(out, v.RGB...), nil
	}
	for _, p := range v.Pixels {
		out = binary.LittleEndian.AppendUint16(out, p)
	}
	return out, nil
}

// marshalHeader returns the magic, length and JSON header of a frame of n
// pixels, with room for the pixels after them.
func (v ViewerFrame) marshalHeader(n int) ([]byte, error) {
	h := viewerHeader{Version: 1, Kind: "gray", ViewerFrame: v}
	size := 2 * n
	if v.Color {
		h.Kind, size = "rgb", 3*n
	}
	js, err := json.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("marshal viewer frame: %w", err)
	}
	for (8+len(js))%8 != 0 {
		js = append(js, ' ')
	}
	out := make([]byte, 0, 8+len(js)+size)
	out = append(out, viewerMagic...)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(js)))
	return append(out, js...), nil
}

// UnmarshalBinary decodes what MarshalBinary produced.
func (v *ViewerFrame) UnmarshalBinary(b []byte) error {
	if len(b) < 8 || string(b[:4]) != viewerMagic {
		return errors.New("unmarshal viewer frame: bad magic")
	}
	n := int64(binary.LittleEndian.Uint32(b[4:]))
	if n > int64(len(b)-8) {
		return errors.New("unmarshal viewer frame: truncated header")
	}
	var h viewerHeader
	if err := json.Unmarshal(b[8:8+n], &h); err != nil {
		return fmt.Errorf("unmarshal viewer frame: %w", err)
	}
	if h.Version != 1 || h.Width < 0 || h.Height < 0 {
		return fmt.Errorf("unmarshal viewer frame: version %d, %d×%d", h.Version, h.Width, h.Height)
	}
	px := b[8+n:]
	count := int64(h.Width) * int64(h.Height)
	*v = h.ViewerFrame
	switch h.Kind {
	case "rgb":
		if int64(len(px)) != 3*count {
			return errors.New("unmarshal viewer frame: wrong pixel length")
		}
		v.Color, v.RGB = true, px
	case "gray":
		if int64(len(px)) != 2*count {
			return errors.New("unmarshal viewer frame: wrong pixel length")
		}
		v.Pixels = make([]uint16, count)
		for i := range v.Pixels {
			v.Pixels[i] = binary.LittleEndian.Uint16(px[2*i:])
		}
	default:
		return fmt.Errorf("unmarshal viewer frame: kind %q", h.Kind)
	}
	return nil
}
