package web

import (
	"time"

	"github.com/medbox-jp/medbox/internal/i18n"
)

// formatBytes shows a size the way people read it.
func formatBytes(n int64) string { return i18n.Size(n) }

// timeLeft says how long until a box expires, coarsely.
func timeLeft(lang i18n.Lang, d time.Duration) string {
	if d <= 0 {
		return i18n.T(lang, "box.expired")
	}
	days, hours, mins := int(d/(24*time.Hour)), int(d/time.Hour)%24, int(d/time.Minute)%60
	switch {
	case days > 0:
		return i18n.T(lang, "box.left_days", "Days", days, "Hours", hours)
	case hours > 0:
		return i18n.T(lang, "box.left_hours", "Hours", hours, "Minutes", mins)
	}
	return i18n.T(lang, "box.left_minutes", "Minutes", max(mins, 1))
}
