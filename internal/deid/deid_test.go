package deid

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/medbox-jp/medbox/internal/dicom"
)

// unavailable skips a test whose tool is missing, except under CI, where it fails.
func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("required under CI: "+format, args...)
	}
	t.Skipf("skipped (tool missing; CI=true makes this fail): "+format, args...)
}

// testSet is a folder of DICOM test files, de-identified as one send.
type testSet struct {
	name, root string
	files      []string // relative to root
}

func testSets(t testing.TB) []testSet {
	t.Helper()
	more := filepath.Join("..", "..", "..", "shared", "testdata", "dicom-more")
	if _, err := os.Stat(more); err != nil {
		unavailable(t, "the shared DICOM set %s is missing", more)
	}
	sets := []testSet{
		{name: "testdata", root: filepath.Join("..", "..", "testdata", "dicom")},
		{name: "dicom-more", root: more},
	}
	for i := range sets {
		filepath.WalkDir(sets[i].root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() || strings.Contains(p, "golden") {
				return nil
			}
			rel, _ := filepath.Rel(sets[i].root, p)
			sets[i].files = append(sets[i].files, rel)
			return nil
		})
		sort.Strings(sets[i].files)
	}
	return sets
}

// rewriteSet de-identifies a set into dir as one send and returns the files
// written (relative paths). Files that are not DICOM, or damaged, are left out.
func rewriteSet(t testing.TB, set testSet, opts Options, dir string) []string {
	t.Helper()
	var seed [SeedSize]byte
	copy(seed[:], "deid test seed")
	send := NewSendSeed(opts, seed)
	var done []string
	for _, rel := range set.files {
		f, err := os.Open(filepath.Join(set.root, rel))
		if err != nil {
			t.Fatal(err)
		}
		st, _ := f.Stat()
		o, err := send.Rewrite(f, st.Size())
		if err != nil {
			f.Close()
			if !errors.Is(err, ErrNotDICOM) && !errors.Is(err, ErrMalformed) {
				t.Errorf("%s: %v", rel, err)
			}
			if strings.Contains(rel, "truncated") && !errors.Is(err, ErrMalformed) {
				t.Errorf("%s: %v, want ErrMalformed", rel, err)
			}
			continue
		}
		out := filepath.Join(dir, rel)
		os.MkdirAll(filepath.Dir(out), 0o755)
		w, err := os.Create(out)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := o.WriteTo(w); err != nil {
			t.Fatal(err)
		}
		w.Close()
		f.Close()
		done = append(done, rel)
	}
	if len(done) == 0 {
		t.Fatalf("set %s: nothing rewritten", set.name)
	}
	return done
}

// pydicomDump is what dump.py reports about one file.
type pydicomDump struct {
	Error  string            `json:"error"`
	Tags   []string          `json:"tags"`   // every tag present, at any depth: "GGGGEEEE"
	Values map[string]string `json:"values"` // string values at any depth, tag → values joined by "|"
	Pixels string            `json:"pixels"` // SHA-256 of the Pixel Data value (native or encapsulated)
}

const dumpPy = `
import sys, json, hashlib, pydicom
def walk(ds, out):
    for el in ds:
        tag = "%08X" % int(el.tag)
        out["tags"].add(tag)
        if el.VR == "SQ":
            for item in el.value:
                walk(item, out)
        elif el.tag == 0x7FE00010:
            out["pixels"] = hashlib.sha256(el.value).hexdigest()
        elif isinstance(el.value, (str, bytes)) or el.VR in ("UI", "PN", "DA", "DT", "TM", "LO", "SH", "CS", "LT", "ST", "UT", "AE"):
            v = el.value
            if isinstance(v, bytes):
                v = v.decode("latin-1")
            elif isinstance(v, pydicom.multival.MultiValue):
                v = "\\".join(str(x) for x in v)
            out["values"].setdefault(tag, []).append(str(v))
res = {}
for p in sys.argv[1:]:
    out = {"tags": set(), "values": {}, "pixels": ""}
    try:
        ds = pydicom.dcmread(p, force=True)
        walk(ds.file_meta, out) if hasattr(ds, "file_meta") else None
        walk(ds, out)
        res[p] = {"tags": sorted(out["tags"]), "values": {k: "|".join(v) for k, v in out["values"].items()}, "pixels": out["pixels"]}
    except Exception as e:
        res[p] = {"error": repr(e)}
print(json.dumps(res))
`

func pydicom(t testing.TB, paths []string) map[string]pydicomDump {
	t.Helper()
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import pydicom").Run(); err != nil {
		unavailable(t, "pydicom (Debian python3-pydicom) is not installed")
	}
	out, err := exec.Command(py, append([]string{"-c", dumpPy}, paths...)...).Output()
	if err != nil {
		t.Fatalf("pydicom: %v", err)
	}
	var m map[string]pydicomDump
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func join(dir string, rels []string) []string {
	out := make([]string, len(rels))
	for i, r := range rels {
		out[i] = filepath.Join(dir, r)
	}
	return out
}

// TestProfileByIndependentReader reads every output of every test set with
// pydicom: nothing the profile removes is there, nothing it replaces kept its
// value, no private attribute is left but the known safe ones, every original
// UID is gone, identity is marked removed, and the pixel data is byte for byte
// the input's.
func TestProfileByIndependentReader(t *testing.T) {
	variants := map[string]Options{"defaults": DefaultOptions(), "basic": {}, "all": {true, true, true, true}}
	for _, set := range testSets(t) {
		for vname, opts := range variants {
			t.Run(set.name+"/"+vname, func(t *testing.T) {
				dir := t.TempDir()
				done := rewriteSet(t, set, opts, dir)
				ins := pydicom(t, join(set.root, done))
				outs := pydicom(t, join(dir, done))
				for _, rel := range done {
					in, out := ins[filepath.Join(set.root, rel)], outs[filepath.Join(dir, rel)]
					if out.Error != "" {
						t.Errorf("%s: pydicom cannot read the output: %s", rel, out.Error)
						continue
					}
					if in.Error != "" {
						continue
					}
					checkProfile(t, rel, opts, in, out)
				}
			})
		}
	}
}

func checkProfile(t *testing.T, rel string, opts Options, in, out pydicomDump) {
	t.Helper()
	isDir := slices.Contains(out.Tags, "00041220")
	for _, tag := range out.Tags {
		var v uint32
		for _, c := range tag {
			v = v<<4 | uint32(strings.IndexRune("0123456789ABCDEF", c))
		}
		g := v >> 16
		if g&1 == 1 && !knownSafe(v) {
			t.Errorf("%s: private attribute %s left", rel, tag)
			continue
		}
		if g >= 0x5000 && g <= 0x501E || g >= 0x6000 && g <= 0x601E {
			t.Errorf("%s: curve or overlay %s left", rel, tag)
		}
		r, ok := profile[v]
		if !ok || v == tagPatientName || v == tagPatientID {
			continue
		}
		kept := false
		for letter, a := range r.opts {
			kept = kept || opts.has(letter)
			_ = a
		}
		val := out.Values[tag]
		switch {
		case kept:
		case r.basic == "X" || r.basic == "X/D":
			t.Errorf("%s: %s (profile %s) is still there: %q", rel, tag, r.basic, val)
		case strings.HasPrefix(r.basic, "Z") || r.basic == "X/Z" || r.basic == "X/Z/D":
			if strings.Trim(val, "| ") != "" {
				t.Errorf("%s: %s (profile %s) should be empty, is %q", rel, tag, r.basic, val)
			}
		case r.basic == "U":
			if iv := in.Values[tag]; iv != "" && val != "" {
				for _, old := range strings.FieldsFunc(iv, func(r rune) bool { return r == '|' || r == '\\' }) {
					if strings.Contains(val, old) && !strings.HasPrefix(old, "1.2.840.10008.") {
						t.Errorf("%s: %s keeps the original UID %s", rel, tag, old)
					}
				}
			}
		}
	}
	for _, tag := range []string{"00100010", "00100020"} {
		if v := out.Values[tag]; v != "" && !isPseudonymList(v) {
			t.Errorf("%s: %s is %q, want a pseudonym", rel, tag, v)
		}
	}
	if !isDir && out.Values["00120062"] != "YES" {
		t.Errorf("%s: Patient Identity Removed is %q", rel, out.Values["00120062"])
	}
	if !isDir && out.Values["00120063"] != Method {
		t.Errorf("%s: De-identification Method is %q", rel, out.Values["00120063"])
	}
	if in.Pixels != out.Pixels {
		t.Errorf("%s: pixel data differs (%s → %s)", rel, in.Pixels, out.Pixels)
	}
	// No original instance UID anywhere in the output.
	old := map[string]bool{}
	for _, tag := range []string{"00080018", "0020000D", "0020000E", "00200052", "00020003"} {
		for _, u := range strings.Split(in.Values[tag], "|") {
			if u != "" {
				old[u] = true
			}
		}
	}
	for tag, v := range out.Values {
		for _, u := range strings.FieldsFunc(v, func(r rune) bool { return r == '|' || r == '\\' }) {
			if old[u] {
				t.Errorf("%s: %s holds the original UID %s", rel, tag, u)
			}
		}
	}
	// The patient's name and ID are nowhere, not even in descriptions. File
	// names are kept, so a DICOMDIR's File IDs (0004,1500) are not searched:
	// folders named after the patient must be renamed before sending.
	for _, tag := range []string{"00100010", "00100020"} {
		for _, v := range strings.Split(in.Values[tag], "|") {
			if len(strings.TrimSpace(v)) < 5 || isPseudonymList(v) {
				continue
			}
			for otag, ov := range out.Values {
				if otag != "00041500" && strings.Contains(ov, v) {
					t.Errorf("%s: %s of the input (%q) appears in %s", rel, tag, v, otag)
				}
			}
		}
	}
}

// knownSafe reports whether a private tag is one of the safe ones (any
// block) or a creator of them: what the rewrite may keep.
func knownSafe(v uint32) bool {
	g, el := v>>16, v&0xFFFF
	for _, tags := range safePrivate {
		for _, k := range tags {
			if k>>16 == g && (el >= 0x10 && el <= 0xFF || el>>8 >= 0x10 && el&0xFF == k&0xFF) {
				return true
			}
		}
	}
	return false
}

func isPseudonymList(v string) bool {
	for _, p := range strings.Split(v, "|") {
		if !isPseudonym(p) {
			return false
		}
	}
	return true
}

// TestReferencesConsistent: across the files of one send, one old UID becomes
// one new UID and two old ones two new ones, the same patient gets the same
// pseudonym, and the DICOMDIR's records point to the rewritten files by their
// new UIDs, at offsets DCMTK accepts.
func TestReferencesConsistent(t *testing.T) {
	set := testSets(t)[0]
	dir := t.TempDir()
	done := rewriteSet(t, set, DefaultOptions(), dir)
	ins := pydicom(t, join(set.root, done))
	outs := pydicom(t, join(dir, done))
	mapping := map[string]string{}
	back := map[string]string{}
	patients := map[string]string{}
	for _, rel := range done {
		in, out := ins[filepath.Join(set.root, rel)], outs[filepath.Join(dir, rel)]
		for _, tag := range []string{"0020000D", "0020000E", "00080018", "00041511", "00081155"} {
			a := strings.Split(in.Values[tag], "|")
			b := strings.Split(out.Values[tag], "|")
			if len(a) != len(b) {
				t.Errorf("%s: %s has %d values, was %d", rel, tag, len(b), len(a))
				continue
			}
			for i := range a {
				if a[i] == "" {
					continue
				}
				if m, ok := mapping[a[i]]; ok && m != b[i] {
					t.Errorf("%s: %s: %s became %s here and %s elsewhere", rel, tag, a[i], b[i], m)
				}
				if o, ok := back[b[i]]; ok && o != a[i] {
					t.Errorf("%s: %s and %s both became %s", rel, a[i], o, b[i])
				}
				mapping[a[i]], back[b[i]] = b[i], a[i]
			}
		}
		if id := in.Values["00100020"]; id != "" {
			if p, ok := patients[id]; ok && p != out.Values["00100020"] {
				t.Errorf("%s: patient %s became %s, elsewhere %s", rel, id, out.Values["00100020"], p)
			}
			patients[id] = out.Values["00100020"]
		}
	}
	// Each DICOMDIR names the new SOP Instance UID of the file it points to.
	for _, rel := range done {
		if filepath.Base(rel) != "DICOMDIR" {
			continue
		}
		if dump, err := exec.Command("dcmdump", "-q", "+E", filepath.Join(dir, rel)).CombinedOutput(); err != nil {
			t.Errorf("dcmdump %s: %v\n%s", rel, err, dump)
		} else if bytes.Contains(dump, []byte("W: ")) || bytes.Contains(dump, []byte("E: ")) {
			t.Errorf("dcmdump warns about %s:\n%s", rel, dump)
		}
		checkDirectory(t, dir, rel)
	}
}

// checkDirectory reads a rewritten DICOMDIR with pydicom's FileSet, which
// follows the record offsets, and checks each referenced file's UID.
func checkDirectory(t *testing.T, dir, rel string) {
	t.Helper()
	const py = `
import sys, os, pydicom
from pydicom.fileset import FileSet
fs = FileSet(pydicom.dcmread(sys.argv[1]))
bad = 0
for inst in fs:
    ds = inst.load()
    if ds.SOPInstanceUID != inst.ReferencedSOPInstanceUIDInFile:
        print("mismatch", inst.path); bad += 1
print("checked", len(fs))
sys.exit(1 if bad else 0)
`
	out, err := exec.Command("/usr/bin/python3", "-c", py, filepath.Join(dir, rel)).CombinedOutput()
	if err != nil {
		t.Errorf("%s: records do not match the rewritten files: %v\n%s", rel, err, out)
	}
	t.Logf("%s: %s", rel, strings.TrimSpace(string(out)))
}

// TestSamePixels: every output decodes to the same frames as its input, in our
// own decoder (the viewer's) and in GDCM.
func TestSamePixels(t *testing.T) {
	gdcm, err := exec.LookPath("gdcmconv")
	if err != nil {
		unavailable(t, "gdcmconv (Debian libgdcm-tools) is not installed")
	}
	for _, set := range testSets(t) {
		dir := t.TempDir()
		done := rewriteSet(t, set, DefaultOptions(), dir)
		var ins, outs []string
		for _, rel := range done {
			in, out := filepath.Join(set.root, rel), filepath.Join(dir, rel)
			a, _ := os.ReadFile(in)
			b, _ := os.ReadFile(out)
			fa, errA := dicom.Parse(a, dicom.Limits{})
			fb, errB := dicom.Parse(b, dicom.Limits{})
			if errA != nil {
				continue
			}
			if errB != nil {
				t.Errorf("%s: the output does not parse: %v", rel, errB)
				continue
			}
			if fa.NumFrames() != fb.NumFrames() {
				t.Errorf("%s: %d frames, was %d", rel, fb.NumFrames(), fa.NumFrames())
			}
			for i := 0; i < fa.NumFrames(); i++ {
				x, errX := fa.Frame(i)
				y, errY := fb.Frame(i)
				if (errX == nil) != (errY == nil) {
					t.Errorf("%s frame %d: decode %v, was %v", rel, i, errY, errX)
					continue
				}
				if errX == nil && (!slices.Equal(x.Gray, y.Gray) || !bytes.Equal(x.RGB, y.RGB)) {
					t.Errorf("%s frame %d: other pixels after de-identification", rel, i)
				}
			}
			// GDCM decodes what it can of the input; the output must decode
			// to the same raw pixels.
			ra, rb := filepath.Join(t.TempDir(), "a.dcm"), filepath.Join(t.TempDir(), "b.dcm")
			if exec.Command(gdcm, "--raw", in, ra).Run() != nil {
				continue
			}
			if msg, err := exec.Command(gdcm, "--raw", out, rb).CombinedOutput(); err != nil {
				t.Errorf("%s: GDCM cannot decode the output: %v %s", rel, err, msg)
				continue
			}
			ins, outs = append(ins, ra), append(outs, rb)
		}
		pa, pb := pydicom(t, ins), pydicom(t, outs)
		for i := range ins {
			if pa[ins[i]].Pixels != pb[outs[i]].Pixels {
				t.Errorf("GDCM decodes other pixels from an output of %s", set.name)
			}
		}
		t.Logf("%s: %d files compared in GDCM", set.name, len(ins))
	}
}
