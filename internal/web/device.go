package web

import (
	"strings"

	"github.com/medbox-jp/medbox/internal/auth"
	"github.com/medbox-jp/medbox/internal/i18n"
)

// deviceName names the kind of device a session came from, from its
// User-Agent, for the member's list of sessions: "Safari（iPhone）".
func deviceName(lang i18n.Lang, userAgent string, kind auth.Kind) string {
	if kind == auth.API {
		return i18n.T(lang, "device.api")
	}
	ua := userAgent
	var os, browser string
	switch {
	case strings.Contains(ua, "iPhone"):
		os = "iPhone"
	case strings.Contains(ua, "iPad"):
		os = "iPad"
	case strings.Contains(ua, "Android"):
		os = "Android"
	case strings.Contains(ua, "Windows"):
		os = "Windows"
	case strings.Contains(ua, "Mac OS X"):
		os = "Mac"
	case strings.Contains(ua, "CrOS"):
		os = "ChromeOS"
	case strings.Contains(ua, "Linux"):
		os = "Linux"
	}
	switch {
	case strings.Contains(ua, "Edg/"):
		browser = "Edge"
	case strings.Contains(ua, "Firefox/") || strings.Contains(ua, "FxiOS/"):
		browser = "Firefox"
	case strings.Contains(ua, "Chrome/") || strings.Contains(ua, "CriOS/"):
		browser = "Chrome"
	case strings.Contains(ua, "Safari/"):
		browser = "Safari"
	}
	if os == "" || browser == "" {
		return i18n.T(lang, "device.unknown")
	}
	return i18n.T(lang, "device.on", "Browser", browser, "OS", os)
}
