package notify

import (
	"sort"

	"github.com/medbox-jp/medbox/internal/box"
	"github.com/medbox-jp/medbox/internal/i18n"
	"github.com/medbox-jp/medbox/internal/mail"
)

type item struct {
	Box  box.ID
	Kind Kind
}

// compose builds the one mail for a member's notices. One box with one kind gets
// that kind's mail; anything more becomes a digest with a line per box. Only the
// kind of news and the link go in: nothing about patients, files or messages.
func (s *Service) compose(lang i18n.Lang, items []item) *mail.Message {
	byBox := map[box.ID][]Kind{}
	var order []box.ID
	for _, it := range items {
		if _, ok := byBox[it.Box]; !ok {
			order = append(order, it.Box)
		}
		byBox[it.Box] = append(byBox[it.Box], it.Kind)
	}
	link := func(b box.ID) string { return s.o.BaseURL + "/boxes/" + string(b) }
	if len(order) == 1 && len(dedupeKinds(byBox[order[0]])) == 1 {
		return mail.Compose(lang, "mail.notice."+string(byBox[order[0]][0]), map[string]any{"Link": link(order[0])})
	}
	lines := func(l i18n.Lang) string {
		out := ""
		for _, b := range order {
			for _, k := range dedupeKinds(byBox[b]) {
				out += "・" + i18n.T(l, "notice.line."+string(k)) + "\n  " + link(b) + "\n"
			}
		}
		return out
	}
	// N counts what a person would: the exchanges with news, not the notices.
	return mail.Compose(lang, "mail.notice.digest", map[string]any{
		"N": len(order), "Lines": lines(lang), "LinesEn": lines(i18n.En), "Link": s.o.BaseURL + "/boxes"})
}

func dedupeKinds(ks []Kind) []Kind {
	seen := map[Kind]bool{}
	var out []Kind
	for _, k := range ks {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	sort.Slice(out, func(i, j int) bool { return rank(out[i]) < rank(out[j]) })
	return out
}

func rank(k Kind) int {
	for i, x := range Kinds {
		if x == k {
			return i
		}
	}
	return len(Kinds)
}
