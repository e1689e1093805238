package dicom

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

// viaGDCM returns the file as decompressed by `gdcmconv --raw`, converting it once.
func (f *File) viaGDCM() (*File, error) {
	f.gdcmOnce.Do(func() {
		g := f.lim.GDCM
		timeout := g.Timeout
		if timeout <= 0 {
			timeout = 30 * time.Second
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		src := f.src
		if f.at != nil { // ParseAt read only the start
			src = make([]byte, f.size)
			if _, err := f.at.ReadAt(src, 0); err != nil && !errors.Is(err, io.EOF) {
				f.gdcmErr = fmt.Errorf("read file for gdcmconv: %w", err)
				return
			}
		}
		maxOut := 4*f.lim.MaxTotalPixels + int64(len(src)) + 1<<20
		out, err := convertGDCM(ctx, g, src, maxOut)
		if err != nil {
			f.gdcmErr = err
			return
		}
		lim := f.lim
		lim.GDCM = nil
		gf, err := Parse(out, lim)
		switch {
		case err != nil:
			f.gdcmErr = fmt.Errorf("parse gdcmconv output: %w", err)
		case gf.img == nil:
			f.gdcmErr = fmt.Errorf("gdcmconv output: %w", gf.imgErr)
		case gf.syntax.encapsulated:
			f.gdcmErr = fmt.Errorf("%w: gdcmconv left the pixel data compressed", ErrUnsupported)
		case gf.img.rows != f.img.rows || gf.img.cols != f.img.cols || gf.img.frames != f.img.frames || gf.img.samples != f.img.samples:
			f.gdcmErr = fmt.Errorf("%w: gdcmconv output has a different geometry", ErrMalformed)
		default:
			f.gdcmFile = gf
		}
	})
	return f.gdcmFile, f.gdcmErr
}

// convertGDCM runs `gdcmconv --raw` on src. Input and output are memory files
// (memfd) passed as /dev/fd/3 and /dev/fd/4, so no plaintext touches the disk.
// The child gets no environment, an address-space limit (set by the shell's
// ulimit before exec, so there is no window without it), its own process group,
// and dies with its parent.
func convertGDCM(ctx context.Context, g *GDCM, src []byte, maxOut int64) ([]byte, error) {
	in, err := memfd("medbox-dicom-in")
	if err != nil {
		return nil, err
	}
	defer in.Close()
	out, err := memfd("medbox-dicom-out")
	if err != nil {
		return nil, err
	}
	defer out.Close()
	if _, err := in.Write(src); err != nil {
		return nil, fmt.Errorf("gdcmconv input: %w", err)
	}
	if _, err := in.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("gdcmconv input: %w", err)
	}
	limit := g.MemoryLimit
	if limit <= 0 {
		limit = 1 << 30
	}
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", // #nosec G204 -- a fixed script (ulimit, then exec gdcmconv) taking its values as positional arguments; the file is a memory file
		`ulimit -v "$1" && exec "$2" --raw /dev/fd/3 /dev/fd/4`,
		"sh", strconv.FormatInt(limit/1024, 10), g.Path)
	cmd.Env = []string{}
	cmd.Dir = "/"
	cmd.ExtraFiles = []*os.File{in, out}
	var msg limitedBuffer
	cmd.Stdout, cmd.Stderr = &msg, &msg
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("gdcmconv: %w", ctx.Err())
		}
		return nil, fmt.Errorf("gdcmconv: %w: %s", err, bytes.TrimSpace(msg.Bytes()))
	}
	st, err := out.Stat()
	if err != nil {
		return nil, fmt.Errorf("gdcmconv output: %w", err)
	}
	if st.Size() > maxOut {
		return nil, fmt.Errorf("%w: gdcmconv output of %d bytes", ErrTooLarge, st.Size())
	}
	res := make([]byte, st.Size())
	if _, err := out.ReadAt(res, 0); err != nil && err != io.EOF {
		return nil, fmt.Errorf("gdcmconv output: %w", err)
	}
	return res, nil
}

func memfd(name string) (*os.File, error) {
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	return os.NewFile(uintptr(fd), name), nil
}

// limitedBuffer keeps the first 4 KiB written to it.
type limitedBuffer struct{ bytes.Buffer }

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := 4096 - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
