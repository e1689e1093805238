package member_test

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/medbox-jp/medbox/internal/featuretest"
	"github.com/medbox-jp/medbox/internal/member"
)

// TestRegisterRefusesBadInput (R-M2): every field is checked, the proof by its
// content and not its name, and a refused registration leaves nothing behind —
// no member row, no stored proof, no mail.
func TestRegisterRefusesBadInput(t *testing.T) {
	t.Parallel()
	exe := append([]byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff"), bytes.Repeat([]byte{0}, 200)...)
	tests := []struct {
		name   string
		change func(t *testing.T, r *member.Registration)
		field  string
		code   string
	}{
		{"address without @", func(_ *testing.T, r *member.Registration) { r.Email = "not-an-address" }, "email", "invalid_email"},
		{"address with a display name", func(_ *testing.T, r *member.Registration) { r.Email = "Taro <taro@example.jp>" }, "email", "invalid_email"},
		{"address without a dot in the domain", func(_ *testing.T, r *member.Registration) { r.Email = "taro@localhost" }, "email", "invalid_email"},
		{"password of nine characters", func(_ *testing.T, r *member.Registration) { r.Password = "123456789" }, "password", "password_short"},
		{"password of more than 256 bytes", func(_ *testing.T, r *member.Registration) { r.Password = strings.Repeat("x", 257) }, "password", "password_long"},
		{"password holding the address", func(_ *testing.T, r *member.Registration) {
			r.Email, r.Password = "yamada.taro@example.jp", "my yamada.taro pass"
		}, "password", "password_email"},
		{"common password", func(_ *testing.T, r *member.Registration) { r.Password = "Password123" }, "password", "password_common"},
		{"no name", func(_ *testing.T, r *member.Registration) { r.Name = "  " }, "name", "required"},
		{"name of 61 characters", func(_ *testing.T, r *member.Registration) { r.Name = strings.Repeat("山", 61) }, "name", "too_long"},
		{"no kana", func(_ *testing.T, r *member.Registration) { r.NameKana = "" }, "name_kana", "required"},
		{"kana in Latin letters", func(_ *testing.T, r *member.Registration) { r.NameKana = "Yamada" }, "name_kana", "kana_only"},
		{"kana with kanji", func(_ *testing.T, r *member.Registration) { r.NameKana = "やまだ 太郎" }, "name_kana", "kana_only"},
		{"no profession", func(_ *testing.T, r *member.Registration) { r.Profession = "" }, "profession", "choose_one"},
		{"administrator as profession", func(_ *testing.T, r *member.Registration) { r.Profession = member.Administrator }, "profession", "choose_one"},
		{"unknown profession", func(_ *testing.T, r *member.Registration) { r.Profession = "wizard" }, "profession", "choose_one"},
		{"no licence number", func(_ *testing.T, r *member.Registration) { r.LicenseNumber = "" }, "license_number", "required"},
		{"licence without a digit", func(_ *testing.T, r *member.Registration) { r.LicenseNumber = "ABC" }, "license_number", "license_format"},
		{"licence with a symbol", func(_ *testing.T, r *member.Registration) { r.LicenseNumber = "12#34" }, "license_number", "license_format"},
		{"licence of 31 characters", func(_ *testing.T, r *member.Registration) { r.LicenseNumber = strings.Repeat("1", 31) }, "license_number", "too_long"},
		{"no workplace", func(_ *testing.T, r *member.Registration) { r.Workplace = "" }, "workplace", "required"},
		{"workplace of 101 characters", func(_ *testing.T, r *member.Registration) { r.Workplace = strings.Repeat("病", 101) }, "workplace", "too_long"},
		{"department of 101 characters", func(_ *testing.T, r *member.Registration) { r.Department = strings.Repeat("科", 101) }, "department", "too_long"},
		{"no proof", func(_ *testing.T, r *member.Registration) { r.Proof = nil }, "proof", "required"},
		{"empty proof", func(_ *testing.T, r *member.Registration) { r.Proof = bytes.NewReader(nil) }, "proof", "required"},
		{"program named like a photo", func(_ *testing.T, r *member.Registration) {
			r.Proof, r.ProofName = bytes.NewReader(exe), "licence.jpg"
		}, "proof", "proof_type"},
		{"text named like a PDF", func(_ *testing.T, r *member.Registration) {
			r.Proof, r.ProofName = strings.NewReader("this is my licence, honestly"), "licence.pdf"
		}, "proof", "proof_type"},
		{"proof over 10 MiB", func(t *testing.T, r *member.Registration) {
			r.Proof = io.MultiReader(bytes.NewReader(featuretest.ProofPNG(t)), bytes.NewReader(make([]byte, member.MaxProofSize)))
		}, "proof", "proof_size"},
	}
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := registration(t, newAddress("refused"))
				tt.change(t, &r)
				m, err := w.Members.Register(t.Context(), r)
				if fe := fieldErrors(err); m != nil || fe[tt.field] != tt.code {
					t.Errorf("Register() = %v, %v; want field %s: %s", m, err, tt.field, tt.code)
				}
				if n := count(t, w, `SELECT count(*) FROM members WHERE email = $1`, member.NormalizeEmail(r.Email)); n != 0 {
					t.Errorf("a refused registration left %d member rows", n)
				}
				if got := w.Mail(member.NormalizeEmail(r.Email)); len(got) != 0 {
					t.Errorf("a refused registration was mailed: %v", subjects(w, r.Email))
				}
			})
		}
		if files := blobFiles(t, w); len(files) != 0 {
			t.Errorf("refused registrations left stored objects: %v", files)
		}
	})
}

// TestRegisterReportsEveryField: a form shows every problem at once.
func TestRegisterReportsEveryField(t *testing.T) {
	t.Parallel()
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		_, err := w.Members.Register(t.Context(), member.Registration{Department: strings.Repeat("科", 101)})
		want := member.FieldErrors{"email": "invalid_email", "password": "password_short", "name": "required", "name_kana": "required",
			"profession": "choose_one", "license_number": "required", "workplace": "required", "department": "too_long", "proof": "required"}
		if diff := cmp.Diff(want, fieldErrors(err)); diff != "" {
			t.Errorf("Register(empty form) field errors (-want +got):\n%s", diff)
		}
	})
}

// TestRegisterAccepts: what a registration stores, cleaned; a photo or a PDF is
// a proof, whatever its name says.
func TestRegisterAccepts(t *testing.T) {
	t.Parallel()
	var jpg bytes.Buffer
	if err := jpeg.Encode(&jpg, image.NewGray(image.Rect(0, 0, 32, 32)), nil); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		change    func(r *member.Registration)
		wantType  string
		wantCheck func(t *testing.T, m *member.Member)
	}{
		{"PNG photo", func(r *member.Registration) {}, "image/png", nil},
		{"JPEG named .pdf", func(r *member.Registration) {
			r.Proof, r.ProofName = bytes.NewReader(jpg.Bytes()), "scan.pdf"
		}, "image/jpeg", nil},
		{"PDF without a name", func(r *member.Registration) { r.Proof, r.ProofName = bytes.NewReader(minimalPDF()), "" }, "application/pdf", nil},
		{"full-width licence and spaces", func(r *member.Registration) {
			r.LicenseNumber, r.Name, r.Workplace = " ａｂ１２３４５６ ", "  山田 \t 太郎 ", "東病院\u200b"
		}, "image/png", func(t *testing.T, m *member.Member) {
			if m.LicenseNumber != "AB123456" || m.Name != "山田 太郎" || m.Workplace != "東病院" {
				t.Errorf("stored licence %q, name %q, workplace %q; want AB123456, 山田 太郎, 東病院", m.LicenseNumber, m.Name, m.Workplace)
			}
		}},
		{"katakana and half-width kana", func(r *member.Registration) { r.NameKana = "ﾔﾏﾀﾞ･ﾊﾟｸ タロウ" }, "image/png", nil},
		{"English speaker", func(r *member.Registration) { r.Lang = "en-GB" }, "image/png", func(t *testing.T, m *member.Member) {
			if m.Lang != "en" {
				t.Errorf("language = %q, want en", m.Lang)
			}
		}},
	}
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				addr := newAddress("accepted")
				r := registration(t, "  "+strings.ToUpper(addr)+" ")
				tt.change(&r)
				m := get(t, w, register(t, w, r).ID)
				if m.Email != member.Email(addr) || m.Status != member.Unconfirmed || m.Role != member.RoleMember {
					t.Errorf("member %s, %s, %s; want %s, unconfirmed, member", m.Email, m.Status, m.Role, addr)
				}
				if !m.HasProof || m.ProofType != tt.wantType {
					t.Errorf("proof stored %v as %q, want %q", m.HasProof, m.ProofType, tt.wantType)
				}
				if tt.wantCheck != nil {
					tt.wantCheck(t, m)
				}
				if got := mailed(w, addr, "confirm", nil); len(got) != 1 || !strings.Contains(got[0].Link, "/confirm?token=") {
					t.Errorf("mails to %s: %q, want one confirmation link", addr, subjects(w, addr))
				}
				if !hasBlob(t, w, "proofs/"+string(m.ID)) {
					t.Errorf("no proof stored for %s among %v", m.ID, blobFiles(t, w))
				}
			})
		}
	})
}

// TestProofIsSealed: the proof is stored encrypted and only an administrator
// reads it back, with the view recorded.
func TestProofIsSealed(t *testing.T) {
	t.Parallel()
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		proof := featuretest.ProofPNG(t)
		r := registration(t, newAddress("proof"))
		m := register(t, w, r)
		for _, f := range blobFiles(t, w) {
			if b := readFile(t, f); bytes.Contains(b, proof[:64]) {
				t.Errorf("%s holds the proof in plaintext", f)
			}
		}
		rc, ctype, err := w.Members.Proof(t.Context(), w.Admin().ID, m.ID, "192.0.2.9")
		if err != nil {
			t.Fatalf("administrator opens the proof: %v", err)
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.Equal(got, proof) || ctype != "image/png" {
			t.Errorf("proof read back: %d bytes of %s, equal %v; want the %d bytes uploaded as image/png", len(got), ctype, bytes.Equal(got, proof), len(proof))
		}
		other := w.Member(featuretest.NewMember{})
		for _, who := range []member.ID{m.ID, other.ID} {
			if _, _, err := w.Members.Proof(t.Context(), who, m.ID, ""); !errors.Is(err, member.ErrNotFound) {
				t.Errorf("Proof() as member %s = %v, want ErrNotFound", who, err)
			}
		}
		if n := count(t, w, `SELECT count(*) FROM audit_events WHERE action = 'member.view_proof' AND target = $1`, m.ID); n != 1 {
			t.Errorf("%d member.view_proof events, want 1", n)
		}
	})
}

// TestRegisterKnownAddress: registering an address that already has an account
// answers the same as a new one and makes no second account; the owner is mailed
// instead — a new confirmation link while unconfirmed, a notice after.
func TestRegisterKnownAddress(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		existing func(t *testing.T, w *featuretest.World, email string) *member.Member
		wantMail string
	}{
		{"unconfirmed", func(t *testing.T, w *featuretest.World, email string) *member.Member {
			return register(t, w, registration(t, email))
		}, "confirm"},
		{"pending", func(_ *testing.T, w *featuretest.World, email string) *member.Member {
			return w.Registered(featuretest.NewMember{Email: email})
		}, "already_registered"},
		{"approved", func(_ *testing.T, w *featuretest.World, email string) *member.Member {
			return w.Member(featuretest.NewMember{Email: email})
		}, "already_registered"},
	}
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				email := newAddress("twice")
				first := tt.existing(t, w, email)
				before := len(mailed(w, email, tt.wantMail, nil))
				again := registration(t, strings.ToUpper(email))
				again.Name = "別人 花子"
				if m, err := w.Members.Register(t.Context(), again); err != nil || m != nil {
					t.Errorf("second Register() = %v, %v; want nil, nil", m, err)
				}
				if n := count(t, w, `SELECT count(*) FROM members WHERE email = $1`, email); n != 1 {
					t.Errorf("%d members with %s, want 1", n, email)
				}
				if got := get(t, w, first.ID); got.Name != first.Name {
					t.Errorf("the second registration changed the name to %q", got.Name)
				}
				if got := len(mailed(w, email, tt.wantMail, nil)); got != before+1 {
					t.Errorf("mails to %s: %q; want one more %q", email, subjects(w, email), subject(tt.wantMail, nil))
				}
			})
		}
	})
}

// TestReadRegistration: the multipart form of the web and the API becomes a
// Registration; a proof over the limit is refused while reading.
func TestReadRegistration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		proof   []byte
		wantErr error // compared by text
		wantLen int
	}{
		{"small proof", featuretest.ProofPNG(t), nil, len(featuretest.ProofPNG(t))},
		{"empty proof part", nil, nil, -1},
		{"proof over 10 MiB", make([]byte, member.MaxProofSize+1), member.ErrProofTooLarge, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mr := multipartForm(t, map[string]string{"email": " a@example.jp ", "name_kana": "あ", "invite": "tok", "ignored": "x"}, tt.proof)
			reg, form, err := member.ReadRegistration(mr)
			if fmt.Sprint(err) != fmt.Sprint(tt.wantErr) { // FieldErrors is a map: not comparable by errors.Is
				t.Fatalf("ReadRegistration() = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if reg.Email != "a@example.jp" || reg.InviteToken != "tok" || form["ignored"] != "" {
				t.Errorf("registration %+v, form %v", reg, form)
			}
			switch {
			case tt.wantLen < 0 && reg.Proof != nil:
				t.Error("an empty proof part became a proof")
			case tt.wantLen >= 0:
				b, _ := io.ReadAll(reg.Proof)
				if len(b) != tt.wantLen || reg.ProofName != "licence.png" {
					t.Errorf("proof %q of %d bytes, want licence.png of %d", reg.ProofName, len(b), tt.wantLen)
				}
			}
		})
	}
}

func minimalPDF() []byte {
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n%\xE2\xE3\xCF\xD3\n")
	var offs []int
	for i, o := range objs {
		offs = append(offs, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	b.WriteString("xref\n0 4\n0000000000 65535 f \n")
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size 4 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", xref)
	return b.Bytes()
}
