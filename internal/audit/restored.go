package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// SupersededPrefix is where Restored keeps the anchors of checkpoints that a
// restored database no longer holds, under the name of the backup generation.
const SupersededPrefix = "audit/superseded/"

// Restored is called once a database has been restored from backup generation
// into this instance, before the instance serves. The blob store may hold
// anchors of checkpoints newer than the restored ones (when the bucket outlived
// the database): they describe events the restore lost. They are kept, sealed as
// they were, under SupersededPrefix+generation, so new checkpoints can take
// their numbers, and the restore is recorded as backup.restore, naming them.
func (l *Log) Restored(ctx context.Context, generation string) error {
	detail := map[string]string{}
	moved, err := l.supersede(ctx, generation)
	if err != nil {
		return err
	}
	if len(moved) > 0 {
		detail["superseded_checkpoints"] = fmt.Sprintf("%d-%d", moved[0], moved[len(moved)-1])
	}
	return l.Append(ctx, Event{Actor: "cli", Action: "backup.restore", Target: generation, Detail: detail})
}

func (l *Log) supersede(ctx context.Context, generation string) ([]int64, error) {
	if l.anchors == nil {
		return nil, nil
	}
	k, err := l.readKeys(ctx, l.db)
	if errors.Is(err, errNoKey) {
		return nil, nil // nothing keyed was restored; anchors of another log stay for the auditor
	}
	if err != nil {
		return nil, err
	}
	last, err := LastCheckpoint(ctx, l.db)
	if err != nil {
		return nil, err
	}
	var newer []int64
	err = l.anchors.List(ctx, AnchorPrefix, func(key string, _ int64) error {
		if n, ok := AnchorNumber(key); ok && n > last {
			newer = append(newer, n)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list audit anchors: %w", err)
	}
	slices.Sort(newer)
	store := l.anchors.With(k.dk)
	for _, n := range newer {
		s, err := l.readAnchor(ctx, k, n)
		if err != nil {
			return nil, fmt.Errorf("keep superseded anchor: %w", err)
		}
		b, _ := json.Marshal(s)
		to := fmt.Sprintf("%s%s/%016d", SupersededPrefix, generation, n)
		if err := store.Put(ctx, to, bytes.NewReader(b), int64(len(b))); err != nil {
			return nil, fmt.Errorf("keep superseded anchor %d: %w", n, err)
		}
		if err := l.anchors.Delete(ctx, anchorKey(n)); err != nil {
			return nil, fmt.Errorf("keep superseded anchor %d: %w", n, err)
		}
	}
	return newer, nil
}
