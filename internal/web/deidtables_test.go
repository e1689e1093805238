package web

import (
	"flag"
	"os"
	"testing"

	"github.com/medbox-jp/medbox/internal/deid"
)

// updateTables is -update, which rewrites every generated test input of this
// package's test binary: static/deid-tables.js here, testdata/*.golden in the
// external tests (UpdateGolden).
var updateTables = flag.Bool("update", false, "rewrite static/deid-tables.js and testdata/*.golden")

// UpdateGolden tells the external tests (package web_test) that -update is set.
var UpdateGolden = updateTables

// deidTablesJS is static/deid-tables.js: the browser's copy of deid's tables.
func deidTablesJS() string {
	profile, dict := deid.Tables()
	return "// deid-tables.js — generated from internal/deid/profile.txt and dict.txt by\n" +
		"// `go test ./internal/web -run TestDeidTables -update`; do not edit.\n\n" +
		"export const PROFILE = `" + profile + "`;\n\nexport const DICT = `" + dict + "`;\n"
}

// TestDeidTables keeps the browser's rewrite on the same tables as the Go one.
func TestDeidTables(t *testing.T) {
	const path = "static/deid-tables.js"
	want := deidTablesJS()
	if *updateTables {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("%s is not what package deid's tables make; run go test ./internal/web -run TestDeidTables -update", path)
	}
}
