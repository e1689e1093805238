package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestParticipantsReplyWithFiles (issue 14 §4): every participant of a box may add
// files to it — a consultant replies with an annotated image. It is a stated
// feature, not an accident: the file counts against the quota of whoever added
// it, the other participants are told by mail (never its name), the history says
// who added it, only whoever added a file may delete it early, and to anyone
// outside the box there is nothing to upload into.
func TestParticipantsReplyWithFiles(t *testing.T) {
	eachDB(t, func(t *testing.T, in *instance) {
		x := newExchange(t, in)
		in.deliver()                      // the box's creation is noted …
		in.clock.Advance(2 * time.Minute) // … and its mail goes out first
		seen := map[string]bool{}
		for _, m := range in.outbox() {
			seen[m.Header.Get("Message-Id")] = true
		}
		senderUsed, rcptUsed := x.sender.usage(), x.rcpt.usage()
		data := jpeg(71, 400_000)
		name := "annotated_回答.jpg"
		id := x.rcpt.upload(x.box, name, data)

		if got := x.rcpt.usage(); got != rcptUsed+int64(len(data)) {
			t.Errorf("the replying recipient's usage = %d, want %d (+ the file)", got, rcptUsed+int64(len(data)))
		}
		if got := x.sender.usage(); got != senderUsed {
			t.Errorf("the box sender's usage changed from %d to %d for a file someone else added", senderUsed, got)
		}
		x.sender.downloadMatches(id, name, data)

		in.deliver()
		in.clock.Advance(2 * time.Minute) // news within a minute goes out as one mail
		var mailed bool
		for _, m := range in.outbox() {
			if seen[m.Header.Get("Message-Id")] {
				continue
			}
			if strings.Contains(m.To, "sender@a.example.jp") {
				mailed = true
				if strings.Contains(m.Text, name) || strings.Contains(m.Subject, name) {
					t.Errorf("the mail names the file: %q", m.Subject)
				}
			}
			if strings.Contains(m.To, "rcpt@b.example.jp") {
				t.Errorf("the recipient was mailed about their own file: %q", m.Subject)
			}
		}
		if !mailed {
			t.Error("the box's sender was not told that a file was added")
		}

		status, body, _ := x.sender.do("GET", "/api/v1/boxes/"+x.box+"/history", nil, nil)
		var hist struct {
			Events []struct {
				Who    struct{ ID string }
				Action string
				Target string
			}
		}
		if status != http.StatusOK || json.Unmarshal(body, &hist) != nil {
			t.Fatalf("history: %d %s", status, body)
		}
		var added bool
		for _, e := range hist.Events {
			if e.Action == "file.upload" && e.Who.ID == x.rcptID && e.Target == id {
				added = true
			}
		}
		if !added {
			t.Errorf("the history does not say the recipient added %s: %s", id, body)
		}

		// Only whoever added a file deletes it early.
		var e map[string]map[string]string
		if status := x.sender.json("DELETE", "/api/v1/files/"+id, nil, &e); status != http.StatusForbidden || e["error"]["code"] != "not_sender" {
			t.Errorf("the box's sender deleting the recipient's file: %d %v, want 403 not_sender", status, e)
		}
		must(t, x.rcpt.json("DELETE", "/api/v1/files/"+id, nil, nil), http.StatusNoContent, "the recipient deletes their own file")
		if got := x.rcpt.usage(); got != rcptUsed {
			t.Errorf("usage after deleting the reply = %d, want %d", got, rcptUsed)
		}

		// Outside the box there is nothing to upload into.
		status, _, _ = x.outside.createUpload(x.box, "x.jpg", 1000)
		if status != http.StatusNotFound {
			t.Errorf("an outsider creating an upload in the box: %d, want 404", status)
		}
	})
}
