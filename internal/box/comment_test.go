package box_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/medbox-jp/medbox/internal/box"
	"github.com/medbox-jp/medbox/internal/featuretest"
	"github.com/medbox-jp/medbox/internal/member"
)

// TestComments (R-S6): every participant writes to the box's thread, which every
// participant reads; a comment is trimmed, has line ends made plain, and is
// neither empty nor longer than 4000 characters.
func TestComments(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		author   func(*fixture) member.ID
		body     string
		wantBody string
		wantErr  error
		wantCode string // of an InputError
	}{
		{name: "recipient", author: (*fixture).colleagueID, body: "拝見しました", wantBody: "拝見しました"},
		{name: "sender", author: (*fixture).senderID, body: "よろしくお願いします", wantBody: "よろしくお願いします"},
		{name: "line ends and spaces", author: (*fixture).colleagueID, body: "  一行目\r\n二行目\n ", wantBody: "一行目\n二行目"},
		{name: "4000 characters", author: (*fixture).colleagueID, body: strings.Repeat("所", 4000), wantBody: strings.Repeat("所", 4000)},
		{name: "4001 characters", author: (*fixture).colleagueID, body: strings.Repeat("所", 4001), wantCode: "too_long"},
		{name: "empty", author: (*fixture).colleagueID, body: "", wantCode: "required"},
		{name: "only spaces", author: (*fixture).senderID, body: " \r\n\t ", wantCode: "required"},
		{name: "outsider", author: (*fixture).outsiderID, body: "見えますか", wantErr: box.ErrNotFound},
	}
	featuretest.EachShared(t, shared, func(t *testing.T, w *featuretest.World) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				ctx := t.Context()
				f := newFixture(t, w)
				author := tt.author(f)
				c, err := f.Boxes.AddComment(ctx, author, f.box, tt.body, "")
				switch {
				case tt.wantCode != "":
					checkInputError(t, "AddComment()", err, "body", tt.wantCode)
				case !errors.Is(err, tt.wantErr):
					t.Fatalf("AddComment() error = %v, want %v", err, tt.wantErr)
				}
				for _, reader := range []member.ID{f.sender.ID, f.colleague.ID} {
					b, err := f.Boxes.Get(ctx, reader, f.box)
					if err != nil {
						t.Fatal(err)
					}
					if tt.wantBody == "" {
						if len(b.Comments) != 0 {
							t.Errorf("%d comments after a refusal, want none", len(b.Comments))
						}
						continue
					}
					if len(b.Comments) != 1 {
						t.Fatalf("%s reads %d comments, want 1", reader, len(b.Comments))
					}
					got := b.Comments[0]
					if got.ID != c.ID || got.Author != author || got.Body != tt.wantBody || got.AuthorName == "" {
						t.Errorf("%s reads %+v, want comment %s by %s: %q", reader, got, c.ID, author, tt.wantBody)
					}
				}
			})
		}
	})
}
