package server

import (
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/medbox-jp/medbox/internal/member"
)

// Sweep is `medbox admin sweep`, a maintenance command left out of the usage
// text (docs/deploy.md describes it). It does at once what the hourly job
// does — removes stored objects that belong to no file and no upload, such as
// the chunks of an upload aborted while its instance died — and then recounts
// every member's quota from the files and uploads that exist. It fails when a
// stored usage differs from the recount, so a script can tell.
func (a *Instance) Sweep(ctx context.Context, stdout io.Writer) error {
	before, err := countObjects(ctx, a, "f/")
	if err != nil {
		return err
	}
	if err := a.Uploads.SweepOrphans(ctx, a.Now()); err != nil {
		return fmt.Errorf("sweep orphaned objects: %w", err)
	}
	after, err := countObjects(ctx, a, "f/")
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "orphan sweep: %d file objects before, %d after (%d removed)\n", before, after, before-after)
	stored, counted, err := a.Boxes.Recount(ctx)
	if err != nil {
		return fmt.Errorf("recount quota: %w", err)
	}
	var ids []member.ID
	for id := range stored {
		ids = append(ids, id)
	}
	for id := range counted {
		if _, ok := stored[id]; !ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	wrong := 0
	for _, id := range ids {
		if stored[id] != counted[id] {
			wrong++
			fmt.Fprintf(stdout, "quota mismatch: member %s stored %d bytes, recount %d\n", id, stored[id], counted[id])
		}
	}
	if wrong > 0 {
		return fmt.Errorf("quota: %d of %d members' stored usage differs from the recount", wrong, len(ids))
	}
	fmt.Fprintf(stdout, "quota: %d members with usage; every stored usage equals the recount\n", len(ids))
	return nil
}

func countObjects(ctx context.Context, a *Instance, prefix string) (int, error) {
	n := 0
	err := a.Sealed.List(ctx, prefix, func(string, int64) error { n++; return nil })
	if err != nil {
		return 0, fmt.Errorf("list stored objects: %w", err)
	}
	return n, nil
}
