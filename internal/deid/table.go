package deid

import (
	_ "embed"
	"fmt"
	"strconv"
	"strings"
)

//go:embed profile.txt
var profileText string

//go:embed dict.txt
var dictText string

// rule is one attribute's line of the profile table: the basic profile's action
// and, per option letter (P, L, D, V), the option's action.
type rule struct {
	basic string
	opts  map[byte]byte
}

var (
	profile = map[uint32]rule{}
	dictVR  = map[uint32]string{}
)

func init() {
	for _, line := range tableLines(profileText) {
		f := strings.Fields(line)
		r := rule{basic: f[1], opts: map[byte]byte{}}
		for _, o := range f[2:] {
			r.opts[o[0]] = o[2]
		}
		profile[mustTag(f[0])] = r
	}
	for _, line := range tableLines(dictText) {
		f := strings.Fields(line)
		dictVR[mustTag(f[0])] = f[1]
	}
}

func tableLines(s string) []string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if line = strings.TrimSpace(line); line != "" && line[0] != '#' {
			out = append(out, line)
		}
	}
	return out
}

func mustTag(s string) uint32 {
	v, err := strconv.ParseUint(s, 16, 32)
	if err != nil {
		panic(fmt.Sprintf("deid table: bad tag %q", s))
	}
	return uint32(v)
}

// Tables returns the profile and dictionary tables as text, for the browser's
// copy of the rewrite (deid-tables.js is generated from them).
func Tables() (profileTable, dictionary string) {
	return profileText, dictText
}
