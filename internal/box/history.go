package box

import (
	"context"
	"time"

	"github.com/medbox-jp/medbox/internal/audit"
	"github.com/medbox-jp/medbox/internal/member"
)

// Access is one line of a box's access history.
type Access struct {
	At     time.Time
	Who    member.ID
	Name   string // empty for someone no longer in the box (withdrawn), "system" for the service
	Action string
	Target string
}

// historyLimit is how many of a box's latest accesses History returns: every
// view of the box page is one, and the page shows the history.
const historyLimit = 200

// History returns who did what in box id and when — views, downloads, uploads,
// comments, recipients added, deletions — for its participants (R-X5), newest
// first, the latest 200 (older ones are in the administrators' export).
func (s *Service) History(ctx context.Context, actor member.ID, id ID) ([]Access, error) {
	b, err := s.Get(ctx, actor, id)
	if err != nil {
		return nil, err
	}
	return s.HistoryOf(ctx, b)
}

// HistoryOf is History for a box its caller already holds as View or Get
// returned it to the actor — the access decided — without reading the box
// again (the box page: four queries fewer on every view).
func (s *Service) HistoryOf(ctx context.Context, b *Box) ([]Access, error) {
	names := map[string]string{}
	for _, p := range b.Participants {
		names[string(p.ID)] = p.Name
	}
	events, err := s.audit.List(ctx, audit.Filter{Box: string(b.ID), Newest: true, Limit: historyLimit})
	if err != nil {
		return nil, err
	}
	out := make([]Access, 0, len(events))
	for _, e := range events {
		out = append(out, Access{At: e.At, Who: member.ID(e.Actor), Name: names[e.Actor], Action: e.Action, Target: e.Target})
	}
	return out, nil
}
