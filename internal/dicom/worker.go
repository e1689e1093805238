package dicom

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
)

// The worker protocol. The parent writes a request, then the file:
//
//	"MBWQ", uint32 LE n, n bytes of JSON workRequest, then the DICOM bytes to EOF
//
// or, when the request gives the file's size, nothing more: the worker asks
// for the parts it needs with 'Q' records (payload: uint64 LE offset, uint32 LE
// length) and the parent answers each with exactly those bytes on stdin. The
// worker answers with records until a final 'D' (done) or 'E' (error):
//
//	kind byte, uint32 LE frame, uint32 LE n, n bytes of payload
//
// 'S' carries the Summary as JSON, 'T', 'R', 'V' and 'W' carry Outputs, 'E' an error
// message (after which a summary may still have been sent).
const (
	requestMagic   = "MBWQ"
	maxRequestJSON = 64 << 10

	recSummary   = 'S'
	recThumbnail = 'T'
	recRendered  = 'R'
	recViewer    = 'V'
	recScreen    = 'W'
	recError     = 'E'
	recDone      = 'D'
	recRead      = 'Q'

	// maxReadRequest bounds one 'Q' request.
	maxReadRequest = 256 << 20
)

// workRequest is what the parent asks of the worker.
type workRequest struct {
	MemoryLimit int64          `json:"memory_limit"`
	HeapLimit   int64          `json:"heap_limit"` // the Go heap's soft limit (debug.SetMemoryLimit)
	MaxInput    int64          `json:"max_input"`
	Limits      Limits         `json:"limits"`
	Options     ExtractOptions `json:"options"`
	// Size, if not zero, is the file's size: the worker reads it through 'Q'
	// requests instead of receiving it whole.
	Size int64 `json:"size"`
}

// workerHook, if set, is called at each stage of the worker ("start", "parsed");
// tests use it to make the worker panic or hang. It is never set in production.
var workerHook func(stage string)

// WorkerMain is the body of the hidden `medbox dicom-worker` subcommand: it reads
// a request and a DICOM file from stdin and writes the results to stdout (see
// Guard). Before reading the file it limits its own memory: the address space may
// grow by at most the request's memory limit (RLIMIT_AS), and the Go heap is kept
// below it (debug.SetMemoryLimit). A failure to parse or decode the file is
// reported to the parent, and WorkerMain returns nil; it returns an error only when
// the protocol itself fails.
func WorkerMain(ctx context.Context, stdin io.Reader, stdout io.Writer) error {
	in := bufio.NewReaderSize(stdin, 64<<10)
	out := bufio.NewWriterSize(stdout, 64<<10)
	req, err := readRequest(in)
	if err != nil {
		return err
	}
	if err := limitMemory(req.MemoryLimit, req.HeapLimit); err != nil {
		return err
	}
	if workerHook != nil {
		workerHook("start")
	}
	var data []byte
	if req.Size == 0 {
		if data, err = io.ReadAll(io.LimitReader(in, req.MaxInput+1)); err != nil {
			return fmt.Errorf("dicom worker: read input: %w", err)
		}
	}
	err = func() (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("panic: %v", p)
			}
		}()
		var f *File
		switch {
		case req.Size > req.MaxInput || int64(len(data)) > req.MaxInput:
			return fmt.Errorf("%w: input larger than %d bytes", ErrTooLarge, req.MaxInput)
		case req.Size > 0:
			f, err = ParseAt(&parentReader{in: in, out: out, size: req.Size}, req.Size, req.Limits)
		default:
			f, err = Parse(data, req.Limits)
		}
		if err != nil {
			return err
		}
		return extract(f, req.Options, func(s Summary) error {
			if workerHook != nil {
				workerHook("parsed")
			}
			return writeSummary(out, s)
		}, func(o Output) error {
			kind := map[OutputKind]byte{Thumbnail: recThumbnail, Rendered: recRendered, Viewer: recViewer, ScreenViewer: recScreen}[o.Kind]
			return writeRecord(out, kind, o.Frame, o.Data)
		})
	}()
	if err != nil {
		if werr := writeRecord(out, recError, 0, []byte(err.Error())); werr != nil {
			return werr
		}
	} else if werr := writeRecord(out, recDone, 0, nil); werr != nil {
		return werr
	}
	if err := out.Flush(); err != nil {
		return fmt.Errorf("dicom worker: write results: %w", err)
	}
	return ctx.Err()
}

func readRequest(in io.Reader) (*workRequest, error) {
	var hdr [8]byte
	if _, err := io.ReadFull(in, hdr[:]); err != nil {
		return nil, fmt.Errorf("dicom worker: read request: %w", err)
	}
	n := binary.LittleEndian.Uint32(hdr[4:])
	if string(hdr[:4]) != requestMagic || n > maxRequestJSON {
		return nil, errors.New("dicom worker: bad request header")
	}
	js := make([]byte, n)
	if _, err := io.ReadFull(in, js); err != nil {
		return nil, fmt.Errorf("dicom worker: read request: %w", err)
	}
	var req workRequest
	if err := json.Unmarshal(js, &req); err != nil {
		return nil, fmt.Errorf("dicom worker: decode request: %w", err)
	}
	if req.MemoryLimit <= 0 || req.MaxInput <= 0 {
		return nil, errors.New("dicom worker: request without limits")
	}
	return &req, nil
}

func writeSummary(w io.Writer, s Summary) error {
	js, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("dicom worker: encode summary: %w", err)
	}
	return writeRecord(w, recSummary, 0, js)
}

func writeRecord(w io.Writer, kind byte, frame int, payload []byte) error {
	var hdr [9]byte
	hdr[0] = kind
	binary.LittleEndian.PutUint32(hdr[1:], uint32(frame))
	binary.LittleEndian.PutUint32(hdr[5:], uint32(len(payload)))
	if _, err := w.Write(hdr[:]); err != nil {
		return fmt.Errorf("dicom worker: write: %w", err)
	}
	if _, err := w.Write(payload); err != nil {
		return fmt.Errorf("dicom worker: write: %w", err)
	}
	// Flush each record, so that what is done reaches the parent even if the
	// worker dies on the next frame.
	if f, ok := w.(interface{ Flush() error }); ok {
		if err := f.Flush(); err != nil {
			return fmt.Errorf("dicom worker: write: %w", err)
		}
	}
	return nil
}

// parentReader reads the file from the parent, a request at a time.
type parentReader struct {
	in   io.Reader
	out  *bufio.Writer
	size int64
}

func (p *parentReader) ReadAt(b []byte, off int64) (int, error) {
	if off < 0 || off >= p.size {
		return 0, io.EOF
	}
	n := min(int64(len(b)), p.size-off)
	for done := int64(0); done < n; {
		part := min(n-done, maxReadRequest)
		req := binary.LittleEndian.AppendUint64(nil, uint64(off+done))
		req = binary.LittleEndian.AppendUint32(req, uint32(part))
		if err := writeRecord(p.out, recRead, 0, req); err != nil {
			return int(done), err
		}
		if _, err := io.ReadFull(p.in, b[done:done+part]); err != nil {
			return int(done), fmt.Errorf("dicom worker: read from parent: %w", err)
		}
		done += part
	}
	if n < int64(len(b)) {
		return int(n), io.EOF
	}
	return int(n), nil
}

// DefaultWorkerHeap is the soft limit of the worker's Go heap: the garbage
// collector works to stay below it, so the worker's memory follows what it
// holds, not what it has freed.
const DefaultWorkerHeap = 192 << 20

// limitMemory lets the process's address space grow by at most limit bytes from
// now on, and tells the garbage collector to keep the heap below heap (0: the
// default, but never above three quarters of limit). Measuring from the
// current size keeps the limit meaningful whatever the runtime (or the race
// detector) has already reserved.
func limitMemory(limit, heap int64) error {
	if heap <= 0 {
		heap = DefaultWorkerHeap
	}
	debug.SetMemoryLimit(min(heap, limit*3/4))
	vm, err := addressSpace()
	if err != nil {
		return fmt.Errorf("dicom worker: %w", err)
	}
	lim := uint64(vm + limit)
	rl := syscall.Rlimit{Cur: lim, Max: lim}
	if err := syscall.Setrlimit(syscall.RLIMIT_AS, &rl); err != nil {
		return fmt.Errorf("dicom worker: set RLIMIT_AS: %w", err)
	}
	return nil
}

// addressSpace returns the size of the process's virtual address space.
func addressSpace() (int64, error) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, fmt.Errorf("read address space size: %w", err)
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, errors.New("read address space size: empty /proc/self/statm")
	}
	pages, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("read address space size: %w", err)
	}
	return pages * int64(os.Getpagesize()), nil
}
