package backup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/medbox-jp/medbox/internal/blob"
	"github.com/medbox-jp/medbox/internal/seal"
	"github.com/medbox-jp/medbox/internal/sqldb"
)

// ErrNotEmpty refuses a restore into an instance that already holds data.
var ErrNotEmpty = errors.New("the instance is not empty; restore only into a new one")

// Restore puts generation name of src (the newest when name is empty) into the
// empty instance o describes: objects first, then every table. It needs the master
// key that wrapped the backup key.
func Restore(ctx context.Context, o Options, src blob.Store, name string) (*Manifest, error) {
	if name == "" {
		gens, err := Generations(ctx, src)
		if err != nil {
			return nil, err
		}
		if len(gens) == 0 {
			return nil, errors.New("no complete backup found")
		}
		name = gens[len(gens)-1]
	}
	rc, err := src.Get(ctx, name+"/manifest.json", 0, -1)
	if err != nil {
		return nil, fmt.Errorf("read manifest of %s: %w", name, err)
	}
	var m Manifest
	err = json.NewDecoder(io.LimitReader(rc, 1<<20)).Decode(&m)
	rc.Close()
	if err != nil {
		return nil, fmt.Errorf("read manifest of %s: %w", name, err)
	}
	if m.Version != 1 {
		return nil, fmt.Errorf("backup %s has version %d; this MedBox reads version 1", name, m.Version)
	}
	dk, err := o.Master.OpenDetachedKey(m.Key)
	if err != nil {
		return nil, fmt.Errorf("the master key that sealed backup %s is not in the key file: %w", name, err)
	}
	if err := requireEmpty(ctx, o.DB); err != nil {
		return nil, err
	}
	objects := 0
	err = src.List(ctx, name+"/blobs/", func(k string, size int64) error {
		objects++
		return copyObject(ctx, src, k, o.Blobs, k[len(name+"/blobs/"):], size)
	})
	if err != nil {
		return nil, fmt.Errorf("restore objects: %w", err)
	}
	if objects != m.Objects {
		return nil, fmt.Errorf("backup %s lists %d objects but holds %d", name, m.Objects, objects)
	}
	// Every table in one transaction: a restore that fails part-way (a damaged
	// dump, a lost connection) leaves the instance empty, to be restored again,
	// not half-filled and refused as "not empty" from then on.
	sealed := seal.New(src).With(dk)
	err = o.DB.Tx(ctx, func(tx *sqldb.Tx) error {
		if err := requireEmpty(ctx, tx); err != nil {
			return err
		}
		for _, t := range Tables {
			want, ok := m.Tables[t]
			if !ok {
				continue // a table newer than the backup
			}
			if seeded[t] {
				if _, err := tx.ExecContext(ctx, `DELETE FROM `+t); err != nil {
					return fmt.Errorf("restore %s: %w", t, err)
				}
			}
			rc, err := sealed.Get(ctx, name+"/db/"+t+".jsonl", 0, -1)
			if err != nil {
				return fmt.Errorf("restore %s: %w", t, err)
			}
			n, err := loadTable(ctx, tx, t, rc)
			rc.Close()
			if err != nil {
				return err
			}
			if n != want {
				return fmt.Errorf("restore %s: %d rows, the manifest says %d", t, n, want)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := resyncSequences(ctx, o.DB); err != nil {
		return nil, err
	}
	return &m, nil
}

// requireEmpty refuses an instance that already holds members, history, boxes
// or files.
func requireEmpty(ctx context.Context, q sqldb.Querier) error {
	for _, t := range []string{"members", "audit_events", "boxes", "files"} {
		var n int
		if err := q.QueryRowContext(ctx, `SELECT count(*) FROM `+t).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return ErrNotEmpty
		}
	}
	return nil
}

// resyncSequences moves every PostgreSQL sequence that numbers a column (such as
// audit_events.seq) past the greatest value restored, so new rows do not collide
// with restored ones. SQLite takes the next number from the rows themselves.
func resyncSequences(ctx context.Context, db *sqldb.DB) error {
	if db.Dialect() != sqldb.Postgres {
		return nil
	}
	rows, err := db.QueryContext(ctx, `SELECT c.relname, a.attname, pg_get_serial_sequence(quote_ident(c.relname), a.attname)
		FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
		WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
		AND pg_get_serial_sequence(quote_ident(c.relname), a.attname) IS NOT NULL`)
	if err != nil {
		return fmt.Errorf("restore: find sequences: %w", err)
	}
	type seq struct{ table, column, name string }
	var seqs []seq
	for rows.Next() {
		var s seq
		if err := rows.Scan(&s.table, &s.column, &s.name); err != nil {
			rows.Close()
			return fmt.Errorf("restore: find sequences: %w", err)
		}
		seqs = append(seqs, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("restore: find sequences: %w", err)
	}
	for _, s := range seqs {
		q := fmt.Sprintf(`SELECT setval($1, (SELECT coalesce(max(%s), 0) + 1 FROM %s), false)`, quoteIdent(s.column), quoteIdent(s.table))
		if _, err := db.ExecContext(ctx, q, s.name); err != nil {
			return fmt.Errorf("restore: move sequence %s: %w", s.name, err)
		}
	}
	return nil
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
