package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// mailsTo returns the notification mails to addr (those about boxes), oldest first.
func (in *instance) mailsTo(addr string) []sentMail {
	var out []sentMail
	for _, m := range in.outbox() {
		if strings.Contains(m.To, addr) && strings.Contains(m.Text, "/boxes") {
			out = append(out, m)
		}
	}
	return out
}

// afterWindow lets pending events become notices, moves the clock past the
// notification window, and delivers the mail that gathers them.
func (in *instance) afterWindow() {
	in.deliver()
	in.clock.Advance(61 * time.Second)
	in.deliver()
}

// TestNotificationsFollowEvents (R-N1): a box sent to you (once it holds a
// file), a file added, a comment and being added later each mail the right
// people, and not the one who acted; news of a box already mailed waits until
// the member opens it.
func TestNotificationsFollowEvents(t *testing.T) {
	eachDBWith(t, smallChunks, func(t *testing.T, in *instance) {
		x := newExchange(t, in)
		in.afterWindow()
		if got := in.mailsTo("rcpt@b.example.jp"); len(got) != 0 {
			t.Fatalf("a box without files mailed its recipient: %v", subjects(got))
		}
		x.sender.upload(x.box, "first.jpg", jpeg(10, 1000))
		in.afterWindow()
		shared := in.mailsTo("rcpt@b.example.jp")
		if len(shared) != 1 || !strings.Contains(shared[0].Subject, "新しいやりとりが届きました") {
			t.Fatalf("recipient's mails after the box was sent: %v", subjects(shared))
		}
		if !strings.Contains(shared[0].Text, "/boxes/"+x.box) {
			t.Errorf("the mail has no link to the box:\n%s", shared[0].Text)
		}
		senderBefore := len(in.mailsTo("sender@a.example.jp"))
		x.rcpt.relogin()
		must(t, x.rcpt.json("GET", "/api/v1/boxes/"+x.box, nil, nil), http.StatusOK, "the recipient opens the box")
		x.sender.relogin()
		x.sender.upload(x.box, "ct.jpg", jpeg(11, 1000))
		in.afterWindow()
		if got := in.mailsTo("rcpt@b.example.jp"); len(got) != 2 || !strings.Contains(got[1].Subject, "新しいファイル") {
			t.Errorf("recipient after a file: %v", subjects(got))
		}
		if got := in.mailsTo("sender@a.example.jp"); len(got) != senderBefore {
			t.Errorf("the sender was mailed about their own file: %v", subjects(got))
		}
		x.rcpt.relogin()
		must(t, x.rcpt.json("POST", "/api/v1/boxes/"+x.box+"/comments", map[string]string{"body": "ありがとうございます"}, nil), http.StatusCreated, "comment")
		in.afterWindow()
		if got := in.mailsTo("sender@a.example.jp"); len(got) != senderBefore+1 || !strings.Contains(got[len(got)-1].Subject, "新しいコメント") {
			t.Errorf("sender after a comment: %v", subjects(got))
		}
		x.sender.relogin()
		must(t, x.sender.json("POST", "/api/v1/boxes/"+x.box+"/participants", map[string]any{"member_ids": []string{x.outsideID}}, nil), http.StatusOK, "add")
		in.afterWindow()
		if got := in.mailsTo("outside@c.example.jp"); len(got) != 1 || !strings.Contains(got[0].Subject, "新しいやりとり") {
			t.Errorf("member added later: %v", subjects(got))
		}
		for _, m := range in.outbox() {
			for _, h := range []string{"Message-Id", "Date", "Auto-Submitted"} {
				if m.Header.Get(h) == "" {
					t.Errorf("mail %q lacks %s", m.Subject, h)
				}
			}
		}
	})
}

func subjects(ms []sentMail) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Subject)
	}
	return out
}

// TestBurstBecomesOneMail: many events for one member within the window become
// one mail, a digest when they concern several boxes.
func TestBurstBecomesOneMail(t *testing.T) {
	in := startInstance(t, instanceOptions{env: smallChunks})
	x := newExchange(t, in)
	in.afterWindow()
	before := len(in.mailsTo("rcpt@b.example.jp"))
	x.sender.relogin()
	for i := range 12 {
		x.sender.upload(x.box, "slice"+string(rune('a'+i))+".jpg", jpeg(uint64(20+i), 500))
	}
	b2 := x.newBox(t, x.rcptID)
	x.sender.json("POST", "/api/v1/boxes/"+b2+"/comments", map[string]string{"body": "至急"}, nil)
	in.afterWindow()
	got := in.mailsTo("rcpt@b.example.jp")[before:]
	if len(got) != 1 {
		t.Fatalf("%d mails for one burst: %v", len(got), subjects(got))
	}
	if !strings.Contains(got[0].Subject, "2件のやりとりに新着") || !strings.Contains(got[0].Text, "/boxes/"+x.box) || !strings.Contains(got[0].Text, "/boxes/"+b2) {
		t.Errorf("digest: %q\n%s", got[0].Subject, got[0].Text)
	}
}

// TestReminderAndExpiringWarning (moved clock): unread for 24 hours brings one
// reminder; opening the box cancels it; an unread box near expiry is warned of.
func TestReminderAndExpiringWarning(t *testing.T) {
	eachDBWith(t, smallChunks, func(t *testing.T, in *instance) {
		x := newExchange(t, in)
		second := x.newBox(t, x.rcptID, x.outsideID)
		x.sender.upload(second, "second.jpg", jpeg(12, 1000)) // news only once a file is in
		in.afterWindow()
		base := len(in.mailsTo("rcpt@b.example.jp"))
		// The outsider opens the second box at once; the recipient reads nothing.
		x.outside.relogin()
		must(t, x.outside.json("GET", "/api/v1/boxes/"+second, nil, nil), http.StatusOK, "open")
		in.clock.Advance(23 * time.Hour)
		in.deliver()
		if got := in.mailsTo("rcpt@b.example.jp")[base:]; len(got) != 0 {
			t.Errorf("reminder before 24 hours: %v", subjects(got))
		}
		in.clock.Advance(2 * time.Hour)
		in.afterWindow()
		got := in.mailsTo("rcpt@b.example.jp")[base:]
		if len(got) != 1 || !strings.Contains(got[0].Text, "24時間未読") && !strings.Contains(got[0].Subject, "未読") {
			t.Fatalf("after 24 hours unread: %v", subjects(got))
		}
		if len(in.mailsTo("outside@c.example.jp")) != 1 {
			t.Errorf("the member who read the box was reminded: %v", subjects(in.mailsTo("outside@c.example.jp")))
		}
		in.clock.Advance(24 * time.Hour)
		in.afterWindow()
		if more := in.mailsTo("rcpt@b.example.jp")[base+1:]; len(more) != 0 {
			t.Errorf("a second reminder for the same items: %v", subjects(more))
		}
		// 72 h boxes: 12 h before expiry, still unread → a warning, once.
		in.clock.Advance(12 * time.Hour)
		in.afterWindow()
		warn := in.mailsTo("rcpt@b.example.jp")[base+1:]
		if len(warn) != 1 || !(strings.Contains(warn[0].Subject, "削除") || strings.Contains(warn[0].Text, "削除が近い")) {
			t.Errorf("expiring warning: %v", subjects(warn))
		}
		if n := len(in.mailsTo("outside@c.example.jp")); n != 1 {
			t.Errorf("the member who read the box was warned: %d mails", n)
		}
	})
}

// TestTriggersCanBeTurnedOff (R-N2).
func TestTriggersCanBeTurnedOff(t *testing.T) {
	in := startInstance(t, instanceOptions{env: smallChunks})
	x := newExchange(t, in)
	x.sender.upload(x.box, "first.jpg", jpeg(39, 800))
	in.afterWindow()
	x.rcpt.relogin()
	must(t, x.rcpt.json("GET", "/api/v1/boxes/"+x.box, nil, nil), http.StatusOK, "open the box") // news would mail again
	var me map[string]any
	must(t, x.rcpt.json("PATCH", "/api/v1/me", map[string]any{"notifications": map[string]bool{"file_added": false, "reminder": false}}, &me),
		http.StatusOK, "turn off")
	if n := me["notifications"].(map[string]any); n["file_added"] != false || n["comment"] != true {
		t.Errorf("settings now %v", n)
	}
	before := len(in.mailsTo("rcpt@b.example.jp"))
	x.sender.relogin()
	x.sender.upload(x.box, "x.jpg", jpeg(40, 800))
	in.afterWindow()
	in.clock.Advance(25 * time.Hour)
	in.afterWindow()
	if got := in.mailsTo("rcpt@b.example.jp")[before:]; len(got) != 0 {
		t.Errorf("mails despite the triggers being off: %v", subjects(got))
	}
	x.sender.relogin()
	x.sender.json("POST", "/api/v1/boxes/"+x.box+"/comments", map[string]string{"body": "確認を"}, nil)
	in.afterWindow()
	if got := in.mailsTo("rcpt@b.example.jp")[before:]; len(got) != 1 {
		t.Errorf("comment trigger still on, got %v", subjects(got))
	}
	var bad map[string]map[string]any
	x.rcpt.relogin()
	if status := x.rcpt.json("PATCH", "/api/v1/me", map[string]any{"notifications": map[string]bool{"nonsense": true}}, &bad); status != http.StatusBadRequest {
		t.Errorf("unknown trigger: %d", status)
	}
}

// TestMailsCarryNothingIdentifying (R-N3): every kind of mail, with canary strings
// in file names, the message, comments and a DICOM patient name — none of them,
// nor the sender's name, appears in any mail.
func TestMailsCarryNothingIdentifying(t *testing.T) {
	in := startInstance(t, instanceOptions{env: smallChunks})
	x := newExchange(t, in)
	canaries := []string{"CANARYMSG", "CANARYFILE", "CANARYCOMMENT", "CANARYPATIENT", "送 信子", "受 信男"}
	var b map[string]any
	must(t, x.sender.json("POST", "/api/v1/boxes", map[string]any{"recipients": []string{x.rcptID}, "message": "患者 CANARYMSG の件"}, &b), http.StatusCreated, "box")
	box := b["id"].(string)
	dcm, err := os.ReadFile(filepath.Join("..", "..", "testdata", "dicom", "ct_small.dcm"))
	if err != nil {
		t.Fatal(err)
	}
	// Put the canary into the patient name element (0010,0010) of the DICOM file.
	if i := bytes.Index(dcm, []byte{0x10, 0x00, 0x10, 0x00, 'P', 'N'}); i >= 0 {
		n := int(dcm[i+6]) | int(dcm[i+7])<<8
		copy(dcm[i+8:i+8+n], []byte(strings.Repeat(" ", n)))
		copy(dcm[i+8:], []byte("CANARYPATIENT"[:min(n, 13)]))
	}
	x.sender.upload(box, "CANARYFILE_山田.dcm", dcm)
	x.rcpt.relogin()
	x.rcpt.json("POST", "/api/v1/boxes/"+box+"/comments", map[string]string{"body": "CANARYCOMMENT 了解"}, nil)
	x.sender.relogin()
	x.sender.json("POST", "/api/v1/boxes/"+box+"/participants", map[string]any{"member_ids": []string{x.outsideID}}, nil)
	in.afterWindow()
	in.clock.Advance(25 * time.Hour) // reminders
	in.afterWindow()
	in.clock.Advance(36 * time.Hour) // expiring warnings
	in.afterWindow()
	kinds := map[string]bool{}
	for _, m := range in.outbox() {
		raw, err := os.ReadFile(m.File)
		if err != nil {
			t.Fatal(err)
		}
		whole := m.Subject + "\n" + m.Text + "\n" + string(raw)
		for _, c := range canaries {
			if strings.Contains(whole, c) {
				t.Errorf("mail %q carries %q", m.Subject, c)
			}
		}
		kinds[m.Subject] = true
	}
	if len(kinds) < 4 {
		t.Errorf("only %d kinds of mail were exercised: %v", len(kinds), kinds)
	}
	_ = context.Background
}
