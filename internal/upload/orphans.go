package upload

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/medbox-jp/medbox/internal/box"
)

// SweepOrphans deletes sealed objects that belong to no file and no upload: chunks
// that a client finished writing after its upload was aborted or completed, or
// objects left by a crash between storing and recording. A periodic job; their
// keys are gone already, so these bytes are unreadable even before the sweep.
func (s *Service) SweepOrphans(ctx context.Context, now time.Time) error {
	seen := map[string]bool{}
	err := s.boxes.Sealed().List(ctx, "f/", func(key string, _ int64) error {
		id, _, ok := strings.Cut(strings.TrimPrefix(key, "f/"), "/")
		if ok {
			seen[id] = true
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("list stored files: %w", err)
	}
	for id := range seen {
		var n int
		err := s.db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM files WHERE id = $1) + (SELECT count(*) FROM uploads WHERE file_id = $1)`, id).Scan(&n)
		if err != nil {
			return fmt.Errorf("check stored file %s: %w", id, err)
		}
		if n > 0 {
			continue
		}
		if err := s.boxes.Sealed().DeleteAll(ctx, box.FilePrefix(box.FileID(id))); err != nil {
			return fmt.Errorf("delete orphaned %s: %w", id, err)
		}
		s.log.InfoContext(ctx, "orphaned objects removed", "file", id)
	}
	return nil
}
