package dicom

import (
	"bufio"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Guard defaults.
const (
	DefaultWorkerMemory  = 2 << 30
	DefaultWorkerTimeout = 60 * time.Second
	DefaultMaxInput      = 1 << 30
)

// Guard parses and decodes untrusted DICOM files in a child process (WorkerMain)
// with a memory and a time limit, so that a parser bug, a decompression bomb or a
// pathological file costs one child process, never the server. A Guard is safe for
// concurrent use; each Extract runs its own child.
type Guard struct {
	// Command runs the worker, e.g. []string{os.Executable(), "dicom-worker"}.
	Command []string
	// Env is the child's entire environment (default: empty).
	Env []string
	// MemoryLimit bounds how much address space the child may add after it
	// starts (default 2 GiB).
	MemoryLimit int64
	// HeapLimit is the soft limit of the child's Go heap (default
	// DefaultWorkerHeap).
	HeapLimit int64
	// Timeout bounds one Extract (default 60 s); the child is killed after it.
	Timeout time.Duration
	// MaxInput bounds the size of a file (default 1 GiB).
	MaxInput int64
	// Limits are passed to Parse in the child; zero means DefaultLimits().
	Limits Limits
}

// Extract parses and decodes src in a child process. It returns the summary
// and, through emit, in this order: a JPEG thumbnail, a JPEG of the shown frame
// (the fallback view), and every frame as a ViewerFrame (with a screen-sized
// ScreenViewer after each frame larger than ScreenMaxSide) — one at a time, so
// that memory stays bounded on both sides. Every failure of the child
// (garbage input, an unsupported image, a panic, running out of memory or time)
// is an error wrapping ErrCannotPreview; the summary is still returned when the
// header could be read, and outputs already emitted should be discarded. An error
// from emit stops the child and is returned as is.
//
// The child holds all of src in memory; ExtractFile is for files whose size
// is known, which it reads part by part.
func (g *Guard) Extract(ctx context.Context, src io.Reader, opt ExtractOptions, emit func(Output) error) (Summary, error) {
	return g.run(ctx, src, nil, 0, opt, emit)
}

// ExtractFile is Extract for a file of size bytes read through src: the child
// asks for its header, then for each frame's bytes as it decodes it, so that it
// never holds the whole file. src is only read during the call.
func (g *Guard) ExtractFile(ctx context.Context, src io.ReaderAt, size int64, opt ExtractOptions, emit func(Output) error) (Summary, error) {
	if size <= 0 {
		return Summary{}, fmt.Errorf("%w: empty file", ErrCannotPreview)
	}
	return g.run(ctx, nil, src, size, opt, emit)
}

func (g *Guard) run(ctx context.Context, stream io.Reader, at io.ReaderAt, size int64, opt ExtractOptions, emit func(Output) error) (Summary, error) {
	if len(g.Command) == 0 {
		return Summary{}, errors.New("dicom guard: no worker command")
	}
	timeout := cmp.Or(g.Timeout, DefaultWorkerTimeout)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req := workRequest{
		MemoryLimit: cmp.Or(g.MemoryLimit, DefaultWorkerMemory),
		HeapLimit:   g.HeapLimit,
		MaxInput:    cmp.Or(g.MaxInput, DefaultMaxInput),
		Limits:      g.Limits,
		Options:     opt,
		Size:        size,
	}
	if req.Limits == (Limits{}) {
		req.Limits = DefaultLimits()
	}
	if size > req.MaxInput {
		return Summary{}, fmt.Errorf("%w: %w: a file of %d bytes, limit %d", ErrCannotPreview, ErrTooLarge, size, req.MaxInput)
	}
	cmd := exec.CommandContext(ctx, g.Command[0], g.Command[1:]...) // #nosec G204 -- our own executable (dicom-worker), configured by the server, not by input
	cmd.Env = append([]string{}, g.Env...)
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	var stderr limitedBuffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return Summary{}, fmt.Errorf("dicom guard: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return Summary{}, fmt.Errorf("dicom guard: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return Summary{}, fmt.Errorf("dicom guard: start worker: %w", err)
	}
	js, _ := json.Marshal(req)
	hdr := binary.LittleEndian.AppendUint32([]byte(requestMagic), uint32(len(js)))
	if stream != nil {
		go func() {
			defer stdin.Close()
			if _, err := stdin.Write(append(hdr, js...)); err != nil {
				return
			}
			io.Copy(stdin, io.LimitReader(stream, req.MaxInput+1)) // a dead child just stops reading
		}()
	} else if _, err := stdin.Write(append(hdr, js...)); err != nil {
		cancel()
	}
	var files *fileServer
	if at != nil {
		files = &fileServer{at: at, size: size, to: stdin}
	}
	sum, done, workErr, emitErr := g.read(stdout, req, files, emit)
	if emitErr != nil {
		cancel()
	}
	if files != nil {
		stdin.Close()
	}
	waitErr := cmd.Wait()
	switch {
	case emitErr != nil:
		return sum, emitErr
	case ctx.Err() == context.DeadlineExceeded:
		return sum, fmt.Errorf("%w: worker timed out after %v", ErrCannotPreview, timeout)
	case ctx.Err() != nil:
		return sum, ctx.Err()
	case workErr != nil:
		return sum, fmt.Errorf("%w: %w", ErrCannotPreview, workErr)
	case !done || waitErr != nil:
		return sum, fmt.Errorf("%w: worker died (%v): %s", ErrCannotPreview, waitErr, lastLine(stderr.String()))
	}
	return sum, nil
}

// fileServer answers the worker's read requests from the file.
type fileServer struct {
	at   io.ReaderAt
	size int64
	to   io.Writer
	buf  []byte
}

// serve answers one 'Q' request. A request outside the file is the worker's
// error; a failed read of the file is ours.
func (s *fileServer) serve(payload []byte) (workErr, ourErr error) {
	if len(payload) != 12 {
		return errors.New("worker sent a bad read request"), nil
	}
	off, n := int64(binary.LittleEndian.Uint64(payload)), int64(binary.LittleEndian.Uint32(payload[8:]))
	if off < 0 || n > maxReadRequest || off > s.size || n > s.size-off {
		return fmt.Errorf("worker asked for %d bytes at %d of a %d-byte file", n, off, s.size), nil
	}
	for n > 0 {
		part := min(n, 1<<20)
		if int64(cap(s.buf)) < part {
			s.buf = make([]byte, part)
		}
		b := s.buf[:part]
		if _, err := s.at.ReadAt(b, off); err != nil && !(errors.Is(err, io.EOF) && off+part == s.size) {
			return nil, fmt.Errorf("read file for the DICOM worker: %w", err)
		}
		if _, err := s.to.Write(b); err != nil {
			return nil, nil // the worker died; Wait tells why
		}
		off, n = off+part, n-part
	}
	return nil, nil
}

// read consumes the worker's records. workErr is what the worker reported or a
// broken stream; emitErr is an error from emit.
func (g *Guard) read(r io.Reader, req workRequest, files *fileServer, emit func(Output) error) (sum Summary, done bool, workErr, emitErr error) {
	br := bufio.NewReaderSize(r, 64<<10)
	lim := req.Limits.withDefaults()
	maxRecord := 4*lim.MaxFramePixels + 1<<20
	kinds := map[byte]OutputKind{recThumbnail: Thumbnail, recRendered: Rendered, recViewer: Viewer, recScreen: ScreenViewer}
	for {
		var hdr [9]byte
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return sum, false, nil, nil // the worker died; Wait tells why
		}
		kind, frame, n := hdr[0], binary.LittleEndian.Uint32(hdr[1:]), int64(binary.LittleEndian.Uint32(hdr[5:]))
		if n > maxRecord {
			return sum, false, fmt.Errorf("worker sent a record of %d bytes", n), nil
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(br, payload); err != nil {
			return sum, false, nil, nil
		}
		switch kind {
		case recDone:
			return sum, true, nil, nil
		case recError:
			return sum, true, errors.New(string(payload)), nil
		case recSummary:
			if err := json.Unmarshal(payload, &sum); err != nil {
				return sum, false, fmt.Errorf("worker sent a bad summary: %w", err), nil
			}
		case recRead:
			if files == nil {
				return sum, false, errors.New("worker asked to read a streamed file"), nil
			}
			if werr, err := files.serve(payload); werr != nil || err != nil {
				return sum, false, werr, err
			}
		default:
			k, ok := kinds[kind]
			if !ok {
				return sum, false, fmt.Errorf("worker sent record kind %q", kind), nil
			}
			if err := emit(Output{Kind: k, Frame: int(frame), Data: payload}); err != nil {
				return sum, false, nil, err
			}
		}
	}
}

// lastLine picks the line of the child's stderr that says why it died: the Go
// runtime's "fatal error: ..." or "panic: ...", else the last line.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for _, l := range lines {
		if strings.HasPrefix(l, "fatal error:") || strings.HasPrefix(l, "panic:") {
			return strings.TrimSpace(l)
		}
	}
	if l := strings.TrimSpace(lines[len(lines)-1]); l != "" {
		return l
	}
	return "no message"
}

// WorkerCommand returns the Command for a Guard that runs this executable's
// hidden subcommand sub (for example "dicom-worker").
func WorkerCommand(sub string) ([]string, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("dicom guard: %w", err)
	}
	return []string{exe, sub}, nil
}
