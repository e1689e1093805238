package box

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"github.com/medbox-jp/medbox/internal/audit"
	"github.com/medbox-jp/medbox/internal/blob"
	"github.com/medbox-jp/medbox/internal/filetype"
	"github.com/medbox-jp/medbox/internal/member"
	"github.com/medbox-jp/medbox/internal/seal"
	"github.com/medbox-jp/medbox/internal/sqldb"
)

// Content is an open file: an io.ReadSeeker over its sealed chunks that fetches and
// decrypts only the part being read, so Range requests (video seeking, resumed
// downloads) cost what they ask for and memory does not grow with the file.
type Content struct {
	ctx   context.Context
	store blob.Store
	f     File
	off   int64
	cur   io.ReadCloser
}

// OpenContent opens file id for actor, who must take part in its box.
func (s *Service) OpenContent(ctx context.Context, actor member.ID, id FileID) (*Content, error) {
	f, err := s.File(ctx, actor, id)
	if err != nil {
		return nil, err
	}
	return s.openFile(ctx, f)
}

// OpenStored opens the sealed chunks described by f without a visibility check;
// it is for the upload that is writing them (which checked its own access).
func (s *Service) OpenStored(ctx context.Context, f File) (*Content, error) {
	return s.openFile(ctx, &f)
}

func (s *Service) openFile(ctx context.Context, f *File) (*Content, error) {
	dk, err := s.master.Key(ctx, s.db, f.KeyID)
	if errors.Is(err, seal.ErrKeyNotFound) {
		return nil, ErrNotFound // deleted a moment ago
	}
	if err != nil {
		return nil, fmt.Errorf("open file %s: %w", f.ID, err)
	}
	return &Content{ctx: ctx, store: s.sealed.With(dk), f: *f}, nil
}

// File describes the open file.
func (c *Content) File() File { return c.f }

// Read reads from the current offset, moving from chunk to chunk.
func (c *Content) Read(p []byte) (int, error) {
	for {
		if c.off >= c.f.Size {
			return 0, io.EOF
		}
		if c.cur == nil {
			n := int(c.off / c.f.ChunkSize)
			rc, err := c.store.Get(c.ctx, ChunkKey(c.f.ID, n), c.off%c.f.ChunkSize, -1)
			if err != nil {
				return 0, fmt.Errorf("read chunk %d of %s: %w", n, c.f.ID, err)
			}
			c.cur = rc
		}
		k, err := c.cur.Read(p)
		c.off += int64(k)
		if errors.Is(err, io.EOF) {
			c.cur.Close()
			c.cur = nil
			if k > 0 {
				return k, nil
			}
			continue
		}
		return k, err
	}
}

// Seek moves the offset; the next Read opens the chunk it falls in.
func (c *Content) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += c.off
	case io.SeekEnd:
		offset += c.f.Size
	}
	if offset < 0 {
		return 0, errors.New("seek before start")
	}
	if offset != c.off && c.cur != nil {
		c.cur.Close()
		c.cur = nil
	}
	c.off = offset
	return offset, nil
}

// ReadAt reads len(p) bytes at off without moving the offset (for content sniffing).
func (c *Content) ReadAt(p []byte, off int64) (int, error) {
	if off >= c.f.Size {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && off < c.f.Size {
		idx := int(off / c.f.ChunkSize)
		inChunk := off % c.f.ChunkSize
		want := min(int64(len(p)-n), c.f.ChunkSize-inChunk, c.f.Size-off)
		rc, err := c.store.Get(c.ctx, ChunkKey(c.f.ID, idx), inChunk, want)
		if err != nil {
			return n, err
		}
		k, err := io.ReadFull(rc, p[n:n+int(want)])
		rc.Close()
		n += k
		off += int64(k)
		if err != nil {
			return n, err
		}
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// Close releases the chunk being read.
func (c *Content) Close() error {
	if c.cur != nil {
		err := c.cur.Close()
		c.cur = nil
		return err
	}
	return nil
}

// RecordDownload records that actor read file f (R-X5).
func (s *Service) RecordDownload(ctx context.Context, actor member.ID, f File, action, addr string) error {
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		return s.audit.Record(ctx, tx, audit.Event{At: s.now(), Actor: string(actor), Action: action, Target: string(f.ID), Box: string(f.Box), Addr: addr,
			Detail: map[string]string{"size": fmt.Sprint(f.Size)}})
	})
}

// WriteZip streams every file of box id into w as one ZIP, without temporary
// copies (R-T2). Files are stored, not compressed: images, video and DICOM do not
// shrink enough to be worth the CPU. Names are made unique and safe.
func (s *Service) WriteZip(ctx context.Context, actor member.ID, id ID, w io.Writer, addr string) error {
	b, err := s.Get(ctx, actor, id)
	if err != nil {
		return err
	}
	var total int64
	for _, f := range b.Files {
		total += f.Size
	}
	if err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		return s.audit.Record(ctx, tx, audit.Event{At: s.now(), Actor: string(actor), Action: "box.download_zip", Target: string(id), Box: string(id), Addr: addr,
			Detail: map[string]string{"files": fmt.Sprint(len(b.Files)), "size": fmt.Sprint(total)}})
	}); err != nil {
		return err
	}
	zw := zip.NewWriter(w)
	used := map[string]int{}
	for i := range b.Files {
		f := &b.Files[i]
		c, err := s.openFile(ctx, f)
		if errors.Is(err, ErrNotFound) {
			continue // deleted while the archive was being written
		}
		if err != nil {
			return err
		}
		hw, err := zw.CreateHeader(&zip.FileHeader{Name: uniqueName(used, SafeName(f.Name)), Method: zip.Store,
			Modified: f.CreatedAt.In(time.Local), UncompressedSize64: uint64(f.Size)})
		if err != nil {
			c.Close()
			return err
		}
		_, err = io.Copy(hw, c)
		c.Close()
		if err != nil {
			return fmt.Errorf("zip file %s: %w", f.ID, err)
		}
	}
	return zw.Close()
}

// SafeName makes a file name safe to show and to unpack: no directories, no
// control characters, no invisible or bidirectional formatting characters
// (filetype.DisplayName), no leading dots, at most 200 characters.
func SafeName(name string) string {
	name = filetype.DisplayName(name)
	name = strings.ReplaceAll(name, "\\", "/")
	name = path.Base(name)
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || strings.ContainsRune(`<>:"|?*`, r) {
			return '_'
		}
		return r
	}, name)
	name = strings.TrimLeft(strings.TrimSpace(name), ".")
	if r := []rune(name); len(r) > 200 {
		ext := path.Ext(name)
		name = string(r[:200-len([]rune(ext))]) + ext
	}
	if name == "" || name == "/" {
		name = "file"
	}
	return name
}

func uniqueName(used map[string]int, name string) string {
	key := strings.ToLower(name)
	used[key]++
	if used[key] == 1 {
		return name
	}
	ext := path.Ext(name)
	alt := fmt.Sprintf("%s (%d)%s", strings.TrimSuffix(name, ext), used[key], ext)
	used[strings.ToLower(alt)]++
	return alt
}
