package ingest

import (
	"context"
	"fmt"
)

// Placeholders until the CSV and JSON parsers are merged.
func newCSVParser(context.Context, input, *Options) (parser, error) {
	return nil, fmt.Errorf("%w: csv parser not merged yet", ErrFormat)
}

func newJSONParser(context.Context, input, *Options) (parser, error) {
	return nil, fmt.Errorf("%w: json parser not merged yet", ErrFormat)
}
