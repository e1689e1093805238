package preview

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/medbox-jp/medbox/internal/blob/blobtest"
	"github.com/medbox-jp/medbox/internal/box"
	"github.com/medbox-jp/medbox/internal/dicom"
	"github.com/medbox-jp/medbox/internal/dicom/workertest"
)

// The test binary doubles as the DICOM worker, run as `<test binary> dicom-worker`
// exactly as the service runs `medbox dicom-worker`.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "dicom-worker" {
		if err := dicom.WorkerMain(context.Background(), os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// testService is a Service without database or boxes, enough to make previews
// into a memory store.
func testService(t testing.TB, lim Limits) *Service {
	t.Helper()
	return &Service{guard: &dicom.Guard{Command: workertest.Command(t)}, tools: FindTools(), lim: lim.withDefaults(),
		log: slog.New(slog.DiscardHandler), decode: make(chan struct{}, 1)}
}

// made is the outcome of making a preview from data, with the store it wrote to.
type made struct {
	out   outcome
	err   error
	store *blobtest.Memory
}

// makeFrom runs the maker of kind on data as file "f1" of content type ctype.
func makeFrom(t testing.TB, s *Service, kind Kind, ctype string, data []byte) made {
	t.Helper()
	mem := blobtest.NewMemory()
	st := &counting{Store: mem}
	f := box.File{ID: "f1", Size: int64(len(data)), ContentType: ctype}
	in := &sourceReader{c: bytes.NewReader(data), size: int64(len(data))}
	ctx := t.Context()
	var o outcome
	var err error
	switch kind {
	case Image:
		o, err = s.makeImage(ctx, f, in, st)
	case Video:
		o, err = s.makeVideo(ctx, f, in, st)
	case PDF:
		o, err = s.makePDF(ctx, f, in, st)
	case DICOM:
		o, err = s.makeDICOM(ctx, f, in, st)
	case Study:
		o, err = s.makeStudy(ctx, f, in, st)
	}
	return made{out: o, err: err, store: mem}
}

func testdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "dicom", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
