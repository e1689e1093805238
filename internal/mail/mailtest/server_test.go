package mailtest_test

import (
	"crypto/tls"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/medbox-jp/medbox/internal/mail/mailtest"
)

const raw = "From: a@example.jp\r\nTo: b@example.jp\r\nSubject: hello\r\n\r\nbody\r\n"

// send delivers raw through srv with a plain go-smtp client, authenticating first
// with auth unless it is nil.
func send(srv *mailtest.Server, auth sasl.Client) error {
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		return err
	}
	defer c.Close()
	if auth != nil {
		if err := c.Auth(auth); err != nil {
			return err
		}
	}
	return c.SendMail("a@example.jp", []string{"b@example.jp"}, strings.NewReader(raw))
}

// code returns the SMTP reply code in err, or 0.
func code(err error) int {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

func TestServerRecordsWhatItAccepts(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{})
	if err := send(srv, nil); err != nil {
		t.Fatalf("send: %v", err)
	}
	got := srv.Messages()
	if len(got) != 1 {
		t.Fatalf("%d messages, want 1", len(got))
	}
	r := got[0]
	if r.From != "a@example.jp" || len(r.To) != 1 || r.To[0] != "b@example.jp" || r.TLS || r.User != "" {
		t.Errorf("envelope %+v, want a@example.jp → [b@example.jp] without TLS or user", r)
	}
	m, err := r.Parse()
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "hello" || m.Text != "body\r\n" || m.MediaType != "text/plain" {
		t.Errorf("parsed subject %q, text %q, type %q", m.Subject, m.Text, m.MediaType)
	}
	if srv.URL() != "smtp://"+srv.Addr() {
		t.Errorf("URL() = %q, want smtp://%s", srv.URL(), srv.Addr())
	}
}

func TestServerRequiresAuthBeforeMail(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{Username: "medbox", Password: "s3cret"})
	if err := send(srv, nil); code(err) != 530 {
		t.Errorf("send without AUTH: %v, want 530", err)
	}
	if err := send(srv, sasl.NewPlainClient("", "medbox", "wrong")); code(err) != 535 {
		t.Errorf("send with a wrong password: %v, want 535", err)
	}
	if err := send(srv, sasl.NewPlainClient("", "medbox", "s3cret")); err != nil {
		t.Errorf("send with PLAIN: %v", err)
	}
	if err := send(srv, sasl.NewLoginClient("medbox", "s3cret")); err != nil {
		t.Errorf("send with LOGIN: %v", err)
	}
	got := srv.Messages()
	if len(got) != 2 || got[0].User != "medbox" || got[1].User != "medbox" {
		t.Errorf("accepted %+v, want 2 messages by medbox", got)
	}
	if n := srv.AuthAttempts(); n != 3 {
		t.Errorf("AuthAttempts() = %d, want 3", n)
	}
	if want := "smtp://medbox:s3cret@" + srv.Addr(); srv.URL() != want {
		t.Errorf("URL() = %q, want %q", srv.URL(), want)
	}
}

func TestServerOffersOnlyTheMechanismsAsked(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{Username: "u", Password: "p", AuthMechanisms: []string{sasl.Login}})
	if err := send(srv, sasl.NewPlainClient("", "u", "p")); err == nil {
		t.Error("PLAIN accepted by a LOGIN-only server")
	}
	if err := send(srv, sasl.NewLoginClient("u", "p")); err != nil {
		t.Errorf("LOGIN: %v", err)
	}
}

func TestServerTLS(t *testing.T) {
	for _, mode := range []mailtest.TLSMode{mailtest.StartTLS, mailtest.ImplicitTLS} {
		srv := mailtest.Start(t, mailtest.Options{TLS: mode})
		cfg := &tls.Config{RootCAs: srv.RootCAs(), ServerName: "127.0.0.1"}
		var c *smtp.Client
		var err error
		if mode == mailtest.StartTLS {
			c, err = smtp.DialStartTLS(srv.Addr(), cfg)
		} else {
			c, err = smtp.DialTLS(srv.Addr(), cfg)
		}
		if err != nil {
			t.Fatalf("mode %d: dial: %v", mode, err)
		}
		if err := c.SendMail("a@example.jp", []string{"b@example.jp"}, strings.NewReader(raw)); err != nil {
			t.Fatalf("mode %d: send: %v", mode, err)
		}
		c.Close()
		if got := srv.Messages(); len(got) != 1 || !got[0].TLS {
			t.Errorf("mode %d: got %d messages, TLS %v; want 1 over TLS", mode, len(got), len(got) == 1 && got[0].TLS)
		}
		// A client that does not trust the test CA must not get through.
		if mode == mailtest.ImplicitTLS {
			if c, err := smtp.DialTLS(srv.Addr(), &tls.Config{ServerName: "127.0.0.1"}); err == nil {
				c.Close()
				t.Error("implicit TLS: a client without the test CA connected")
			}
			if !strings.HasPrefix(srv.URL(), "smtps://") {
				t.Errorf("URL() = %q, want smtps://", srv.URL())
			}
		}
	}
}

func TestServerFailsAndRejectsOnRequest(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{})
	srv.FailNext(2)
	srv.RejectNext(1)
	// The rejection comes at RCPT, before the failure at DATA is reached.
	wantCodes := []int{550, 451, 451, 0}
	for i, want := range wantCodes {
		if err := send(srv, nil); code(err) != want || (want == 0 && err != nil) {
			t.Errorf("send %d: %v, want code %d", i+1, err, want)
		}
	}
	if got := srv.Messages(); len(got) != 1 {
		t.Errorf("recorded %d messages, want only the 1 accepted", len(got))
	}
}

func TestServerStopsAndRestartsOnItsAddress(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{})
	if err := send(srv, nil); err != nil {
		t.Fatal(err)
	}
	addr := srv.Addr()
	srv.Stop()
	if err := send(srv, nil); err == nil {
		t.Fatal("send to a stopped server succeeded")
	}
	srv.Restart()
	if srv.Addr() != addr {
		t.Errorf("address after Restart = %s, want %s", srv.Addr(), addr)
	}
	if err := send(srv, nil); err != nil {
		t.Fatalf("send after Restart: %v", err)
	}
	if got := srv.Messages(); len(got) != 2 {
		t.Errorf("%d messages across the restart, want 2", len(got))
	}
}

func TestServerStopsRightAfterStart(t *testing.T) {
	// Stop may come before the server goroutine has begun to accept; it must
	// still return, and the port must be closed.
	for range 20 {
		srv := mailtest.Start(t, mailtest.Options{})
		done := make(chan struct{})
		go func() { srv.Stop(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("Stop right after Start did not return within 10 s")
		}
		if err := send(srv, nil); err == nil {
			t.Fatal("send to a stopped server succeeded")
		}
	}
}

func TestServerHangsUpAfterDeliveryOnRequest(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{})
	srv.HangUpNext(1)
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SendMail("a@example.jp", []string{"b@example.jp"}, strings.NewReader(raw)); err != nil {
		t.Fatalf("send: %v, want the message accepted", err)
	}
	if err := c.Quit(); err == nil {
		t.Error("QUIT after the hang-up succeeded, want a broken connection")
	}
	if got := srv.Messages(); len(got) != 1 {
		t.Fatalf("recorded %d messages, want the 1 acknowledged before the hang-up", len(got))
	}
	c2, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if err := c2.SendMail("a@example.jp", []string{"b@example.jp"}, strings.NewReader(raw)); err != nil {
		t.Fatalf("second send: %v", err)
	}
	if err := c2.Quit(); err != nil {
		t.Errorf("QUIT on the next connection: %v, want the hang-up used up", err)
	}
}

func TestWait(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{})
	go func() {
		time.Sleep(50 * time.Millisecond)
		send(srv, nil)
	}()
	if got := srv.Wait(t, 1, 10*time.Second); len(got) != 1 {
		t.Errorf("Wait returned %d messages, want 1", len(got))
	}
}

func TestParseDecodesTransferEncodings(t *testing.T) {
	msg := strings.Join([]string{
		"From: MedBox <no-reply@medbox.example.jp>",
		"Subject: =?UTF-8?q?=E3=80=90MedBox=E3=80=91?= =?UTF-8?b?5paw44GX44GE44OV44Kh44Kk44Or?=",
		"MIME-Version: 1.0",
		`Content-Type: multipart/alternative; boundary="b1"`,
		"",
		"--b1",
		"Content-Type: text/plain; charset=UTF-8",
		"Content-Transfer-Encoding: base64",
		"",
		"5paw44GX44GE44OV44Kh44Kk44Or44GM5bGK44GN",
		"44G+44GX44Gf44CC",
		"--b1",
		"Content-Type: text/html; charset=UTF-8",
		"Content-Transfer-Encoding: quoted-printable",
		"",
		`<a href=3D"https://x.example.jp/">=E3=83=AA=E3=83=B3=E3=82=AF</a>=`,
		"",
		"--b1--",
		"",
	}, "\r\n")
	m, err := mailtest.Parse([]byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	if want := "【MedBox】新しいファイル"; m.Subject != want {
		t.Errorf("Subject = %q, want %q", m.Subject, want)
	}
	if want := "新しいファイルが届きました。"; m.Text != want {
		t.Errorf("Text = %q, want %q", m.Text, want)
	}
	if want := `<a href="https://x.example.jp/">リンク</a>`; m.HTML != want {
		t.Errorf("HTML = %q, want %q", m.HTML, want)
	}
	if m.MediaType != "multipart/alternative" {
		t.Errorf("MediaType = %q", m.MediaType)
	}

	sjis := "Subject: x\r\nContent-Type: text/plain; charset=Shift_JIS\r\n\r\n\x82\xa0\r\n"
	if _, err := mailtest.Parse([]byte(sjis)); err == nil {
		t.Error("Parse accepted a Shift_JIS body it cannot decode faithfully")
	}
}
