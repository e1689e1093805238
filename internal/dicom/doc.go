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
// Pixel data is decoded by our own Go code: native (8, 16, 32 and 1 bit, either
// byte order), deflated, RLE (package rle), JPEG baseline through image/jpeg, 12-bit
// extended and lossless JPEG (package jpeg), JPEG-LS (package jpegls) and JPEG 2000
// (package j2k: github.com/mrjoshuak/go-jpeg2000 v1.0.0, which ARCHITECTURE.md
// names, was tried and is not a dependency — its Decode never decodes packets and
// returns a flat image for every file we have). What
// those cannot decode may fall back to `gdcmconv --raw` (GDCM), run as a sandboxed
// subprocess that sees its input and output only as memory files.
//
// Text (names, descriptions) is decoded from the file's SpecificCharacterSet,
// including the Japanese ISO 2022 sets, and stripped of control characters; it is
// plain untrusted text, never markup.
package dicom
