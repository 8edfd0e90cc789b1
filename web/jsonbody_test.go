package web

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// FuzzDecodeJSONBody: any body decodes or is refused as a bad request (or
// one too large), never anything else.
func FuzzDecodeJSONBody(f *testing.F) {
	for _, seed := range []string{``, `{}`, `null`, `{"name": "v1", "snapshot_id": 5}`, `{"name": 1}`,
		`{"snapshot_id": 9223372036854775808}`, `{"x": 1}`, `[1]`, `{"name": "a"} {}`, `{"name": "\u00e9`, `{"name": "a", "name": "b"}`} {
		f.Add(seed)
	}
	e := echo.New()
	f.Fuzz(func(t *testing.T, body string) {
		c := e.NewContext(httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body)), httptest.NewRecorder())
		var req createRefRequest
		err := decodeJSONBody(c, &req)
		if err != nil && !errors.Is(err, errBadRequest) && !errors.Is(err, errBodyTooLarge) {
			t.Fatalf("body %q: err %v is neither a bad request nor too large", body, err)
		}
	})
}

// Field names are exact and given once: a near miss or a repeat is refused,
// never taken as the field (or as its last value).
func TestDecodeJSONBodyIsStrict(t *testing.T) {
	e := echo.New()
	for _, c := range []struct{ body, want string }{
		{`{"Snapshot_ID": 5, "name": "v1"}`, `unknown field "Snapshot_ID"`},
		{`{"name": "a", "name": "b"}`, `field "name" is given twice`},
		{`{"name": "v1", "snapshot_id": 5}`, ""},
		{``, ""},
		{`{"name": "v1"} x`, "unexpected data after the JSON object"},
	} {
		ctx := e.NewContext(httptest.NewRequest(http.MethodPost, "/", strings.NewReader(c.body)), httptest.NewRecorder())
		var req createRefRequest
		err := decodeJSONBody(ctx, &req)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.body, err)
		case c.want != "" && (err == nil || !errors.Is(err, errBadRequest) || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v, want a bad request containing %q", c.body, err, c.want)
		}
	}
}

func TestSingleValuedQuery(t *testing.T) {
	q := map[string][]string{"table": {"a", "b"}, "null": {"NA", ""}}
	if err := singleValued(q, "null"); err == nil || !strings.Contains(err.Error(), `"table" is given 2 times`) {
		t.Fatalf("table=a&table=b: %v", err)
	}
	delete(q, "table")
	if err := singleValued(q, "null"); err != nil {
		t.Fatalf("repeated null: %v", err)
	}
}
