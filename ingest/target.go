package ingest

import (
	"fmt"
	"strings"

	"github.com/lakeflight/lakeflight/catalog"
)

// DefaultNamespace is where a table named without a namespace lands (the
// bronze layer, for raw data).
const DefaultNamespace = "bronze"

// ParseTable reads an ingest target written `[namespace.]name`, as the CLI's
// --table and POST /ingest's table= take it.
func ParseTable(s string) (catalog.Ident, error) {
	id := catalog.Ident{Namespace: DefaultNamespace, Name: strings.TrimSpace(s)}
	if ns, name, ok := strings.Cut(id.Name, "."); ok {
		id.Namespace, id.Name = ns, name
	}
	if id.Namespace == "" || id.Name == "" || strings.Contains(id.Name, ".") {
		return id, fmt.Errorf("%w: table %q: want [namespace.]name", ErrOptions, s)
	}
	return id, nil
}
