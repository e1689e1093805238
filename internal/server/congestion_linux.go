package server

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// setCongestion sets the TCP congestion control of a listening socket; Linux
// gives every connection it accepts the same. It fails where the algorithm is
// not available (module missing) or not allowed (not in
// net.ipv4.tcp_allowed_congestion_control for an unprivileged process).
func setCongestion(c syscall.RawConn, name string) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptString(int(fd), unix.IPPROTO_TCP, unix.TCP_CONGESTION, name)
	})
	if err != nil {
		return err
	}
	return serr
}
