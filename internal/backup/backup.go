// Package backup makes and restores consistent, encrypted backups of a MedBox
// instance (R-X7): every table of the database as of one snapshot, sealed under a
// backup key that the master key wraps, and every stored object copied as it is
// (already sealed). The master key is never part of a backup; restoring needs it.
// Each backup is a generation of its own under the destination, and the oldest
// generations beyond a count are removed.
package backup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/medbox-jp/medbox/internal/audit"
	"github.com/medbox-jp/medbox/internal/blob"
	"github.com/medbox-jp/medbox/internal/seal"
	"github.com/medbox-jp/medbox/internal/sqldb"
)

// Tables lists every table of the schema in an order that respects foreign keys,
// for dumping and restoring. A test checks that it names every table there is.
var Tables = []string{
	"audit_head", "audit_events", "audit_chains", "audit_key", "audit_checkpoints", "seal_keys", "jobs",
	"members", "member_tokens", "invitations", "sessions", "login_state", "throttle",
	"mfa_totp", "mfa_recovery", "passkey_users", "passkeys", "passkey_ceremonies", "passkey_signins", "remembered_devices",
	"boxes", "participants", "files", "comments", "usage", "uploads", "upload_chunks", "upload_grants",
	"notices", "notify_settings", "monitor_cursor", "alerts", "previews", "settings",
}

// seeded tables hold a row that migrations insert; restore replaces it.
var seeded = map[string]bool{"audit_head": true, "audit_chains": true, "monitor_cursor": true}

// Manifest describes one generation; it is written last, so a generation without
// one is incomplete and ignored.
type Manifest struct {
	Version   int              `json:"version"`
	Name      string           `json:"name"`
	CreatedAt time.Time        `json:"created_at"`
	Dialect   sqldb.Dialect    `json:"dialect"`
	Key       seal.DetachedKey `json:"key"`
	Tables    map[string]int   `json:"tables"`
	Objects   int              `json:"objects"`
	Bytes     int64            `json:"bytes"`
}

// Options wire a backup or a restore.
type Options struct {
	DB     *sqldb.DB
	Blobs  blob.Store // the instance's store, as stored (sealed objects)
	Master *seal.Master
	Now    func() time.Time
	Keep   int // generations to keep; older ones are removed
	Log    *slog.Logger
}

// Run makes a new generation in dest and removes generations beyond o.Keep.
func Run(ctx context.Context, o Options, dest blob.Store) (*Manifest, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	now := o.Now().UTC()
	name := now.Format("20060102T150405.000Z")
	name = strings.ReplaceAll(name, ".", "")
	// A generation is never overwritten: two backups in the same millisecond
	// (clocks that disagree, a clock set back) would otherwise mix into one.
	gens, err := Generations(ctx, dest)
	if err != nil {
		return nil, err
	}
	if slices.Contains(gens, name) {
		return nil, fmt.Errorf("back up: generation %s already exists in the destination; is the clock set back?", name)
	}
	dk, key, err := o.Master.NewDetachedKey("backup/" + name)
	if err != nil {
		return nil, err
	}
	m := &Manifest{Version: 1, Name: name, CreatedAt: now, Dialect: o.DB.Dialect(), Key: key, Tables: map[string]int{}}
	sealed := seal.New(dest).With(dk)
	// One snapshot for every table: rows that refer to each other agree.
	var lastCheckpoint int64
	err = o.DB.ReadTx(ctx, func(tx *sqldb.Tx) error {
		var err error
		if lastCheckpoint, err = audit.LastCheckpoint(ctx, tx); err != nil {
			return err
		}
		for _, t := range Tables {
			n, err := dumpTable(ctx, tx, t, sealed, name+"/db/"+t+".jsonl")
			if err != nil {
				return err
			}
			m.Tables[t] = n
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("back up database: %w", err)
	}
	// Objects are immutable and named by id; whatever the snapshot refers to is
	// there unless it was deleted since, which a restore then sweeps as expired.
	// Audit anchors made after the snapshot are left out: restored beside a
	// database without their checkpoints, they would read as a cut-back log.
	err = o.Blobs.List(ctx, "", func(k string, size int64) error {
		if n, ok := audit.AnchorNumber(k); ok && n > lastCheckpoint {
			return nil
		}
		if err := copyObject(ctx, o.Blobs, k, dest, name+"/blobs/"+k, size); err != nil {
			if errors.Is(err, blob.ErrNotFound) {
				return nil // deleted while we copied
			}
			return err
		}
		m.Objects++
		m.Bytes += size
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("back up objects: %w", err)
	}
	b, _ := json.MarshalIndent(m, "", "  ")
	if err := dest.Put(ctx, name+"/manifest.json", strings.NewReader(string(b)), int64(len(b))); err != nil {
		return nil, fmt.Errorf("write manifest: %w", err)
	}
	if err := prune(ctx, dest, o.Keep, o.Log); err != nil {
		return m, err
	}
	return m, nil
}

func copyObject(ctx context.Context, from blob.Store, key string, to blob.Store, dst string, size int64) error {
	rc, err := from.Get(ctx, key, 0, -1)
	if err != nil {
		return err
	}
	defer rc.Close()
	return to.Put(ctx, dst, rc, size)
}

// Generations returns the complete generations in dest, oldest first.
func Generations(ctx context.Context, dest blob.Store) ([]string, error) {
	var names []string
	err := dest.List(ctx, "", func(k string, _ int64) error {
		if name, rest, ok := strings.Cut(k, "/"); ok && rest == "manifest.json" {
			names = append(names, name)
		}
		return nil
	})
	sort.Strings(names)
	return names, err
}

// generationName matches the names Run gives generations.
var generationName = regexp.MustCompile(`^[0-9]{8}T[0-9]{9}Z$`)

// prune removes generations beyond keep, oldest first, and incomplete ones older
// than the newest complete generation: what an interrupted backup, or an
// interrupted prune, left behind. An incomplete generation newer than that may
// still be being written and is left alone.
func prune(ctx context.Context, dest blob.Store, keep int, log *slog.Logger) error {
	if keep <= 0 {
		return nil
	}
	gens, err := Generations(ctx, dest)
	if err != nil || len(gens) == 0 {
		return err
	}
	newest := gens[len(gens)-1]
	var remove []string
	seen := map[string]bool{}
	err = dest.List(ctx, "", func(k string, _ int64) error {
		name, _, ok := strings.Cut(k, "/")
		if ok && !seen[name] && generationName.MatchString(name) && name < newest && !slices.Contains(gens, name) {
			remove = append(remove, name)
		}
		seen[name] = true
		return nil
	})
	if err != nil {
		return err
	}
	if len(gens) > keep {
		remove = append(remove, gens[:len(gens)-keep]...)
	}
	for _, old := range remove {
		var keys []string
		if err := dest.List(ctx, old+"/", func(k string, _ int64) error { keys = append(keys, k); return nil }); err != nil {
			return err
		}
		// The manifest goes first: a half-removed generation is then incomplete.
		sort.SliceStable(keys, func(i, j int) bool {
			return strings.HasSuffix(keys[i], "/manifest.json") && !strings.HasSuffix(keys[j], "/manifest.json")
		})
		for _, k := range keys {
			if err := dest.Delete(ctx, k); err != nil {
				return fmt.Errorf("remove old backup %s: %w", old, err)
			}
		}
		log.InfoContext(ctx, "old backup removed", "generation", old, "complete", slices.Contains(gens, old))
	}
	return nil
}
