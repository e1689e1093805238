package member_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/medbox-jp/medbox/internal/featuretest"
	"github.com/medbox-jp/medbox/internal/member"
)

// TestDirectorySearch (R-M6): members find approved colleagues by name, kana in
// either script and width, workplace or department; never by e-mail address,
// never someone awaiting review, rejected, suspended or an administrator, and
// never themselves. The directory is read only, so the cases share one.
func TestDirectorySearch(t *testing.T) {
	t.Parallel()
	type people struct {
		viewer, sato, yamada, percent *member.Member
	}
	tests := []struct {
		query string
		want  func(p people) []*member.Member
	}{
		{"佐藤", func(p people) []*member.Member { return []*member.Member{p.sato} }},
		{"さとう", func(p people) []*member.Member { return []*member.Member{p.sato} }},
		{"サトウ", func(p people) []*member.Member { return []*member.Member{p.sato} }},
		{"ｻﾄｳ", func(p people) []*member.Member { return []*member.Member{p.sato} }},
		{"さとうはなこ", func(p people) []*member.Member { return []*member.Member{p.sato} }},
		{" サトウ　ハナコ ", func(p people) []*member.Member { return []*member.Member{p.sato} }},
		{"北町", func(p people) []*member.Member { return []*member.Member{p.sato} }},
		{"ｷﾀﾏﾁ", nil}, // the workplace is in kanji only
		{"内科", func(p people) []*member.Member { return []*member.Member{p.sato} }},
		{"やまだ", func(p people) []*member.Member { return []*member.Member{p.yamada} }},
		{"ﾔﾏﾀﾞ", func(p people) []*member.Member { return []*member.Member{p.yamada} }},
		{"ＡＢＣ", func(p people) []*member.Member { return []*member.Member{p.yamada} }}, // full-width Latin folds
		{"abc clinic", func(p people) []*member.Member { return []*member.Member{p.yamada} }},
		{"病院", func(p people) []*member.Member { return []*member.Member{p.percent, p.yamada} }},
		{"100%", func(p people) []*member.Member { return []*member.Member{p.percent} }},
		{"%", func(p people) []*member.Member { return []*member.Member{p.percent} }},
		{"_", nil},
		{"クリニック内科", nil}, // across two fields
		{"sato", nil},
		{"sato@clinic", nil},
		{"example.jp", nil},
		{"鈴木", nil}, // pending
		{"高橋", nil}, // suspended
		{"田中", nil}, // rejected
		{"管理", nil}, // administrator
		{"閲覧", nil}, // the viewer
		{"", func(p people) []*member.Member { return []*member.Member{p.percent, p.sato, p.yamada} }}, // in kana order
	}
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		w.Admin()
		p := people{
			viewer: w.Member(featuretest.NewMember{Name: "閲覧 一郎", NameKana: "えつらん いちろう"}),
			sato: w.Member(featuretest.NewMember{Email: "sato@clinic.example.jp", Name: "佐藤 花子", NameKana: "サトウ ハナコ",
				Workplace: "北町クリニック", Department: "内科"}),
			yamada:  w.Member(featuretest.NewMember{Name: "山田 太郎", NameKana: "ﾔﾏﾀﾞ ﾀﾛｳ", Workplace: "ABC Clinic", Department: "南病院 外科"}),
			percent: w.Member(featuretest.NewMember{Name: "百 一", NameKana: "あああ", Workplace: "100%病院"}),
		}
		w.Registered(featuretest.NewMember{Name: "鈴木 一郎", NameKana: "すずき いちろう"})
		inStateNamed(t, w, member.Suspended, "高橋 次郎")
		inStateNamed(t, w, member.Rejected, "田中 三郎")
		for _, tt := range tests {
			t.Run(tt.query, func(t *testing.T) {
				got, err := w.Members.Search(t.Context(), p.viewer.ID, tt.query, 0)
				if err != nil {
					t.Fatal(err)
				}
				var want []member.ID
				if tt.want != nil {
					for _, m := range tt.want(p) {
						want = append(want, m.ID)
					}
				}
				var ids []member.ID
				for _, e := range got {
					ids = append(ids, e.ID)
				}
				if !slices.Equal(ids, want) {
					t.Errorf("Search(%q) = %v, want %v", tt.query, names(got), want)
				}
				raw, _ := json.Marshal(got)
				if strings.Contains(string(raw), "@") {
					t.Errorf("Search(%q) shows an e-mail address: %s", tt.query, raw)
				}
			})
		}
		entries, err := w.Members.Entries(t.Context(), []member.ID{p.yamada.ID, "nobody", w.Admin().ID, p.sato.ID})
		if err != nil || len(entries) != 2 || entries[0].ID != p.yamada.ID || entries[1].ID != p.sato.ID {
			t.Errorf("Entries() = %v, %v; want yamada and sato, in that order", names(entries), err)
		}
	})
}

// TestDirectoryLimit: one page holds at most DirectoryLimit entries.
func TestDirectoryLimit(t *testing.T) {
	t.Parallel()
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		viewer := w.Member(featuretest.NewMember{})
		for range 3 {
			w.Member(featuretest.NewMember{})
		}
		for _, tt := range []struct{ limit, want int }{{2, 2}, {0, 3}, {member.DirectoryLimit + 1, 3}} {
			if got, err := w.Members.Search(t.Context(), viewer.ID, "", tt.limit); err != nil || len(got) != tt.want {
				t.Errorf("Search(limit %d) = %d entries, %v; want %d", tt.limit, len(got), err, tt.want)
			}
		}
	})
}

func names(es []member.Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Name)
	}
	return out
}

// inStateNamed is inState for a member called name.
func inStateNamed(t *testing.T, w *featuretest.World, status member.Status, name string) *member.Member {
	t.Helper()
	m := w.Registered(featuretest.NewMember{Name: name, NameKana: "なまえ"})
	ctx, admin := t.Context(), w.Admin().ID
	var err error
	switch status {
	case member.Rejected:
		err = w.Members.Reject(ctx, admin, m.ID, "不鮮明", "")
	case member.Suspended:
		if err = w.Members.Approve(ctx, admin, m.ID, ""); err == nil {
			err = w.Members.Suspend(ctx, admin, m.ID, "")
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	return m
}
