package medbox

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestNoRacePackagesStayOnOneGoroutine: make test runs the packages listed in
// scripts/norace-packages without the race detector, which is sound only while
// neither their code nor their tests run anything concurrently. A goroutine, the
// sync packages or a parallel subtest in one of them fails here, naming the
// place: take the package off the list (it then runs under -race), or keep it
// on one goroutine.
func TestNoRacePackagesStayOnOneGoroutine(t *testing.T) {
	list, err := os.ReadFile("scripts/norace-packages")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for line := range strings.Lines(string(list)) {
		dir := strings.TrimSpace(line)
		if dir == "" || strings.HasPrefix(dir, "#") {
			continue
		}
		n++
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil || len(files) == 0 {
			t.Errorf("%s (scripts/norace-packages): no Go files: %v", dir, err)
			continue
		}
		for _, f := range files {
			for _, problem := range concurrency(t, f) {
				t.Errorf("%s: %s — this package runs without -race (scripts/norace-packages)", problem.pos, problem.what)
			}
		}
	}
	if n == 0 {
		t.Error("scripts/norace-packages lists no package")
	}
}

type finding struct {
	pos  token.Position
	what string
}

// concurrency returns what in the Go file path runs or coordinates work on more
// than one goroutine.
func concurrency(t *testing.T, path string) []finding {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	var out []finding
	for _, imp := range f.Imports {
		if p, _ := strconv.Unquote(imp.Path.Value); p == "sync" || p == "sync/atomic" || p == "golang.org/x/sync/errgroup" {
			out = append(out, finding{fset.Position(imp.Pos()), "imports " + p})
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.GoStmt:
			out = append(out, finding{fset.Position(n.Pos()), "starts a goroutine"})
		case *ast.SelectorExpr:
			if n.Sel.Name == "Parallel" {
				out = append(out, finding{fset.Position(n.Pos()), "runs subtests in parallel"})
			}
		}
		return true
	})
	return out
}
