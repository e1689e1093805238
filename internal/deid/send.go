package deid

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// Options are the profile options the sender chose. The zero value is the
// basic profile alone; DefaultOptions is what the send page starts with.
type Options struct {
	// RetainPatientCharacteristics keeps age, sex, size, weight and the like.
	RetainPatientCharacteristics bool
	// ModifiedDates shifts every date by the same number of days instead of
	// removing it, so that intervals survive.
	ModifiedDates bool
	// CleanDescriptors keeps descriptions (study, series, protocol …) with the
	// patient's name, ID, accession number and birth date taken out, instead of
	// removing them.
	CleanDescriptors bool
	// RetainDeviceIdentity keeps station names, serial numbers and AE titles.
	RetainDeviceIdentity bool
}

// DefaultOptions returns the options a consultation starts with: patient
// characteristics kept, everything else as the basic profile says.
func DefaultOptions() Options {
	return Options{RetainPatientCharacteristics: true}
}

func (o Options) has(letter byte) bool {
	switch letter {
	case 'P':
		return o.RetainPatientCharacteristics
	case 'L':
		return o.ModifiedDates
	case 'D':
		return o.CleanDescriptors
	case 'V':
		return o.RetainDeviceIdentity
	}
	return false
}

// SeedSize is the size of a Send's seed.
const SeedSize = 32

// Send is one send: every file rewritten through it gets the same pseudonym for
// the same patient, the same new UID for the same old one and the same date
// shift. Nothing of it is kept: a new Send has a new random seed, and the
// mapping cannot be undone without it. A Send is not safe for concurrent use.
type Send struct {
	opts  Options
	seed  [SeedSize]byte
	uids  map[string]string
	names map[string]string
	days  int
}

// NewSend returns a Send with a random seed.
func NewSend(opts Options) *Send {
	var seed [SeedSize]byte
	if _, err := rand.Read(seed[:]); err != nil {
		panic(fmt.Sprintf("deid: random seed: %v", err)) // crypto/rand does not fail on supported systems
	}
	return NewSendSeed(opts, seed)
}

// NewSendSeed returns a Send with the given seed: the same seed and options
// always give the same output, here and in the browser (tests use this).
func NewSendSeed(opts Options, seed [SeedSize]byte) *Send {
	s := &Send{opts: opts, seed: seed, uids: map[string]string{}, names: map[string]string{}}
	sum := s.mac("dates", "")
	s.days = 365 + int(binary.BigEndian.Uint32(sum[:4])%3286) // one to ten years back
	return s
}

// Options returns the send's options.
func (s *Send) Options() Options { return s.opts }

// DayShift returns how many days dates are moved back with ModifiedDates.
func (s *Send) DayShift() int { return s.days }

func (s *Send) mac(kind, value string) []byte {
	m := hmac.New(sha256.New, s.seed[:])
	m.Write([]byte(kind))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return m.Sum(nil)
}

// UID returns the new UID for old: a UUID-derived UID (2.25.…) computed from the
// send's seed, so the same old UID always maps to the same new one. Empty stays
// empty; UIDs of the standard itself (1.2.840.10008.…) are not instance UIDs and
// stay as they are.
func (s *Send) UID(old string) string {
	old = strings.TrimRight(old, "\x00 ")
	if old == "" || strings.HasPrefix(old, "1.2.840.10008.") {
		return old
	}
	if u, ok := s.uids[old]; ok {
		return u
	}
	b := s.mac("uid", old)[:16]
	b[6] = b[6]&0x0f | 0x40 // a version 4, variant 1 UUID
	b[8] = b[8]&0x3f | 0x80
	u := "2.25." + new(big.Int).SetBytes(b).String()
	s.uids[old] = u
	return u
}

// pseudonymAlphabet has no letters that read like digits (I, L, O, U).
const pseudonymAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// Pseudonym returns the patient's pseudonym, such as "ANON-7K3Q", from the
// patient's key (the patient ID, or the name when there is no ID).
func (s *Send) Pseudonym(key string) string {
	key = strings.TrimRight(key, "\x00 ")
	if p, ok := s.names[key]; ok {
		return p
	}
	sum := s.mac("patient", key)
	v := binary.BigEndian.Uint32(sum[:4])
	out := []byte("ANON-")
	for i := 0; i < 4; i++ {
		out = append(out, pseudonymAlphabet[v>>(27-5*i)&31])
	}
	s.names[key] = string(out)
	return string(out)
}

// shiftDate moves a DA value (YYYYMMDD) back by the send's shift. Anything that
// is not eight digits becomes empty.
func (s *Send) shiftDate(v string) string {
	if len(v) != 8 || strings.Trim(v, "0123456789") != "" {
		return ""
	}
	y, _ := strconv.Atoi(v[:4])
	m, _ := strconv.Atoi(v[4:6])
	d, _ := strconv.Atoi(v[6:])
	if m < 1 || m > 12 || d < 1 || d > 31 {
		return ""
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC).AddDate(0, 0, -s.days)
	if t.Year() < 0 || t.Year() > 9999 {
		return ""
	}
	return fmt.Sprintf("%04d%02d%02d", t.Year(), int(t.Month()), t.Day())
}
