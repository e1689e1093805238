//go:build race

package workertest

const raceDetector = true
