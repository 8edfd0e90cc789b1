package ingest

import (
	"context"
	"fmt"
)

// Placeholder until the JSON parser is merged.
func newJSONParser(context.Context, input, *Options) (parser, error) {
	return nil, fmt.Errorf("%w: json parser not merged yet", ErrFormat)
}
