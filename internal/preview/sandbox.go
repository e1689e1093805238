package preview

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// errOutputTooLarge stops a tool that writes more than it may.
var errOutputTooLarge = errors.New("tool output too large")

// toolInput is what a tool reads: the file as a memory file on fd 3
// (/dev/fd/3), or, when it is too large for memory, a stream on stdin.
type toolInput struct {
	r    io.ReaderAt
	size int64
}

// runTool runs an external program on untrusted content in a sandbox and returns
// what it wrote to stdout. Plaintext never touches the disk: the input is a
// memory file (memfd) or a pipe, the output a pipe. The program gets an empty
// environment, "/" as its directory, limits on address space, CPU time, file
// size (nothing may be written to a file), core dumps and open files — set by the
// shell before exec, so there is no moment without them — its own process group,
// which is killed on timeout or cancellation, and it dies with its parent.
// args may name the input as "/dev/fd/3" when streamed is false, "pipe:0" or
// "-" otherwise; build them with argsFor.
func (s *Service) runTool(ctx context.Context, path string, in toolInput, argsFor func(streamed bool) []string, maxOut int64) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, s.lim.ToolTimeout)
	defer cancel()
	streamed := in.size > s.lim.MaxToolInput
	cpu := int(s.lim.ToolTimeout/time.Second) + 1
	script := `ulimit -v "$1" && ulimit -t "$2" && ulimit -f 0 && ulimit -c 0 && ulimit -n 64 && unset PWD OLDPWD && shift 2 && exec "$@"`
	argv := append([]string{"-c", script, "sh", strconv.FormatInt(s.lim.ToolMemory/1024, 10), strconv.Itoa(cpu), path}, argsFor(streamed)...)
	cmd := exec.CommandContext(ctx, "/bin/sh", argv...) // #nosec G204 -- a fixed script (limits, then exec) taking ffmpeg or pdftoppm and the arguments we build as positional arguments; the file is a memory file or a pipe
	cmd.Env = []string{}
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	out := &cappedBuffer{max: maxOut}
	var stderr cappedBuffer
	stderr.max, stderr.drop = 4096, true
	cmd.Stdout, cmd.Stderr = out, &stderr
	if streamed {
		cmd.Stdin = io.NewSectionReader(in.r, 0, in.size) // a tool that stops reading just closes the pipe
	} else {
		mf, err := memfd("medbox-preview-in")
		if err != nil {
			return nil, err
		}
		defer mf.Close()
		if _, err := io.Copy(mf, io.NewSectionReader(in.r, 0, in.size)); err != nil {
			return nil, fmt.Errorf("fill memory file: %w", err)
		}
		if _, err := mf.Seek(0, io.SeekStart); err != nil {
			return nil, fmt.Errorf("fill memory file: %w", err)
		}
		cmd.ExtraFiles = []*os.File{mf}
	}
	err := cmd.Run()
	switch {
	case out.over:
		return nil, cannot(ReasonTooLarge, "%s: %w", path, errOutputTooLarge)
	case ctx.Err() == context.DeadlineExceeded:
		return nil, cannot(ReasonCannotPreview, "%s timed out after %v", path, s.lim.ToolTimeout)
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case err != nil:
		// What the tool printed may quote the file; it goes to the debug log only.
		s.log.DebugContext(ctx, "preview tool failed", "tool", path, "err", err, "stderr", stderr.String())
		return nil, cannot(ReasonCannotPreview, "%s: %v", path, err)
	}
	return out.Bytes(), nil
}

func memfd(name string) (*os.File, error) {
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	return os.NewFile(uintptr(fd), name), nil
}

// cappedBuffer keeps at most max bytes. Past that it fails the write (stopping
// the tool with a broken pipe) or, with drop, discards the rest. It is no
// io.ReaderFrom, so that every byte passes through Write.
type cappedBuffer struct {
	buf  bytes.Buffer
	max  int64
	drop bool
	over bool
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	room := b.max - int64(b.buf.Len())
	if int64(len(p)) > room {
		b.buf.Write(p[:max(room, 0)])
		if b.drop {
			return len(p), nil
		}
		b.over = true
		return 0, errOutputTooLarge
	}
	return b.buf.Write(p)
}

func (b *cappedBuffer) Bytes() []byte  { return b.buf.Bytes() }
func (b *cappedBuffer) String() string { return b.buf.String() }
