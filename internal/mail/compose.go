package mail

import (
	"fmt"
	"html"
	"regexp"
	"strings"

	"github.com/medbox-jp/medbox/internal/i18n"
)

// Compose builds a message from the i18n messages id+".subject" and id+".body",
// filled with data. For a Japanese reader the mail is Japanese first with the
// English text below; for an English reader it is English only. The HTML
// alternative carries the same words, escaped, with the links made clickable.
func Compose(lang i18n.Lang, id string, data map[string]any) *Message {
	args := make([]any, 0, 2*len(data))
	for k, v := range data {
		args = append(args, k, v)
	}
	subject := i18n.T(lang, id+".subject", args...)
	body := i18n.T(lang, id+".body", args...)
	footer := i18n.T(lang, "mail.footer")
	if lang != i18n.En {
		en := strings.TrimSpace(strings.TrimPrefix(i18n.T(i18n.En, id+".subject", args...), "[MedBox]"))
		subject += " / " + en
		body += "\n\n" + footer + "\n\n―――― English ――――\n\n" + i18n.T(i18n.En, id+".body", args...)
		footer = i18n.T(i18n.En, "mail.footer")
	}
	text := body + "\n\n" + footer + "\n"
	m := &Message{Subject: subject, Text: text, HTML: toHTML(text)}
	if link, ok := data["Link"]; ok {
		m.Link = fmt.Sprint(link)
	}
	return m
}

var urlRE = regexp.MustCompile(`https?://[^\s<>"]+`)

// toHTML renders plain text as simple, escaped HTML paragraphs with links.
func toHTML(text string) string {
	var b strings.Builder
	b.WriteString(`<!doctype html><html><body style="font-family:sans-serif;line-height:1.6">`)
	for _, para := range strings.Split(strings.TrimSpace(text), "\n\n") {
		b.WriteString("<p>")
		for i, line := range strings.Split(para, "\n") {
			if i > 0 {
				b.WriteString("<br>")
			}
			last := 0
			for _, loc := range urlRE.FindAllStringIndex(line, -1) {
				b.WriteString(html.EscapeString(line[last:loc[0]]))
				u := html.EscapeString(line[loc[0]:loc[1]])
				b.WriteString(`<a href="` + u + `">` + u + `</a>`)
				last = loc[1]
			}
			b.WriteString(html.EscapeString(line[last:]))
		}
		b.WriteString("</p>")
	}
	b.WriteString("</body></html>")
	return b.String()
}
