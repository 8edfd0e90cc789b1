package web

import (
	"fmt"
	"net/url"
	"slices"
	"sort"
)

// singleValued refuses a query parameter given more than once, unless it
// is one of repeatable: ?table=a&table=b must not quietly mean a.
func singleValued(q url.Values, repeatable ...string) error {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if len(q[k]) > 1 && !slices.Contains(repeatable, k) {
			return fmt.Errorf("%w: query parameter %q is given %d times; it takes one value", errBadRequest, k, len(q[k]))
		}
	}
	return nil
}
