package web_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/medbox-jp/medbox/internal/featuretest"
	"github.com/medbox-jp/medbox/internal/i18n"
)

// TestAuditPages (R-X5): a box's page shows its participants who opened and
// downloaded what; an administrator checks the audit chain from the audit page.
func TestAuditPages(t *testing.T) {
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		f := newFixture(t, w)
		ctx := context.Background()
		if _, err := f.Boxes.View(ctx, f.rcpt.ID, f.box, featuretest.Addr); err != nil {
			t.Fatal(err)
		}
		file, err := f.Boxes.File(ctx, f.rcpt.ID, f.file)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Boxes.RecordDownload(ctx, f.rcpt.ID, *file, "file.download", featuretest.Addr); err != nil {
			t.Fatal(err)
		}
		for _, lang := range i18n.Langs {
			t.Run(string(lang), func(t *testing.T) {
				f.t = t
				accept := map[string]string{"Accept-Language": string(lang)}
				_, page := f.do(request{visitor: "member", method: "GET", path: "/boxes/" + string(f.box), header: accept})
				for _, want := range []string{i18n.T(lang, "box.history"), i18n.T(lang, "history.file.download"), i18n.T(lang, "history.box.view"), f.rcpt.Name} {
					if !strings.Contains(page, want) {
						t.Errorf("the box page does not show %q", want)
					}
				}
				resp, page := f.do(request{visitor: "admin", method: "POST", path: "/admin/audit/verify", form: url.Values{}, header: accept})
				intact, _, _ := strings.Cut(i18n.T(lang, "admin.audit.intact", "N", 987654321), "987654321")
				if resp.StatusCode != 200 || !strings.Contains(page, intact) {
					t.Errorf("verify: %d, the page does not say %q", resp.StatusCode, intact)
				}
			})
		}
	})
}
