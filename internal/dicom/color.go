package dicom

import "fmt"

// toRGB converts pixel-interleaved colour samples to 8-bit RGB triplets.
// Samples wider than 8 bits are scaled down.
func toRGB(s []int32, photometric string, bitsStored int) ([]uint8, error) {
	out := make([]uint8, len(s))
	down := uint(0)
	if bitsStored > 8 {
		down = uint(bitsStored - 8)
	}
	scaled := func(v int32) float64 {
		if v < 0 {
			return 0
		}
		return float64(v >> down)
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
