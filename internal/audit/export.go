package audit

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/medbox-jp/medbox/internal/sqldb"
)

// export writes every event matching f to w, page by page, as CSV (with a header
// row) or as JSON lines. It returns how many events it wrote.
func export(ctx context.Context, q sqldb.Querier, f Filter, format string, w io.Writer) (int, error) {
	var cw *csv.Writer
	if format == "csv" {
		cw = csv.NewWriter(w)
		if err := cw.Write([]string{"seq", "at", "actor", "action", "target", "box", "addr", "result", "detail"}); err != nil {
			return 0, err
		}
	}
	enc := json.NewEncoder(w)
	n := 0
	f.Limit = 1000
	for {
		page, err := list(ctx, q, f)
		if err != nil {
			return n, err
		}
		for _, e := range page {
			if cw != nil {
				err = cw.Write([]string{fmt.Sprint(e.Seq), e.At.Format(time.RFC3339Nano), e.Actor, e.Action, e.Target, e.Box, e.Addr, e.Result, detailText(e.Detail)})
			} else {
				err = enc.Encode(e)
			}
			if err != nil {
				return n, fmt.Errorf("export audit events: %w", err)
			}
			n++
		}
		if len(page) < f.Limit {
			break
		}
		f.After = page[len(page)-1].Seq
	}
	if cw != nil {
		cw.Flush()
		return n, cw.Error()
	}
	return n, nil
}

func detailText(d map[string]string) string {
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + d[k]
	}
	return strings.Join(parts, " ")
}
