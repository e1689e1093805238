//go:build !linux

package server

import (
	"errors"
	"syscall"
)

// setCongestion is Linux-only; elsewhere the system's choice stays.
func setCongestion(syscall.RawConn, string) error {
	return errors.New("choosing TCP congestion control is supported on Linux only")
}
