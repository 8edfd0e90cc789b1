package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"
)

// maxJSONBody bounds the body of a JSON request.
const maxJSONBody = 1 << 20

// decodeJSONBody reads the request body, one JSON object, into the struct v
// points to. An empty body reads as {} (so that a missing field is named as
// such); unknown fields, malformed JSON, a value of the wrong type and data
// after the object are bad requests that say what was wrong. Field names
// must be exact (encoding/json alone would take "Snapshot_ID" for
// "snapshot_id") and given once (it would keep the last of two). The
// Content-Type is not checked: curl -d sends a form type by default.
func decodeJSONBody(c echo.Context, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), c.Request().Body, maxJSONBody))
	if tooLarge := (*http.MaxBytesError)(nil); errors.As(err, &tooLarge) {
		return bodyTooLarge(tooLarge)
	}
	if err != nil {
		return fmt.Errorf("%w: reading the body: %w", errBadRequest, err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil // {}
	}
	if err := exactFields(body, v); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonBodyError(err, v)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: unexpected data after the JSON object in the body", errBadRequest)
	}
	return nil
}

// exactFields checks the top-level keys of a JSON object body: each one of
// v's JSON field names, spelled exactly, at most once. Malformed bodies are
// left to the decoder, which says where they break.
func exactFields(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	known := jsonFields(v)
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil
		}
		key, _ := t.(string)
		switch {
		case seen[key]:
			return fmt.Errorf("%w: field %q is given twice", errBadRequest, key)
		case !slices.Contains(known, key):
			return fmt.Errorf("%w: unknown field %q (known: %s); field names are case-sensitive", errBadRequest, key, strings.Join(known, ", "))
		}
		seen[key] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil
		}
	}
	return nil
}

func jsonBodyError(err error, v any) error {
	var (
		syntax    *json.SyntaxError
		typ       *json.UnmarshalTypeError
		tooLarge  *http.MaxBytesError
		fieldName string
	)
	switch {
	case errors.As(err, &tooLarge):
		return bodyTooLarge(tooLarge)
	case errors.As(err, &syntax):
		return fmt.Errorf("%w: malformed JSON body at byte %d: %w", errBadRequest, syntax.Offset, syntax)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: malformed JSON body: it ends early", errBadRequest)
	case errors.As(err, &typ) && typ.Field == "":
		return fmt.Errorf("%w: the body must be a JSON object, not %s", errBadRequest, typ.Value)
	case errors.As(err, &typ):
		return fmt.Errorf("%w: field %q must be %s, not %s", errBadRequest, typ.Field, jsonKind(typ.Type), typ.Value)
	}
	// encoding/json has no type for this one: `json: unknown field "x"`.
	if _, err := fmt.Sscanf(err.Error(), "json: unknown field %q", &fieldName); err == nil {
		return fmt.Errorf("%w: unknown field %q (known: %s)", errBadRequest, fieldName, strings.Join(jsonFields(v), ", "))
	}
	return fmt.Errorf("%w: reading the JSON body: %w", errBadRequest, err)
}

func bodyTooLarge(err *http.MaxBytesError) error {
	return fmt.Errorf("%w: the JSON body is larger than %d bytes", errBodyTooLarge, err.Limit)
}

// missingField is the error for a required field the body lacks.
func missingField(name string) error {
	return fmt.Errorf("%w: missing field %q", errBadRequest, name)
}

// jsonKind names a Go type as JSON would.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return "an object"
}

// jsonFields lists the JSON names of the fields of the struct v points to.
func jsonFields(v any) []string {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var out []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name != "" && name != "-" {
			out = append(out, name)
		}
	}
	return out
}
