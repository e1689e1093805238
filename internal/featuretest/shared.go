package featuretest

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/medbox-jp/medbox/internal/dicom"
	"github.com/medbox-jp/medbox/internal/sqldb/sqltest"
)

// shared holds the PostgreSQL Worlds the tests of one test binary share
// (EachShared), by options, and what Main does once the tests are over.
var shared struct {
	sync.Mutex
	main     bool // Main runs the binary's tests
	worlds   map[string]*World
	cleanups []func()
}

// Main runs a package's tests, then closes the Worlds they shared. A package
// whose tests call EachShared or make DICOM previews has
//
//	func TestMain(m *testing.M) { os.Exit(featuretest.Main(m)) }
//
// An instance decodes DICOM in a worker process started as
// dicom.WorkerCommand("dicom-worker"), that is, as its own executable: in a
// test, the test binary. Main makes that binary act as the worker when so
// started, as `medbox dicom-worker` does.
func Main(m *testing.M) int {
	if len(os.Args) > 1 && os.Args[1] == "dicom-worker" {
		if err := dicom.WorkerMain(context.Background(), os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return 0
	}
	shared.Lock()
	shared.main = true
	shared.Unlock()
	code := m.Run()
	shared.Lock()
	defer shared.Unlock()
	for i := len(shared.cleanups) - 1; i >= 0; i-- {
		shared.cleanups[i]()
	}
	shared.cleanups, shared.worlds = nil, nil
	return code
}

// EachShared is Each on a PostgreSQL World that every test of the binary
// calling it with the same Options shares, handed to fn as a view for t (see
// World.For); the SQLite World is the test's own, as in Each, since it costs
// little to make and one file serialises its writers. It is for tests whose
// cases each take a fresh fixture and that neither move the clock nor act on a
// whole World (expiry, sweeps, recounts of everyone): a package's tests then
// clone one PostgreSQL database, not one per test, which is most of what a
// small test costs. The package's TestMain calls Main.
func EachShared(t *testing.T, o Options, fn func(t *testing.T, w *World)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, New(t, "", o)) })
	t.Run("postgres", func(t *testing.T) { fn(t, sharedWorld(t, o)) })
}

func sharedWorld(t *testing.T, o Options) *World {
	t.Helper()
	keys := make([]string, 0, len(o.Env))
	for k, v := range o.Env {
		keys = append(keys, k+"="+v)
	}
	slices.Sort(keys)
	key := strings.Join(keys, " ")
	shared.Lock()
	defer shared.Unlock()
	if !shared.main {
		t.Fatal("featuretest.EachShared: the package's TestMain must run its tests through featuretest.Main")
	}
	w := shared.worlds[key]
	if w == nil {
		tb := &binaryTB{TB: t}
		w = New(tb, sqltest.NewPostgresURL(tb), o)
		if shared.worlds == nil {
			shared.worlds = map[string]*World{}
		}
		shared.worlds[key] = w
	}
	return w.For(t)
}

// binaryTB is the testing.TB a shared World is made with: a failure while
// making it fails the test that asked first, but what must last — temporary
// directories, the database, cleanups — lasts until Main ends. It is used only
// while shared is locked.
type binaryTB struct{ testing.TB }

func (b *binaryTB) Cleanup(f func()) { shared.cleanups = append(shared.cleanups, f) }

func (b *binaryTB) TempDir() string {
	dir, err := os.MkdirTemp("", "featuretest")
	if err != nil {
		b.Fatalf("shared World: %v", err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func (b *binaryTB) Context() context.Context { return context.Background() }

// Logf writes to standard error: a shared World's cleanups run after every test.
func (b *binaryTB) Logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "featuretest: "+format+"\n", args...)
}
