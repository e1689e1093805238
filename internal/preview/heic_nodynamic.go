//go:build !nodynamic

package preview

// HEIC photos are decoded by gen2brain/heic in WebAssembly, inside the process.
// Built without the nodynamic tag, that module loads a system libheif when one is
// installed — native code on untrusted input — as soon as the program starts. So
// a build without the tag fails here: build with -tags=nodynamic, as the Makefile
// and .ci/run do (GOFLAGS).
const _ = medboxMustBeBuiltWithTagNodynamic
