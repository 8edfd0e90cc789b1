package engine

import (
	"context"
	"encoding/json"
	"strings"
	"unicode"
	"unicode/utf8"
)

// A query tag names what sent a write: the leading comment of its text, or
// the node_id of the JSON comment dbt puts there ("model.shop.fct_orders").
// It goes into the snapshot's summary (lakeflight.query-tag) and the write's
// log line, so a snapshot says which model or job made it.

// maxQueryTag bounds a tag: the summary is in every later metadata file.
const maxQueryTag = 200

type queryTagKey struct{}

// withQueryTag carries the tag of sql, if it has one, in ctx.
func withQueryTag(ctx context.Context, sql string) context.Context {
	if tag := queryTag(sql); tag != "" {
		return context.WithValue(ctx, queryTagKey{}, tag)
	}
	return ctx
}

// queryTagOf is the tag ctx carries, or "".
func queryTagOf(ctx context.Context) string {
	tag, _ := ctx.Value(queryTagKey{}).(string)
	return tag
}

// tagSummary adds ctx's tag to a snapshot summary.
func tagSummary(ctx context.Context, summary map[string]string) {
	if tag := queryTagOf(ctx); tag != "" {
		summary["lakeflight.query-tag"] = tag
	}
}

// queryTag is the tag of a statement's text: the node_id of a leading JSON
// comment, else the leading comment's text; "" without one, or when it is
// not printable text.
func queryTag(sql string) string {
	s := strings.TrimLeftFunc(sql, unicode.IsSpace)
	var body string
	switch {
	case strings.HasPrefix(s, "/*"):
		end := strings.Index(s, "*/")
		if end < 0 {
			return ""
		}
		body = s[2:end]
	case strings.HasPrefix(s, "--"):
		body, _, _ = strings.Cut(s[2:], "\n")
	default:
		return ""
	}
	body = strings.TrimSpace(body)
	if strings.HasPrefix(body, "{") && len(body) < 64<<10 {
		var m map[string]any
		if json.Unmarshal([]byte(body), &m) == nil {
			if id, ok := m["node_id"].(string); ok {
				body = id
			}
		}
	}
	if !utf8.ValidString(body) || strings.ContainsFunc(body, unicode.IsControl) {
		return ""
	}
	if len(body) > maxQueryTag {
		cut := maxQueryTag
		for cut > 0 && !utf8.RuneStart(body[cut]) {
			cut--
		}
		body = body[:cut]
	}
	return body
}
