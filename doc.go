// Package medbox is the root of the MedBox repository: a web service in which
// verified healthcare professionals send each other large images, video, documents
// and DICOM studies. The program is cmd/medbox; the packages under internal/ are
// laid out by layer (see deps_test.go and STYLE.md). This package holds only the
// repository-wide tests.
package medbox
