package medbox

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoTestStartsOnAFixedDate fails when a test builds a time from a calendar
// date (time.Date, or time.Unix of a literal) without saying why. A test clock
// must start at clocktest.Start(), which is today: a test whose clock starts on a
// fixed day passes on the day it is written and fails on a day after, as soon as
// one step of it (a command, a second instance, a browser) reads the wall clock.
// A fixed instant that is data, not a clock origin (a value to round-trip, a
// published test vector), carries a "fixed date:" comment on its line.
func TestNoTestStartsOnAFixedDate(t *testing.T) {
	fset := token.NewFileSet()
	filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "node_modules") && path != "." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || !(strings.HasSuffix(path, "_test.go") || strings.Contains(path, "test/")) {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
		if err != nil {
			t.Errorf("parse %s: %v", path, err)
			return nil
		}
		justified := map[int]bool{}
		for _, cg := range f.Comments {
			for _, c := range cg.List {
				if strings.Contains(c.Text, "fixed date:") {
					justified[fset.Position(c.Pos()).Line] = true
				}
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if pkg, ok := sel.X.(*ast.Ident); !ok || pkg.Name != "time" {
				return true
			}
			fixed := sel.Sel.Name == "Date"
			if sel.Sel.Name == "Unix" && len(call.Args) > 0 {
				_, fixed = call.Args[0].(*ast.BasicLit)
			}
			if pos := fset.Position(call.Pos()); fixed && !justified[pos.Line] {
				t.Errorf("%s: time.%s builds a fixed date; start test clocks at clocktest.Start(), or say on the line why this instant is data (\"// fixed date: …\")", pos, sel.Sel.Name)
			}
			return true
		})
		return nil
	})
}
