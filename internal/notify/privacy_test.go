package notify_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/medbox-jp/medbox/internal/box"
	"github.com/medbox-jp/medbox/internal/featuretest"
	"github.com/medbox-jp/medbox/internal/member"
)

// TestMailsCarryNothingIdentifying (R-N3): with canaries in the box's message,
// file names, file contents, comments, a DICOM patient name and the members'
// names, every kind of mail is sent to someone, and none of them — subject, text or HTML —
// carries any canary.
func TestMailsCarryNothingIdentifying(t *testing.T) {
	canaries := []string{"CANARYMSG", "CANARYFILE", "CANARYTEXT", "CANARYCOMMENT", "CANARYPATIENT", "送 信子", "受 信男", "そう しんこ"}
	dcm, err := os.ReadFile(filepath.Join("..", "..", "testdata", "dicom", "ct_small.dcm"))
	if err != nil {
		t.Fatal(err)
	}
	// The canary goes into the patient name element (0010,0010).
	i := bytes.Index(dcm, []byte{0x10, 0x00, 0x10, 0x00, 'P', 'N'})
	if i < 0 {
		t.Fatal("no patient name in the DICOM file")
	}
	n := int(dcm[i+6]) | int(dcm[i+7])<<8
	copy(dcm[i+8:i+8+n], bytes.Repeat([]byte(" "), n))
	copy(dcm[i+8:i+8+n], "CANARYPATIENT")
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		f := newFixture(t, w)
		ctx := context.Background()
		b, err := f.Boxes.Create(ctx, f.sender.ID, box.Draft{Recipients: []member.ID{f.rcpt.ID, f.other.ID}, Message: "患者 CANARYMSG の件"}, featuretest.Addr)
		if err != nil {
			t.Fatal(err)
		}
		f.box = b.ID
		f.afterWindow() // nothing yet: no file
		f.AddFile(f.sender.ID, f.box, "CANARYFILE_山田.dcm", dcm)
		f.afterWindow() // shared, by its first file
		everyone := func() { f.view(f.sender); f.view(f.rcpt); f.view(f.other) }
		everyone()
		f.comment(f.rcpt, "CANARYCOMMENT 了解")
		f.afterWindow() // comment
		everyone()
		f.AddFile(f.rcpt.ID, f.box, "CANARYFILE_経過.txt", []byte("CANARYTEXT 経過良好\n"))
		f.afterWindow() // file_added
		everyone()
		f.comment(f.other, "CANARYCOMMENT 追記")
		second, err := f.Boxes.Create(ctx, f.sender.ID, box.Draft{Recipients: []member.ID{f.rcpt.ID}, Message: "CANARYMSG 二件目"}, featuretest.Addr)
		if err != nil {
			t.Fatal(err)
		}
		f.AddFile(f.sender.ID, second.ID, "CANARYFILE_二件目.txt", []byte("CANARYTEXT\n"))
		f.afterWindow() // a digest: news in two boxes
		// Someone who will never open the box, to be reminded and warned.
		if err := f.Boxes.AddRecipients(ctx, f.sender.ID, f.box, []member.ID{f.outsider.ID}, featuretest.Addr); err != nil {
			t.Fatal(err)
		}
		f.afterWindow()
		f.at(27 * time.Hour) // reminders
		f.at(61 * time.Hour) // expiry warnings
		kinds := map[string]bool{}
		for _, role := range roles {
			for _, m := range f.Mail(string(f.who(role).Email)) {
				kinds[kindOf(m)] = true
				for _, c := range canaries {
					if strings.Contains(m.Subject+"\n"+m.Text+"\n"+m.HTML, c) {
						t.Errorf("mail %q to %s carries %q", m.Subject, role, c)
					}
				}
			}
		}
		// Nor anywhere in the messages as sent: headers, encodings and all.
		sent, err := filepath.Glob(filepath.Join(f.Config.Data, "outbox", "*.eml"))
		if err != nil || len(sent) == 0 {
			t.Fatalf("no mail in the outbox (%v)", err)
		}
		for _, p := range sent {
			raw, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range canaries {
				if bytes.Contains(raw, []byte(c)) {
					t.Errorf("sent message %s carries %q", filepath.Base(p), c)
				}
			}
		}
		for _, k := range []string{"shared", "file_added", "comment", "reminder", "expiring", "digest"} {
			if !kinds[k] {
				t.Errorf("no %s mail was sent; the check covers only %v", k, kinds)
			}
		}
	})
}
