package member_test

import (
	"strings"
	"testing"
	"time"

	"github.com/medbox-jp/medbox/internal/featuretest"
	"github.com/medbox-jp/medbox/internal/member"
	"github.com/medbox-jp/medbox/internal/sqldb"
)

// TestFixedIdentityInTheDatabase (R-M4): once a member is approved, the
// database itself refuses a change of name, kana, profession or licence number,
// or the undoing of the approval, on both engines — whatever code runs. Before
// approval an administrator's correction is not in its way, and the parts that
// may change still can.
func TestFixedIdentityInTheDatabase(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		from    member.Status
		update  string
		refused bool
	}{
		{"name after approval", member.Active, `UPDATE members SET name = 'Someone Else' WHERE id = $1`, true},
		{"kana after approval", member.Active, `UPDATE members SET name_kana = 'べつじん' WHERE id = $1`, true},
		{"profession after approval", member.Active, `UPDATE members SET profession = 'nurse' WHERE id = $1`, true},
		{"licence after approval", member.Active, `UPDATE members SET license_number = '999' WHERE id = $1`, true},
		{"undoing the approval", member.Active, `UPDATE members SET approved_at = NULL WHERE id = $1`, true},
		{"name while suspended", member.Suspended, `UPDATE members SET name = 'Someone Else' WHERE id = $1`, true},
		{"licence of a reinstated member", member.Rejected, `UPDATE members SET license_number = '999' WHERE id = $1`, false},
		{"workplace after approval", member.Active, `UPDATE members SET workplace = '西病院', department = '救急科' WHERE id = $1`, false},
		{"name before approval", member.Pending, `UPDATE members SET name = '訂正 太郎' WHERE id = $1`, false},
		{"licence before approval", member.Unconfirmed, `UPDATE members SET license_number = '999' WHERE id = $1`, false},
	}
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				m := inState(t, w, tt.from)
				_, err := w.DB.ExecContext(t.Context(), tt.update, m.ID)
				switch {
				case tt.refused && (err == nil || !sqldb.IsConstraint(err)):
					t.Errorf("%s: error %v, want the fixed-identity trigger to refuse", tt.update, err)
				case !tt.refused && err != nil:
					t.Errorf("%s: %v, want it allowed", tt.update, err)
				}
				if got := get(t, w, m.ID); tt.refused && (got.Name != m.Name || got.LicenseNumber != m.LicenseNumber || !got.Fixed()) {
					t.Errorf("after a refused update: name %q, licence %q, fixed %v", got.Name, got.LicenseNumber, got.Fixed())
				}
			})
		}
	})
}

// TestReapprovalKeepsIdentityFixed: a member approved, suspended and approved
// again keeps the date of their first approval, so the identity stays fixed.
func TestReapprovalKeepsIdentityFixed(t *testing.T) {
	t.Parallel()
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		m := inState(t, w, member.Suspended)
		first := get(t, w, m.ID).ApprovedAt
		w.Clock.Advance(24 * time.Hour)
		if err := w.Members.Approve(t.Context(), w.Admin().ID, m.ID, ""); err != nil {
			t.Fatal(err)
		}
		if got := get(t, w, m.ID).ApprovedAt; !got.Equal(first) {
			t.Errorf("approved at %v after reinstatement, want the first approval %v", got, first)
		}
	})
}

// TestUpdateProfile: a member changes their workplace, department and language,
// and nothing else; the directory finds them by the new workplace.
func TestUpdateProfile(t *testing.T) {
	t.Parallel()
	str := func(s string) *string { return &s }
	tests := []struct {
		name      string
		profile   member.Profile
		wantField string
		wantCode  string
		wantPlace string
		wantLang  string
	}{
		{"workplace and department", member.Profile{Workplace: str(" 西病院 "), Department: str("救急科")}, "", "", "西病院", "ja"},
		{"language", member.Profile{Lang: str("en")}, "", "", "東病院", "en"},
		{"nothing", member.Profile{}, "", "", "東病院", "ja"},
		{"empty workplace", member.Profile{Workplace: str(" ")}, "workplace", "required", "東病院", "ja"},
		{"workplace of 101 characters", member.Profile{Workplace: str(strings.Repeat("病", 101))}, "workplace", "too_long", "東病院", "ja"},
		{"department of 101 characters", member.Profile{Department: str(strings.Repeat("科", 101))}, "department", "too_long", "東病院", "ja"},
		{"unknown language", member.Profile{Lang: str("fr")}, "lang", "choose_one", "東病院", "ja"},
	}
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		viewer := w.Member(featuretest.NewMember{})
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				m := w.Member(featuretest.NewMember{Name: "変更 花子", NameKana: "へんこう はなこ"})
				_, err := w.Members.UpdateProfile(t.Context(), m.ID, tt.profile, "")
				if got := fieldErrors(err)[tt.wantField]; got != tt.wantCode || (tt.wantCode == "" && err != nil) {
					t.Fatalf("UpdateProfile() = %v, want %s: %q", err, tt.wantField, tt.wantCode)
				}
				got := get(t, w, m.ID)
				if got.Workplace != tt.wantPlace || got.Lang != tt.wantLang {
					t.Errorf("workplace %q, language %q; want %q, %q", got.Workplace, got.Lang, tt.wantPlace, tt.wantLang)
				}
				if got.Name != m.Name || got.NameKana != m.NameKana || got.Profession != m.Profession || got.LicenseNumber != m.LicenseNumber {
					t.Errorf("identity changed: %+v", got)
				}
				if tt.wantPlace == "東病院" {
					return
				}
				found, err := w.Members.Search(t.Context(), viewer.ID, tt.wantPlace, member.DirectoryLimit)
				if err != nil {
					t.Fatal(err)
				}
				if !hasEntry(found, m.ID) {
					t.Errorf("the directory does not find %s by the new workplace", m.ID)
				}
			})
		}
	})
}

func hasEntry(es []member.Entry, id member.ID) bool {
	for _, e := range es {
		if e.ID == id {
			return true
		}
	}
	return false
}
