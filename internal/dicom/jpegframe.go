package dicom

import "github.com/medbox-jp/medbox/internal/dicom/jpeg"

// decodeJPEG decodes a JPEG frame with our own decoder (package jpeg), which
// reads every process DICOM uses and computes as libjpeg does, so that lossy
// frames come out as GDCM and DCMTK decode them.
func decodeJPEG(data []byte, im *imageInfo) (*rawFrame, error) {
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
