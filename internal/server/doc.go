// Package server assembles a MedBox instance from its configuration: the stores
// (database, blobs, master key, mail), every feature service wired to the others
// in one visible list of effects (Instance.effects), the background schedule,
// and the listeners that serve it — HTTPS with its TLS policy or ACME, the extra
// upload origins, TCP congestion control, metrics and graceful shutdown.
// cmd/medbox only turns flags and the environment into a Config and calls it.
package server
