package dicom

import "fmt"

// toRGB converts pixel-interleaved colour samples to 8-bit RGB triplets, as
// DCMTK shows them: samples wider than 8 bits lose their low bits, narrower ones
// are stretched to 0–255, and signed ones are offset so that the most negative
// value is black.
func toRGB(s []int32, photometric string, bitsStored int, signed bool) ([]uint8, error) {
	out := make([]uint8, len(s))
	down := uint(0)
	if bitsStored > 8 {
		down = uint(bitsStored - 8)
	}
	top := int64(1)<<min(bitsStored, 8) - 1
	offset := int64(0)
	if signed {
		offset = int64(1) << (bitsStored - 1)
	}
	scaled := func(v int32) float64 {
		u := int64(v) + offset
		if u < 0 {
			return 0
		}
		u >>= down
		if bitsStored < 8 {
			u = u * 255 / top
		}
		return float64(u)
	}
	switch photometric {
	case "RGB":
		for i, v := range s {
			out[i] = clamp8(scaled(v))
		}
	case "YBR_FULL", "YBR_FULL_422", "YBR_ICT":
		for i := 0; i+2 < len(s); i += 3 {
			y, cb, cr := scaled(s[i]), scaled(s[i+1])-128, scaled(s[i+2])-128
			out[i] = clamp8(y + 1.402*cr)
			out[i+1] = clamp8(y - 0.344136*cb - 0.714136*cr)
			out[i+2] = clamp8(y + 1.772*cb)
		}
	case "YBR_PARTIAL_422", "YBR_PARTIAL_420":
		for i := 0; i+2 < len(s); i += 3 {
			y, cb, cr := 1.164383*(scaled(s[i])-16), scaled(s[i+1])-128, scaled(s[i+2])-128
			out[i] = clamp8(y + 1.596027*cr)
			out[i+1] = clamp8(y - 0.391762*cb - 0.812968*cr)
			out[i+2] = clamp8(y + 2.017232*cb)
		}
	case "YBR_RCT":
		for i := 0; i+2 < len(s); i += 3 {
			y, cb, cr := int64(s[i]), int64(s[i+1])-128, int64(s[i+2])-128
			g := y - floorDiv4(cb+cr)
			out[i] = clamp8(scaled(int32(cr + g)))
			out[i+1] = clamp8(scaled(int32(g)))
			out[i+2] = clamp8(scaled(int32(cb + g)))
		}
	default:
		return nil, fmt.Errorf("%w: colour photometric interpretation %q", ErrUnsupported, photometric)
	}
	return out, nil
}

func floorDiv4(v int64) int64 {
	if v >= 0 {
		return v / 4
	}
	return -((-v + 3) / 4)
}

// clamp8 rounds v to the nearest integer in 0..255.
func clamp8(v float64) uint8 {
	switch {
	case v <= 0:
		return 0
	case v >= 255:
		return 255
	}
	return uint8(v + 0.5)
}
