// Package dicom parses DICOM files, decodes their frames and renders them with a
// window/level into images. It knows nothing about boxes, members or storage.
//
// Every input is hostile until proven otherwise: the parser is our own, checks every
// declared length against the bytes present, bounds nesting, inflation and pixel
// counts (Limits) before anything is allocated, and returns an error rather than
// panicking. Even so, uploaded files are parsed and decoded by Guard in a child
// process (WorkerMain) with a memory and time limit, so that a bug here can only
// ever mean "cannot preview" (ErrCannotPreview), never a crashed server.
//
// Pixel data is decoded by our own Go code: native (1 to 32 bits, 12-bit packed,
// either byte order, float and double float), deflated (the whole dataset, or
// frame by frame), RLE (package rle), DCT JPEG — baseline, extended 12-bit,
// progressive and spectral selection, with libjpeg's integer IDCT — and lossless
// JPEG (package jpeg), JPEG-LS (package jpegls) and JPEG 2000 including
// High-Throughput JPEG 2000 (package j2k; the go-jpeg2000 module in go.mod has no
// working decoder). What those cannot decode may fall back to `gdcmconv --raw`
// (GDCM), run as a sandboxed subprocess that sees its input and output only as
// memory files; no file of the test collections needs it.
//
// Files are read as far as they go: without preamble or File Meta Information
// (implicit VR little endian tried first, then explicit), or cut short (the
// frames present, the last one padded with zeros; Summary says so). Frames are
// decoded one at a time, and for display scaled down as their rows are read
// (ViewerMaxSide; regions at full resolution on request), so that a worker's
// memory does not grow with the number or size of frames; ParseAt reads a file
// part by part through an io.ReaderAt, which is how the Guard's child reads
// large files.
//
// Text (names, descriptions) is decoded from the file's SpecificCharacterSet,
// including the Japanese ISO 2022 sets, and stripped of control characters; it is
// plain untrusted text, never markup.
package dicom
