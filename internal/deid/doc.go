// Package deid de-identifies DICOM files following DICOM PS3.15 Annex E, the
// Basic Application Level Confidentiality Profile, with the options a
// consultation needs: Retain Patient Characteristics, Retain Longitudinal
// Temporal Information with Modified Dates, Clean Descriptors and Retain Device
// Identity.
//
// It rewrites a file at the element level and keeps everything else byte for
// byte: the output is a new header followed by the original bytes of the pixel
// data (and of any other large value that is kept), described as a list of
// parts so that a 1 GB series is never copied in memory. One Send covers all
// the files sent together: one pseudonym per patient ("ANON-7K3Q"), UIDs
// replaced consistently in every file and every reference (sequences and the
// DICOMDIR included), and one date shift.
//
// The same rewrite runs in the browser before upload (internal/web/static/
// deid.js); both read the tables embedded here (profile.txt, dict.txt), and a
// Send made from the same seed gives byte-identical output in Go and in
// JavaScript.
package deid
