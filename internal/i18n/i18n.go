// Package i18n holds the Japanese and English texts of pages, errors and mail, and
// picks the language of a request. Japanese is the default (R-R4).
//
// Messages live in locales/<area>.<lang>.json, one file per area and language, so
// that each feature keeps its own texts; a test checks that every message exists in
// both languages.
package i18n

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

// Lang is a supported language.
type Lang string

// The supported languages; Ja is the default.
const (
	Ja Lang = "ja"
	En Lang = "en"
)

// Langs lists the supported languages, default first.
var Langs = []Lang{Ja, En}

//go:embed locales/*.json
var locales embed.FS

var (
	bundle  = load()
	locals  = map[Lang]*goi18n.Localizer{Ja: goi18n.NewLocalizer(bundle, "ja"), En: goi18n.NewLocalizer(bundle, "en")}
	catalog = ids()
)

func load() *goi18n.Bundle {
	b := goi18n.NewBundle(language.Japanese)
	b.RegisterUnmarshalFunc("json", json.Unmarshal)
	files, err := fs.Glob(locales, "locales/*.json")
	if err != nil {
		panic(err)
	}
	for _, f := range files {
		if _, err := b.LoadMessageFileFS(locales, f); err != nil {
			panic(fmt.Sprintf("i18n: %s: %v", f, err)) // embedded at build time; a test loads them
		}
	}
	return b
}

// ids returns every message id per language, read straight from the files.
func ids() map[Lang]map[string]string {
	out := map[Lang]map[string]string{Ja: {}, En: {}}
	files, _ := fs.Glob(locales, "locales/*.json")
	for _, f := range files {
		parts := strings.Split(path.Base(f), ".")
		lang := Lang(parts[len(parts)-2])
		b, _ := locales.ReadFile(f)
		var m map[string]string
		if err := json.Unmarshal(b, &m); err != nil {
			panic(fmt.Sprintf("i18n: %s: %v", f, err))
		}
		for k, v := range m {
			if out[lang] == nil {
				out[lang] = map[string]string{}
			}
			out[lang][k] = v
		}
	}
	return out
}

// Parse returns the language named by s ("ja", "en", "en-US", …), or Ja.
func Parse(s string) Lang {
	s = strings.ToLower(strings.TrimSpace(s))
	if strings.HasPrefix(s, "en") {
		return En
	}
	return Ja
}

// Negotiate picks the language of a request: an explicit choice (a cookie or query
// value) wins; otherwise Accept-Language decides between Japanese and English;
// otherwise Japanese.
func Negotiate(choice, acceptLanguage string) Lang {
	if choice != "" {
		return Parse(choice)
	}
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil {
		return Ja
	}
	for _, t := range tags {
		base, _ := t.Base()
		switch base.String() {
		case "ja":
			return Ja
		case "en":
			return En
		}
	}
	return Ja
}

// T returns message id in lang. args are name/value pairs for the message's
// {{.Name}} placeholders. A missing message shows its id, so a gap is visible rather
// than blank; TestCatalogsComplete keeps that from reaching users.
func T(lang Lang, id string, args ...any) string {
	l, ok := locals[lang]
	if !ok {
		l = locals[Ja]
	}
	var data map[string]any
	if len(args) > 0 {
		data = make(map[string]any, len(args)/2)
		for i := 0; i+1 < len(args); i += 2 {
			data[fmt.Sprint(args[i])] = args[i+1]
		}
	}
	s, err := l.Localize(&goi18n.LocalizeConfig{MessageID: id, TemplateData: data})
	if err != nil {
		return id
	}
	return s
}

// Has reports whether id exists in lang.
func Has(lang Lang, id string) bool {
	_, ok := catalog[lang][id]
	return ok
}

// IDs returns the sorted message ids of lang.
func IDs(lang Lang) []string {
	out := make([]string, 0, len(catalog[lang]))
	for k := range catalog[lang] {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Size shows a byte count the way people read it: 1.5 GB, 820 MB, 12 KB.
func Size(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.1f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.0f KB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d B", n)
}
