package seal

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// keyFileHeader is the first line of a key file (see the package documentation).
const keyFileHeader = "medbox-master-keys v1"

var keyIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// keyFile is the parsed content of a key file.
type keyFile struct {
	current string
	keys    map[string][32]byte
}

func parseKeyFile(data []byte) (keyFile, error) {
	kf := keyFile{keys: make(map[string][32]byte)}
	text := strings.TrimSpace(string(data))
	if k, err := base64.StdEncoding.DecodeString(text); err == nil && len(k) == 32 {
		sum := sha256.Sum256(k)
		kf.current = "mk-" + hex.EncodeToString(sum[:8])
		kf.keys[kf.current] = [32]byte(k)
		return kf, nil
	}
	seenHeader := false
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !seenHeader {
			if line != keyFileHeader {
				return keyFile{}, fmt.Errorf("line %d: want %q first (or a bare base64 key)", i+1, keyFileHeader)
			}
			seenHeader = true
			continue
		}
		f := strings.Fields(line)
		switch {
		case len(f) == 2 && f[0] == "current":
			if kf.current != "" {
				return keyFile{}, fmt.Errorf("line %d: a second current key", i+1)
			}
			kf.current = f[1]
		case len(f) == 3 && f[0] == "key":
			if !keyIDPattern.MatchString(f[1]) {
				return keyFile{}, fmt.Errorf("line %d: bad key id %q", i+1, f[1])
			}
			if _, dup := kf.keys[f[1]]; dup {
				return keyFile{}, fmt.Errorf("line %d: key %s listed twice", i+1, f[1])
			}
			k, err := base64.StdEncoding.DecodeString(f[2])
			if err != nil || len(k) != 32 {
				return keyFile{}, fmt.Errorf("line %d: key %s is not 32 bytes of base64", i+1, f[1])
			}
			kf.keys[f[1]] = [32]byte(k)
		default:
			return keyFile{}, fmt.Errorf("line %d: want \"current ID\" or \"key ID BASE64\"", i+1)
		}
	}
	if !seenHeader {
		return keyFile{}, errors.New("empty key file")
	}
	if kf.current == "" {
		return keyFile{}, errors.New("no current key named")
	}
	if _, ok := kf.keys[kf.current]; !ok {
		return keyFile{}, fmt.Errorf("current key %s is not listed", kf.current)
	}
	return kf, nil
}

func (kf keyFile) format() []byte {
	var b bytes.Buffer
	b.WriteString("# MedBox master keys. Secret: keep mode 0600 and never put this file in a backup.\n")
	b.WriteString("# Losing it makes every stored file unreadable. Rotate with the admin command.\n")
	b.WriteString(keyFileHeader + "\n")
	b.WriteString("current " + kf.current + "\n")
	ids := make([]string, 0, len(kf.keys))
	for id := range kf.keys {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		k := kf.keys[id]
		b.WriteString("key " + id + " " + base64.StdEncoding.EncodeToString(k[:]) + "\n")
	}
	return b.Bytes()
}

// newMasterKey makes a random key and its id.
func newMasterKey() (string, [32]byte) {
	var k [32]byte
	rand.Read(k[:])
	var id [8]byte
	rand.Read(id[:])
	return "mk-" + hex.EncodeToString(id[:]), k
}

// readKeyFile reads and parses path, refusing a file that others may read.
func readKeyFile(path string) (keyFile, fileStamp, error) {
	f, err := os.Open(path) // #nosec G304 -- the master key path is the operator's configuration
	if err != nil {
		return keyFile{}, fileStamp{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return keyFile{}, fileStamp{}, err
	}
	if !fi.Mode().IsRegular() {
		return keyFile{}, fileStamp{}, fmt.Errorf("key file %s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return keyFile{}, fileStamp{}, fmt.Errorf("key file %s has mode %04o: others may read it; chmod 600 it", path, perm)
	}
	var data bytes.Buffer
	if _, err := data.ReadFrom(f); err != nil {
		return keyFile{}, fileStamp{}, err
	}
	kf, err := parseKeyFile(data.Bytes())
	if err != nil {
		return keyFile{}, fileStamp{}, fmt.Errorf("key file %s: %w", path, err)
	}
	return kf, stampOf(fi), nil
}

// writeKeyFile replaces path with kf atomically and durably: a 0600 temporary file
// in the same directory, flushed, renamed over path, and the directory flushed.
// With exclusive set it fails with fs.ErrExist instead of replacing a file.
func writeKeyFile(path string, kf keyFile, exclusive bool) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create key directory: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".medbox-keys-*")
	if err != nil {
		return fmt.Errorf("create temporary key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("restrict temporary key file: %w", err)
	}
	if _, err := tmp.Write(kf.format()); err != nil {
		tmp.Close()
		return fmt.Errorf("write temporary key file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("flush temporary key file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close temporary key file: %w", err)
	}
	if exclusive {
		err = os.Link(tmp.Name(), path) // fails if another process created it first
	} else {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return err
	}
	d, err := os.Open(dir) // #nosec G304 -- the master key path is the operator's configuration
	if err != nil {
		return fmt.Errorf("open key directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("flush key directory: %w", err)
	}
	return nil
}

// fileStamp identifies a version of the key file, to notice a rotation made by
// another process.
type fileStamp struct {
	size  int64
	mtime int64
	ino   uint64
}

func stampOf(fi os.FileInfo) fileStamp {
	return fileStamp{size: fi.Size(), mtime: fi.ModTime().UnixNano(), ino: inode(fi)}
}
