package catalog

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver (PostgreSQL)
	_ "modernc.org/sqlite"             // registers the pure-Go "sqlite" database/sql driver
)

// sqliteDSN turns a database file path (or an existing "file:" DSN) into a
// modernc.org/sqlite DSN with WAL, a busy timeout and immediate write
// transactions, so that several processes can share the catalog file.
func sqliteDSN(uri string) (string, error) {
	path, query, _ := strings.Cut(strings.TrimPrefix(uri, "file:"), "?")
	if path == "" || path == ":memory:" {
		return "", fmt.Errorf("%w: sqlite catalog needs a database file, got %q", ErrInvalidArgument, uri)
	}
	if !strings.HasPrefix(uri, "file:") {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return "", fmt.Errorf("creating catalog directory: %w", err)
		}
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return "", fmt.Errorf("%w: sqlite DSN query %q: %w", ErrInvalidArgument, query, err)
	}
	pragmas := strings.Join(q["_pragma"], ",")
	var extra []string
	// busy_timeout first: switching to WAL takes a lock and must wait for it.
	if !strings.Contains(pragmas, "busy_timeout") {
		extra = append(extra, "_pragma=busy_timeout(10000)")
	}
	if !strings.Contains(pragmas, "journal_mode") {
		extra = append(extra, "_pragma=journal_mode(WAL)")
	}
	if !strings.Contains(pragmas, "synchronous") {
		extra = append(extra, "_pragma=synchronous(NORMAL)")
	}
	if !q.Has("_txlock") {
		// Write transactions take the write lock at BEGIN, through the busy
		// handler, instead of failing on a read-to-write upgrade.
		extra = append(extra, "_txlock=immediate")
	}
	all := strings.Join(extra, "&")
	if query != "" {
		all = query + "&" + all
	}
	return "file:" + path + "?" + strings.TrimSuffix(all, "&"), nil
}
