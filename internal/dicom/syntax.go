package dicom

import (
	"encoding/binary"

	"github.com/suyashkumar/dicom/pkg/uid"
)

// codec says how a transfer syntax stores its pixel data.
type codec int

const (
	codecNative       codec = iota // uncompressed
	codecRLE                       // DICOM RLE (PS3.5 annex G)
	codecJPEG                      // JPEG baseline / extended, DCT based
	codecJPEGLossless              // JPEG lossless, process 14
	codecJPEGLS                    // JPEG-LS lossless and near-lossless
	codecJPEG2000                  // JPEG 2000 part 1, and High-Throughput JPEG 2000 (part 15)
	codecDeflate                   // Deflated Image Frame Compression: each frame deflated
	codecOther                     // encapsulated, but nothing here decodes it
)

// syntax describes a transfer syntax.
type syntax struct {
	uid          string
	bigEndian    bool
	implicit     bool
	deflated     bool
	encapsulated bool
	codec        codec
}

func (s syntax) byteOrder() binary.ByteOrder {
	if s.bigEndian {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

// Transfer syntax UIDs.
const (
	uidImplicitLE    = "1.2.840.10008.1.2"
	uidExplicitLE    = "1.2.840.10008.1.2.1"
	uidDeflatedLE    = "1.2.840.10008.1.2.1.99"
	uidExplicitBE    = "1.2.840.10008.1.2.2"
	uidJPEGBaseline  = "1.2.840.10008.1.2.4.50"
	uidJPEGExtended  = "1.2.840.10008.1.2.4.51"
	uidJPEGExt35     = "1.2.840.10008.1.2.4.52" // retired, arithmetic coding
	uidJPEGSpectral  = "1.2.840.10008.1.2.4.53" // retired: spectral selection (processes 6 and 8)
	uidJPEGSpectral2 = "1.2.840.10008.1.2.4.54" // retired, arithmetic coding
	uidJPEGFullProg  = "1.2.840.10008.1.2.4.55" // retired: full progression (processes 10 and 12)
	uidJPEGFullProg2 = "1.2.840.10008.1.2.4.56" // retired, arithmetic coding
	uidJPEGLossless  = "1.2.840.10008.1.2.4.57"
	uidJPEGLossless2 = "1.2.840.10008.1.2.4.58" // retired, arithmetic coding
	uidJPEGLossSV1   = "1.2.840.10008.1.2.4.70"
	uidJPEGLSLossles = "1.2.840.10008.1.2.4.80"
	uidJPEGLSNear    = "1.2.840.10008.1.2.4.81"
	uidJ2KLossless   = "1.2.840.10008.1.2.4.90"
	uidJ2K           = "1.2.840.10008.1.2.4.91"
	uidJ2KPart2Lossl = "1.2.840.10008.1.2.4.92"
	uidJ2KPart2      = "1.2.840.10008.1.2.4.93"
	uidHTJ2KLossless = "1.2.840.10008.1.2.4.201"
	uidHTJ2KRPCL     = "1.2.840.10008.1.2.4.202"
	uidHTJ2K         = "1.2.840.10008.1.2.4.203"
	uidRLE           = "1.2.840.10008.1.2.5"
	uidDeflatedImage = "1.2.840.10008.1.2.8.1"
)

var syntaxes = map[string]syntax{
	uidImplicitLE:    {implicit: true},
	uidExplicitLE:    {},
	uidDeflatedLE:    {deflated: true},
	uidExplicitBE:    {bigEndian: true},
	uidJPEGBaseline:  {encapsulated: true, codec: codecJPEG},
	uidJPEGExtended:  {encapsulated: true, codec: codecJPEG},
	uidJPEGExt35:     {encapsulated: true, codec: codecJPEG},
	uidJPEGSpectral:  {encapsulated: true, codec: codecJPEG},
	uidJPEGSpectral2: {encapsulated: true, codec: codecJPEG},
	uidJPEGFullProg:  {encapsulated: true, codec: codecJPEG},
	uidJPEGFullProg2: {encapsulated: true, codec: codecJPEG},
	uidJPEGLossless:  {encapsulated: true, codec: codecJPEGLossless},
	uidJPEGLossless2: {encapsulated: true, codec: codecJPEGLossless},
	uidJPEGLossSV1:   {encapsulated: true, codec: codecJPEGLossless},
	uidJPEGLSLossles: {encapsulated: true, codec: codecJPEGLS},
	uidJPEGLSNear:    {encapsulated: true, codec: codecJPEGLS},
	uidJ2KLossless:   {encapsulated: true, codec: codecJPEG2000},
	uidJ2K:           {encapsulated: true, codec: codecJPEG2000},
	uidJ2KPart2Lossl: {encapsulated: true, codec: codecJPEG2000},
	uidJ2KPart2:      {encapsulated: true, codec: codecJPEG2000},
	uidHTJ2KLossless: {encapsulated: true, codec: codecJPEG2000},
	uidHTJ2KRPCL:     {encapsulated: true, codec: codecJPEG2000},
	uidHTJ2K:         {encapsulated: true, codec: codecJPEG2000},
	uidRLE:           {encapsulated: true, codec: codecRLE},
	uidDeflatedImage: {encapsulated: true, codec: codecDeflate},
}

// lookupSyntax returns the syntax for a transfer syntax UID. An unknown UID is
// treated as an encapsulated explicit little endian syntax (PS3.5 10: all
// compressed syntaxes are explicit LE with encapsulated pixel data), whose pixels
// only an external decoder might understand.
func lookupSyntax(u string) (syntax, bool) {
	s, ok := syntaxes[u]
	if !ok {
		return syntax{uid: u, encapsulated: true, codec: codecOther}, false
	}
	s.uid = u
	return s, true
}

// SyntaxName returns a readable name for a transfer syntax UID, or the UID itself.
func SyntaxName(u string) string {
	if info, err := uid.Lookup(u); err == nil && info.Name != "" {
		return info.Name
	}
	return u
}
