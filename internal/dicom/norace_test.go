//go:build !race

package dicom

// raceDetector tells whether these tests run under the race detector.
const raceDetector = false
