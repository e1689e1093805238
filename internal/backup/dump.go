package backup

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/medbox-jp/medbox/internal/blob"
	"github.com/medbox-jp/medbox/internal/sqldb"
)

// A table dump is JSON lines: first {"columns":[…]}, then one array per row whose
// cells are typed: {"i":1}, {"s":"…"}, {"b":"base64"}, {"t":true}, {"f":1.5}, or
// null. The types survive a restore into either engine.

type header struct {
	Columns []string `json:"columns"`
}

type cell struct {
	I *int64   `json:"i,omitempty"`
	S *string  `json:"s,omitempty"`
	B []byte   `json:"b,omitempty"`
	T *bool    `json:"t,omitempty"`
	F *float64 `json:"f,omitempty"`
}

func encodeCell(v any) (*cell, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case int64:
		return &cell{I: &x}, nil
	case int32:
		n := int64(x)
		return &cell{I: &n}, nil
	case string:
		return &cell{S: &x}, nil
	case []byte:
		if x == nil {
			x = []byte{}
		}
		return &cell{B: x}, nil
	case bool:
		return &cell{T: &x}, nil
	case float64:
		return &cell{F: &x}, nil
	}
	return nil, fmt.Errorf("cannot back up a value of type %T", v)
}

func (c *cell) value() any {
	switch {
	case c == nil:
		return nil
	case c.I != nil:
		return *c.I
	case c.S != nil:
		return *c.S
	case c.T != nil:
		return *c.T
	case c.F != nil:
		return *c.F
	case c.B != nil:
		return c.B
	}
	return []byte{}
}

// dumpTable streams table through a pipe into a sealed object of dest.
func dumpTable(ctx context.Context, tx *sqldb.Tx, table string, dest blob.Store, key string) (int, error) {
	rows, err := tx.QueryContext(ctx, `SELECT * FROM `+table)
	if err != nil {
		return 0, fmt.Errorf("dump %s: %w", table, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return 0, err
	}
	pr, pw := io.Pipe()
	n := 0
	done := make(chan error, 1)
	go func() { done <- dest.Put(ctx, key, pr, -1) }()
	werr := func() error {
		bw := bufio.NewWriterSize(pw, 64<<10)
		enc := json.NewEncoder(bw)
		if err := enc.Encode(header{Columns: cols}); err != nil {
			return err
		}
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		line := make([]*cell, len(cols))
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				return err
			}
			for i, v := range vals {
				if line[i], err = encodeCell(v); err != nil {
					return fmt.Errorf("%s.%s: %w", table, cols[i], err)
				}
			}
			if err := enc.Encode(line); err != nil {
				return err
			}
			n++
		}
		if err := rows.Err(); err != nil {
			return err
		}
		return bw.Flush()
	}()
	pw.CloseWithError(werr)
	if err := <-done; err != nil {
		return n, fmt.Errorf("dump %s: %w", table, errors.Join(werr, err))
	}
	if werr != nil {
		return n, fmt.Errorf("dump %s: %w", table, werr)
	}
	return n, nil
}

// loadTable inserts the rows of a dump into table, in the restore's transaction.
func loadTable(ctx context.Context, tx *sqldb.Tx, table string, r io.Reader) (int, error) {
	dec := json.NewDecoder(bufio.NewReaderSize(r, 64<<10))
	var h header
	if err := dec.Decode(&h); err != nil {
		return 0, fmt.Errorf("restore %s: header: %w", table, err)
	}
	for _, c := range h.Columns {
		if strings.ContainsAny(c, " \"';()") {
			return 0, fmt.Errorf("restore %s: bad column name %q", table, c)
		}
	}
	marks := make([]string, len(h.Columns))
	for i := range marks {
		marks[i] = fmt.Sprintf("$%d", i+1)
	}
	stmt := `INSERT INTO ` + table + ` (` + strings.Join(h.Columns, ", ") + `) VALUES (` + strings.Join(marks, ", ") + `)`
	for n := 0; ; n++ {
		var line []*cell
		err := dec.Decode(&line)
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("restore %s: row %d: %w", table, n+1, err)
		}
		if len(line) != len(h.Columns) {
			return n, fmt.Errorf("restore %s: row %d has %d cells for %d columns", table, n+1, len(line), len(h.Columns))
		}
		args := make([]any, len(line))
		for i, c := range line {
			args[i] = c.value()
		}
		if _, err := tx.ExecContext(ctx, stmt, args...); err != nil {
			return n, fmt.Errorf("restore %s: row %d: %w", table, n+1, err)
		}
	}
}
