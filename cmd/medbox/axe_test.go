package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/medbox-jp/medbox/internal/sqldb/sqltest"
)

// axe-core (npm, pinned in package.json; `npm ci` installs it) checks a page
// the way an assistive technology meets it. It runs in the page through the
// engine's protocol, so the page's CSP does not stop it.

var axeSource struct {
	once sync.Once
	src  string
	err  error
}

func loadAxe(t testing.TB) string {
	t.Helper()
	axeSource.once.Do(func() {
		var b []byte
		b, axeSource.err = os.ReadFile(filepath.Join("..", "..", "node_modules", "axe-core", "axe.min.js"))
		axeSource.src = string(b)
	})
	if axeSource.err != nil {
		sqltest.Unavailable(t, "axe-core is not installed (run npm ci at the repository root): %v", axeSource.err)
	}
	return axeSource.src
}

// axeViolation is one rule a page breaks, with where.
type axeViolation struct {
	ID      string   `json:"id"`
	Impact  string   `json:"impact"`
	Help    string   `json:"help"`
	Targets []string `json:"targets"`
}

// axeRun runs every axe-core rule but the experimental ones on the page.
const axeRun = `axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map(v => ({
  id: v.id, impact: v.impact || '', help: v.help,
  targets: v.nodes.slice(0, 5).map(n => n.target.join(' ') + (n.failureSummary ? ' — ' + n.failureSummary.split('\n').slice(1, 2).join('') : '')),
})))`

// axeCheck returns the page's axe-core violations.
func (p *page) axeCheck() []axeViolation {
	p.t.Helper()
	if !js[bool](p, `typeof window.axe === 'object'`) {
		js[bool](p, "(function () {\n"+loadAxe(p.t)+"\n;return true })()")
	}
	return js[[]axeViolation](p, axeRun)
}

// accessible fails the test if the page has a serious or critical axe-core
// violation, and records every violation in axe.txt beside the screenshots.
func (p *page) accessible(where string) {
	p.t.Helper()
	vs := p.axeCheck()
	var report strings.Builder
	for _, v := range vs {
		fmt.Fprintf(&report, "%s\t%s\t%s: %s\n", where, v.Impact, v.ID, v.Help)
		for _, tg := range v.Targets {
			fmt.Fprintf(&report, "\t\t%s\n", tg)
		}
		if v.Impact == "serious" || v.Impact == "critical" {
			p.t.Errorf("%s (%s, %s): axe %s %s — %s at %s", where, p.engine, p.vp.name, v.Impact, v.ID, v.Help, strings.Join(v.Targets, "; "))
		}
	}
	p.axeLog = append(p.axeLog, vs...)
	p.pages++
	f, err := os.OpenFile(filepath.Join(p.dir, "axe.txt"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		p.t.Fatal(err)
	}
	defer f.Close()
	if report.Len() == 0 {
		fmt.Fprintf(f, "%s\tno violations\n", where)
	}
	if _, err := f.WriteString(report.String()); err != nil {
		p.t.Fatal(err)
	}
}

// axeCounts counts violations by impact, as "critical 0, serious 1, …".
func axeCounts(vs []axeViolation) string {
	n := map[string]int{}
	for _, v := range vs {
		n[v.Impact]++
	}
	var parts []string
	for _, k := range []string{"critical", "serious", "moderate", "minor"} {
		parts = append(parts, fmt.Sprintf("%s %d", k, n[k]))
	}
	var ids []string
	seen := map[string]bool{}
	for _, v := range vs {
		if !seen[v.ID] {
			seen[v.ID] = true
			ids = append(ids, v.ID)
		}
	}
	sort.Strings(ids)
	return strings.Join(parts, ", ") + " (" + strings.Join(ids, " ") + ")"
}
