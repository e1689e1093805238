package mailtest

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"unicode/utf8"
)

// Message is a received message taken apart for assertions.
type Message struct {
	// Header is the header as transmitted: encoded words are left encoded, and
	// its Date and AddressList methods parse the usual fields.
	Header    mail.Header
	Subject   string // the Subject, encoded words decoded
	MediaType string // of the whole message, such as "multipart/alternative"
	Text      string // the first text/plain part, transfer encoding undone
	HTML      string // the first text/html part, transfer encoding undone; "" without one
}

// Parse takes apart an RFC 5322 message — as received, or as an .eml file — into
// its header, decoded subject and decoded text and HTML bodies. It fails on
// anything it cannot decode faithfully, such as a charset other than UTF-8.
func Parse(raw []byte) (*Message, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("read message: %w", err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		return nil, fmt.Errorf("decode subject: %w", err)
	}
	m := &Message{Header: msg.Header, Subject: subject}
	m.MediaType, err = m.walk(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// walk collects the text parts of one entity and returns its media type.
func (m *Message) walk(contentType, encoding string, body io.Reader) (string, error) {
	if contentType == "" {
		contentType = "text/plain; charset=us-ascii"
	}
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "", fmt.Errorf("content type %q: %w", contentType, err)
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		r := multipart.NewReader(body, params["boundary"])
		for {
			// NextRawPart, so that every transfer encoding is undone in one place.
			p, err := r.NextRawPart()
			if errors.Is(err, io.EOF) {
				return mediaType, nil
			}
			if err != nil {
				return "", fmt.Errorf("read %s: %w", mediaType, err)
			}
			if _, err := m.walk(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p); err != nil {
				return "", err
			}
		}
	}
	var dst *string
	switch mediaType {
	case "text/plain":
		dst = &m.Text
	case "text/html":
		dst = &m.HTML
	default:
		return mediaType, nil
	}
	if cs := strings.ToLower(params["charset"]); cs != "" && cs != "utf-8" && cs != "us-ascii" {
		return "", fmt.Errorf("%s: charset %q is not UTF-8", mediaType, cs)
	}
	b, err := io.ReadAll(decode(encoding, body))
	if err != nil {
		return "", fmt.Errorf("decode %s (%s): %w", mediaType, encoding, err)
	}
	if !utf8.Valid(b) {
		return "", fmt.Errorf("%s: body is not valid UTF-8", mediaType)
	}
	if *dst == "" {
		*dst = string(b)
	}
	return mediaType, nil
}

// decode undoes a Content-Transfer-Encoding.
func decode(encoding string, r io.Reader) io.Reader {
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "quoted-printable":
		return quotedprintable.NewReader(r)
	case "base64":
		return base64.NewDecoder(base64.StdEncoding, r) // skips line breaks
	case "", "7bit", "8bit", "binary":
		return r
	default:
		return errReader{fmt.Errorf("unknown transfer encoding %q", encoding)}
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
