package dicom

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// bigRLE writes an RLE file of frames frames of side×side 16-bit pixels (at
// 10000×10000 and five frames, about 15 MB). The picture is bands and steps
// in runs of 1280 pixels, which PackBits (at most 128 bytes a run) codes in
// about 3 MB a frame: as small as RLE gets.
func bigRLE(w io.Writer, side, frames int) error {
	ds := &dsWriter{}
	ds.us(tagSamplesPerPixel, 1).elem(tagPhotometric, "CS", []byte("MONOCHROME2 "))
	ds.elem(tagNumberOfFrames, "IS", []byte(itoaEven(frames)))
	ds.us(tagRows, uint16(side)).us(tagColumns, uint16(side))
	ds.us(tagBitsAllocated, 16).us(tagBitsStored, 12).us(tagHighBit, 11).us(tagPixelRepresentation, 0)
	ds.raw(tagPixelData, "OB", undefinedLength).raw(tagItem, "", 0)
	var frame bytes.Buffer
	hi, lo := make([]byte, side), make([]byte, side)
	for f := range frames {
		var segs [2]bytes.Buffer
		for y := range side {
			for x := range side {
				v := uint16((x/1280*37 + y/97*11 + f*300) % 4096) // bands and steps
				hi[x], lo[x] = byte(v>>8), byte(v)
			}
			packBitsRow(&segs[0], hi)
			packBitsRow(&segs[1], lo)
		}
		frame.Reset()
		hdr := make([]byte, 64)
		binary.LittleEndian.PutUint32(hdr, 2)
		binary.LittleEndian.PutUint32(hdr[4:], 64)
		binary.LittleEndian.PutUint32(hdr[8:], uint32(64+segs[0].Len()))
		frame.Write(hdr)
		frame.Write(segs[0].Bytes())
		frame.Write(segs[1].Bytes())
		if frame.Len()%2 == 1 {
			frame.WriteByte(0)
		}
		ds.raw(tagItem, "", uint32(frame.Len()))
		ds.Write(frame.Bytes())
	}
	ds.raw(tagSequenceDelimiter, "", 0)
	_, err := w.Write(file(uidRLE, ds))
	return err
}

func itoaEven(n int) string {
	s := []byte{byte('0' + n%10)}
	for n /= 10; n > 0; n /= 10 {
		s = append([]byte{byte('0' + n%10)}, s...)
	}
	if len(s)%2 == 1 {
		s = append(s, ' ')
	}
	return string(s)
}

// packBitsRow appends one row of bytes, PackBits-coded (runs of 3 or more
// replicated, the rest literal).
func packBitsRow(out *bytes.Buffer, b []byte) {
	for i := 0; i < len(b); {
		j := i
		for j < len(b) && j-i < 128 && b[j] == b[i] {
			j++
		}
		if j-i >= 3 {
			out.WriteByte(byte(257 - (j - i)))
			out.WriteByte(b[i])
			i = j
			continue
		}
		j = i
		for j < len(b) && j-i < 128 && !(j+2 < len(b) && b[j] == b[j+1] && b[j] == b[j+2]) {
			j++
		}
		out.WriteByte(byte(j - i - 1))
		out.Write(b[i:j])
		i = j
	}
}

// BenchmarkWorkerLargeRLE runs the DICOM worker (this test binary, as in
// production a child process) on an RLE file of five 10000×10000 16-bit
// frames, about 15 MB, and reports the time for the whole preview, the
// worker's CPU time (worker-cpu-s/op: wall time depends on what else runs)
// and its peak resident memory (peak-rss-MiB). Run it alone, since the peak
// is the largest of all the test binary's children:
//
//	go test -run '^$' -bench WorkerLargeRLE -benchtime 1x ./internal/dicom
//
// The file is written to $MEDBOX_BENCH_DICOM (default: the test's temp dir).
func BenchmarkWorkerLargeRLE(b *testing.B) {
	path := os.Getenv("MEDBOX_BENCH_DICOM")
	if path == "" {
		path = filepath.Join(b.TempDir(), "rle-5x10000x10000.dcm")
	}
	if _, err := os.Stat(path); err != nil {
		fh, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		if err := bigRLE(fh, 10000, 5); err != nil {
			b.Fatal(err)
		}
		if err := fh.Close(); err != nil {
			b.Fatal(err)
		}
	}
	benchmarkWorker(b, path)
}

// benchmarkWorker runs the worker on the file at path.
func benchmarkWorker(b *testing.B, path string) {
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("%s: %.1f MB", path, float64(st.Size())/1e6)
	g := &Guard{Command: []string{os.Args[0]}, Env: []string{"MEDBOX_DICOM_TEST_WORKER=1"}, Timeout: 10 * time.Minute}
	var sent int64
	var outputs int
	b.ResetTimer()
	for range b.N {
		fh, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		_, err = g.ExtractFile(b.Context(), fh, st.Size(), extractOptionsForBench(), func(o Output) error {
			sent += int64(len(o.Data))
			outputs++
			return nil
		})
		fh.Close()
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err != nil {
		b.Fatal(err)
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	b.ReportMetric(float64(ru.Maxrss)/1024, "peak-rss-MiB")
	b.ReportMetric(cpu.Seconds()/float64(b.N), "worker-cpu-s/op")
	b.ReportMetric(float64(sent)/float64(b.N)/(1<<20), "MiB-sent")
	b.Logf("%d outputs, %.1f MiB sent to the parent per run, worker peak RSS %.0f MiB, worker CPU %v per run",
		outputs/b.N, float64(sent)/float64(b.N)/(1<<20), float64(ru.Maxrss)/1024, (cpu / time.Duration(b.N)).Round(time.Millisecond))
}

func extractOptionsForBench() ExtractOptions { return ExtractOptions{ThumbnailSize: 256, Frame: -1} }

// BenchmarkWorkerFile is BenchmarkWorkerLargeRLE for any file:
//
//	MEDBOX_BENCH_FILE=big.dcm go test -run '^$' -bench WorkerFile -benchtime 1x ./internal/dicom
func BenchmarkWorkerFile(b *testing.B) {
	path := os.Getenv("MEDBOX_BENCH_FILE")
	if path == "" {
		b.Skip("MEDBOX_BENCH_FILE is not set")
	}
	benchmarkWorker(b, path)
}
