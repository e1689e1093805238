package web

import (
	"net/http"
	"sort"
)

// An action that cannot be undone — deleting a file, signing out everywhere,
// rejecting or suspending a member — asks once, naming what will be lost. In the
// browser ask.js asks in a dialog before the form is sent and sends
// confirmed=yes; without it (no script, a stray or replayed POST) the server asks
// with a page of its own that sends the same form again, confirmed. Nothing is
// done until then. The API does not ask: a script means what it sends.

// askPage is the server's question before an irreversible action.
type askPage struct {
	basePage
	Message string            // what will be lost, already in the member's language
	OK      string            // message id of the button that does it
	Action  string            // where the form goes again
	Fields  map[string]string // the form as sent, to send again
	Keys    []string          // Fields' keys, in order
	Back    string            // where "cancel" goes
}

// confirmed reports whether the form r carries says the member confirmed.
// Otherwise it shows the question, naming what will be lost (msg), and the
// handler must stop.
func (s *Server) confirmed(w http.ResponseWriter, r *http.Request, msg, ok, back string) (bool, error) {
	if r.PostFormValue("confirmed") == "yes" {
		return true, nil
	}
	p := askPage{basePage: s.base(r, "ask.title"), Message: msg, OK: ok, Action: r.URL.Path, Fields: map[string]string{}, Back: back}
	for k, v := range r.PostForm {
		if k != "confirmed" && len(v) > 0 {
			p.Fields[k] = v[0]
			p.Keys = append(p.Keys, k)
		}
	}
	sort.Strings(p.Keys)
	return false, s.render(w, r, http.StatusOK, "ask", p)
}
