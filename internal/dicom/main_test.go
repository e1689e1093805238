package dicom

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"
)

// The test binary doubles as the DICOM worker: Guard tests run it with
// MEDBOX_DICOM_TEST_WORKER=1, and MEDBOX_DICOM_TEST_HOOK makes it misbehave.
func TestMain(m *testing.M) {
	if os.Getenv("MEDBOX_DICOM_TEST_WORKER") == "1" {
		switch os.Getenv("MEDBOX_DICOM_TEST_HOOK") {
		case "panic":
			workerHook = func(stage string) {
				if stage == "parsed" {
					panic("test hook: parser bug")
				}
			}
		case "crash": // a panic no recover can catch
			workerHook = func(stage string) {
				if stage == "parsed" {
					done := make(chan struct{})
					go func() { panic("test hook: crash in another goroutine") }()
					<-done
				}
			}
		case "hang":
			workerHook = func(stage string) {
				if stage == "parsed" {
					time.Sleep(time.Hour)
				}
			}
		}
		if err := WorkerMain(context.Background(), os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}
