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
