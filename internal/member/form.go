package member

import (
	"bytes"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
)

// ErrBadForm reports a registration body that is not a readable multipart form.
var ErrBadForm = errors.New("malformed registration form")

// registrationFields are the text fields of a registration form (R-M2).
var registrationFields = map[string]bool{"email": true, "password": true, "password2": true, "name": true, "name_kana": true,
	"profession": true, "license_number": true, "workplace": true, "department": true, "invite": true, "lang": true}

// ReadRegistration reads a multipart registration form (the web form and
// POST /api/v1/register send the same fields). The proof is held in memory — it is
// at most MaxProofSize — so nothing of it touches disk unencrypted and every field
// can be checked before anything is stored. It returns the registration and the
// raw text fields, for showing the form again.
func ReadRegistration(mr *multipart.Reader) (Registration, map[string]string, error) {
	form := map[string]string{}
	var proof *bytes.Buffer
	var proofName string
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Registration{}, form, tooLargeOr(err, ErrBadForm)
		}
		name := part.FormName()
		switch {
		case name == "proof":
			proof, proofName = &bytes.Buffer{}, part.FileName()
			n, err := io.Copy(proof, io.LimitReader(part, MaxProofSize+1))
			if err != nil {
				return Registration{}, form, tooLargeOr(err, ErrBadForm)
			}
			if n > MaxProofSize {
				return Registration{}, form, ErrProofTooLarge
			}
			if n == 0 {
				proof = nil
			}
		case registrationFields[name]:
			b, err := io.ReadAll(io.LimitReader(part, 4096))
			if err != nil {
				return Registration{}, form, tooLargeOr(err, ErrBadForm)
			}
			form[name] = strings.TrimSpace(string(b))
		}
		part.Close()
	}
	reg := Registration{
		Email: form["email"], Password: form["password"], Name: form["name"], NameKana: form["name_kana"],
		Profession: Profession(form["profession"]), LicenseNumber: form["license_number"],
		Workplace: form["workplace"], Department: form["department"], InviteToken: form["invite"],
		Lang: form["lang"], ProofName: proofName,
	}
	if proof != nil {
		reg.Proof = proof
	}
	return reg, form, nil
}

func tooLargeOr(err, other error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return ErrProofTooLarge
	}
	return other
}
