package main

import (
	"fmt"
	"strings"
)

// markControls numbers every control on the page a person can see and use —
// links, buttons, fields, summaries, anything with a tabindex of 0 or more —
// in data-kb, moves focus to the top of the page, and returns how the controls
// read.
const markControls = `(() => {
  const sel = 'a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]';
  const all = [...document.querySelectorAll(sel)].filter(e =>
    !e.disabled && e.tabIndex >= 0 && !e.closest('[hidden], [inert], [aria-hidden=true]') &&
    e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden');
  document.activeElement?.blur();
  window.scrollTo(0, 0);
  return all.map((e, i) => { e.dataset.kb = String(i); return e.outerHTML.slice(0, 100); });
})()`

// focused tells which control has focus and whether it shows it: an outline,
// a ring drawn by ::after, a shadow, or the outline of the drop zone around a
// file field.
const focused = `(() => {
  const e = document.activeElement;
  if (!e || e === document.body) return {kb: ''};
  const s = getComputedStyle(e), after = getComputedStyle(e, '::after'), zone = e.closest('.dropzone');
  const shown = (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== 'none' ||
    (after.content !== 'none' && after.borderTopStyle !== 'none' && parseFloat(after.borderTopWidth) > 0) ||
    (zone !== null && getComputedStyle(zone).outlineStyle !== 'none');
  return {kb: e.dataset.kb || '', shown, what: e.outerHTML.slice(0, 100), hasFocus: document.hasFocus()};
})()`

// everyControlByKeyboard presses Tab through the page from its top: every
// control is reached, and each shows that it has focus (where the engine's
// window has the system focus at all).
func (p *page) everyControlByKeyboard(where string) {
	p.t.Helper()
	controls := js[[]string](p, markControls)
	reached := map[string]bool{}
	var unshown []string
	judged := true
	for i := 0; i < len(controls)+3 && len(reached) < len(controls); i++ {
		p.press("Tab")
		f := js[struct {
			KB              string
			Shown, HasFocus bool
			What            string
		}](p, focused)
		if f.KB == "" || reached[f.KB] {
			continue
		}
		reached[f.KB] = true
		// Headless Firefox does not give its window the system focus, so
		// nothing matches :focus-visible there: the ring is judged where it can be.
		if !f.HasFocus {
			judged = false
		}
		if judged && !f.Shown {
			unshown = append(unshown, f.What)
		}
	}
	var missed []string
	for i, c := range controls {
		if !reached[fmt.Sprint(i)] {
			missed = append(missed, c)
		}
	}
	if len(missed) > 0 {
		p.t.Errorf("%s (%s): Tab does not reach %d of %d controls: %s", where, p.engine, len(missed), len(controls), strings.Join(missed, " | "))
	}
	if !judged {
		p.t.Logf("%s (%s): the window has no system focus here, so whether focus shows was not judged", where, p.engine)
	}
	if judged && len(unshown) > 0 {
		p.t.Errorf("%s (%s): focus is not shown on: %s", where, p.engine, strings.Join(unshown, " | "))
	}
}
