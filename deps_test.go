package medbox

import (
	"os/exec"
	"strings"
	"testing"
)

// layer ranks each internal package: a package may import only packages of a
// lower rank (further right in STYLE.md's picture), never its own rank or higher.
// Leaves share rank 0 and may use each other; a leaf imports no feature.
var layer = map[string]int{
	"cmd/medbox":  8,
	"featuretest": 8, // test helper: a wired instance for the feature packages' own tests
	"server":      7, // assembles an instance: wiring, listeners, TLS, schedule
	"web":         6, "api": 6,
	"guard":  5, // the access and error policy web and API share
	"notify": 4, "preview": 4, "upload": 4, "monitor": 4,
	"box": 3, "auth": 3,
	"member": 2,
	"audit":  0, "clocktest": 0, "erase": 0, "job": 0, "mail": 0, "seal": 0, "blob": 0, "sqldb": 0, "filetype": 0, "dicom": 0, "i18n": 0, "config": 0, "backup": 0, "deid": 0,
}

const module = "github.com/medbox-jp/medbox/"

// unit maps an import path to its layer key: a subpackage belongs to its parent
// ("blob/disk" → "blob", "web/admin" → "web").
func unit(path string) (string, bool) {
	rel, ok := strings.CutPrefix(path, module)
	if !ok {
		return "", false
	}
	if rel == "cmd/medbox" || strings.HasPrefix(rel, "cmd/medbox/") {
		return "cmd/medbox", true
	}
	rel, ok = strings.CutPrefix(rel, "internal/")
	if !ok {
		return rel, true
	}
	return strings.SplitN(rel, "/", 2)[0], true
}

func TestDependencyDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		from, ok := unit(fields[0])
		if !ok || fields[0] == strings.TrimSuffix(module, "/") {
			continue
		}
		rankFrom, known := layer[from]
		if !known {
			t.Errorf("package %s has no layer; add it to deps_test.go and STYLE.md's picture", fields[0])
			continue
		}
		for _, imp := range fields[1:] {
			to, ok := unit(imp)
			if !ok {
				continue
			}
			if strings.HasSuffix(imp, "test") && !strings.HasSuffix(fields[0], "test") {
				t.Errorf("%s imports the test helper %s outside a test", fields[0], imp)
			}
			if to == from {
				continue
			}
			rankTo, known := layer[to]
			switch {
			case !known:
				t.Errorf("%s imports %s, which has no layer", fields[0], imp)
			case rankFrom == 0 && rankTo == 0:
				// leaves may use each other
			case rankTo >= rankFrom:
				t.Errorf("%s (layer %d) imports %s (layer %d): imports must point to lower layers", fields[0], rankFrom, imp, rankTo)
			}
		}
	}
}
