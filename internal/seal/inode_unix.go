//go:build unix

package seal

import (
	"os"
	"syscall"
)

// inode returns the file's inode number; a rename over the key file changes it
// even when size and modification time happen to match.
func inode(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino)
	}
	return 0
}
