package member

import (
	"context"
	"fmt"
	"net/url"
	"strings"
)

// Entry is what one member sees of another in the directory (R-M6): never the
// e-mail address.
type Entry struct {
	ID         ID         `json:"id"`
	Name       string     `json:"name"`
	NameKana   string     `json:"name_kana"`
	Profession Profession `json:"profession"`
	Workplace  string     `json:"workplace"`
	Department string     `json:"department"`
}

// DirectoryLimit bounds one page of directory results.
const DirectoryLimit = 50

// Search finds approved members whose name, kana, workplace or department contains
// query (folded by SearchKey, so kana and width variants match). An empty query
// lists members in kana order. The viewer is left out: one does not send to oneself.
func (s *Service) Search(ctx context.Context, viewer ID, query string, limit int) ([]Entry, error) {
	if limit <= 0 || limit > DirectoryLimit {
		limit = DirectoryLimit
	}
	key := SearchKey(query)
	rows, err := s.db.QueryContext(ctx, `SELECT id, name, name_kana, profession, workplace, department FROM members
		WHERE role = 'member' AND status = 'active' AND id <> $1 AND search LIKE $2 ESCAPE '\'
		ORDER BY name_kana, id LIMIT `+fmt.Sprint(limit), viewer, "%"+escapeLike(key)+"%")
	if err != nil {
		return nil, fmt.Errorf("search directory: %w", err)
	}
	defer rows.Close()
	out := []Entry{}
	for rows.Next() {
		var e Entry
		if err := rows.Scan(&e.ID, &e.Name, &e.NameKana, &e.Profession, &e.Workplace, &e.Department); err != nil {
			return nil, fmt.Errorf("search directory: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Entries returns the directory entries of ids that are active members, in the
// order given; others are left out.
func (s *Service) Entries(ctx context.Context, ids []ID) ([]Entry, error) {
	out := []Entry{}
	for _, id := range ids {
		var e Entry
		err := s.db.QueryRowContext(ctx, `SELECT id, name, name_kana, profession, workplace, department FROM members
			WHERE id = $1 AND role = 'member' AND status = 'active'`, id).
			Scan(&e.ID, &e.Name, &e.NameKana, &e.Profession, &e.Workplace, &e.Department)
		if err == nil {
			out = append(out, e)
		}
	}
	return out, nil
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func urlQuery(s string) string { return url.QueryEscape(s) }
