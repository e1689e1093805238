package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/medbox-jp/medbox/internal/deid"
)

const deidentifyUsage = `usage: medbox deidentify [flags] IN... OUTDIR

Writes a de-identified copy of each DICOM file IN (a folder: every file in it) under
OUTDIR with the same name; a folder keeps its relative paths. One run is one send:
each patient gets one pseudonym (ANON-XXXX) and every UID one new UID across all
inputs, so studies, series and references (DICOMDIR too) stay consistent. Follows
DICOM PS3.15 Annex E, Basic Application Level Confidentiality Profile; pixel data is
copied byte for byte. Exits 1, naming each, when an input is not DICOM or cannot
be rewritten; 0 when all were.

flags:
`

// deidentifyCmd runs `medbox deidentify [flags] IN... OUTDIR`.
func deidentifyCmd(args []string, stdout io.Writer) error {
	fset := flag.NewFlagSet("medbox deidentify", flag.ContinueOnError)
	fset.SetOutput(io.Discard)
	def := deid.DefaultOptions()
	var o deid.Options
	fset.BoolVar(&o.RetainPatientCharacteristics, "retain-patient-characteristics", def.RetainPatientCharacteristics,
		"keep age, sex, size, weight and the like (Retain Patient Characteristics Option)")
	fset.BoolVar(&o.ModifiedDates, "modified-dates", def.ModifiedDates,
		"move every date back by one number of days instead of removing it (Retain Longitudinal Temporal Information with Modified Dates Option)")
	fset.BoolVar(&o.CleanDescriptors, "clean-descriptors", def.CleanDescriptors,
		"keep descriptions with the patient's name, ID and accession number taken out (Clean Descriptors Option)")
	fset.BoolVar(&o.RetainDeviceIdentity, "retain-device-identity", def.RetainDeviceIdentity,
		"keep station names, serial numbers and AE titles (Retain Device Identity Option)")
	printUsage := func() {
		fmt.Fprint(stdout, deidentifyUsage)
		fset.VisitAll(func(f *flag.Flag) {
			fmt.Fprintf(stdout, "  --%s (default %s)\n      %s\n", f.Name, f.DefValue, f.Usage)
		})
	}
	if err := fset.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage()
			return nil
		}
		printUsage()
		return fmt.Errorf("deidentify: %w", err)
	}
	rest := fset.Args()
	if len(rest) < 2 {
		printUsage()
		return errors.New("deidentify: give at least one input and the output folder")
	}
	ins, outDir := rest[:len(rest)-1], rest[len(rest)-1]
	jobs, failed := deidentifyJobs(ins, outDir)
	send := deid.NewSend(o)
	patients := map[string]bool{}
	done := 0
	for _, j := range jobs {
		info, err := deidentifyFile(send, j.in, j.out)
		if err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", j.in, err))
			continue
		}
		for _, p := range info.Pseudonyms {
			patients[p] = true
		}
		done++
	}
	fmt.Fprintf(stdout, "de-identified %d of %d files (%d patients) into %s\n", done, done+len(failed), len(patients), outDir)
	if len(failed) > 0 {
		return fmt.Errorf("deidentify: %d inputs not de-identified:\n  %s", len(failed), strings.Join(failed, "\n  "))
	}
	return nil
}

type deidJob struct{ in, out string }

// deidentifyJobs lists the files to rewrite and where each goes; inputs that
// cannot be read are returned as failures.
func deidentifyJobs(ins []string, outDir string) ([]deidJob, []string) {
	var jobs []deidJob
	var failed []string
	absOut, _ := filepath.Abs(outDir)
	for _, in := range ins {
		st, err := os.Stat(in)
		if err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", in, err))
			continue
		}
		if !st.IsDir() {
			jobs = append(jobs, deidJob{in, filepath.Join(outDir, filepath.Base(in))})
			continue
		}
		base := filepath.Base(filepath.Clean(in))
		err = filepath.WalkDir(in, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				failed = append(failed, fmt.Sprintf("%s: %v", p, err))
				return nil
			}
			if abs, _ := filepath.Abs(p); d.IsDir() && abs == absOut {
				return filepath.SkipDir // the output folder inside an input
			}
			if !d.Type().IsRegular() {
				return nil
			}
			rel, err := filepath.Rel(in, p)
			if err != nil {
				return err
			}
			jobs = append(jobs, deidJob{p, filepath.Join(outDir, base, rel)})
			return nil
		})
		if err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", in, err))
		}
	}
	sort.SliceStable(jobs, func(i, j int) bool { return jobs[i].in < jobs[j].in })
	return jobs, failed
}

// deidentifyFile rewrites one file; a partial output is removed.
func deidentifyFile(send *deid.Send, in, out string) (deid.Info, error) {
	if a, b := absPath(in), absPath(out); a == b {
		return deid.Info{}, errors.New("the output would overwrite the input")
	}
	f, err := os.Open(in) // #nosec G304 -- the operator's own command-line argument
	if err != nil {
		return deid.Info{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return deid.Info{}, err
	}
	o, err := send.Rewrite(f, st.Size())
	if err != nil {
		return deid.Info{}, err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o750); err != nil {
		return deid.Info{}, err
	}
	w, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600) // #nosec G304 -- under the operator's output folder
	if err != nil {
		return deid.Info{}, err
	}
	_, err = o.WriteTo(w)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(out)
		return deid.Info{}, fmt.Errorf("write %s: %w", out, err)
	}
	return o.Info, nil
}

func absPath(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}
