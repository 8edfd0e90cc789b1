package web

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/lakeflight/lakeflight/internal/transform"
)

// openAPIPaths is the document's paths: path → method (lower case) → operation.
type openAPIOp struct {
	Parameters  []openAPIParam `json:"parameters"`
	RequestBody *struct {
		Content map[string]struct {
			Schema struct {
				Ref string `json:"$ref"`
			} `json:"schema"`
		} `json:"content"`
	} `json:"requestBody"`
}

type openAPIParam struct {
	Name   string `json:"name"`
	In     string `json:"in"`
	Schema struct {
		Enum []string `json:"enum"`
	} `json:"schema"`
}

type openAPISchema struct {
	Properties map[string]json.RawMessage `json:"properties"`
	Required   []string                   `json:"required"`
}

type openAPIDocument struct {
	OpenAPI    string                                `json:"openapi"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas map[string]openAPISchema `json:"schemas"`
	} `json:"components"`
}

var httpMethods = []string{"get", "put", "post", "delete", "patch", "head", "options"}

func loadOpenAPI(t *testing.T) openAPIDocument {
	t.Helper()
	var doc openAPIDocument
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi %q", doc.OpenAPI)
	}
	return doc
}

// operation is the operation at path and method, with the path's own
// parameters prepended.
func (d openAPIDocument) operation(t *testing.T, path, method string) openAPIOp {
	t.Helper()
	item, ok := d.Paths[path]
	if !ok {
		t.Fatalf("%s is not documented", path)
	}
	var op, shared openAPIOp
	if err := json.Unmarshal(item[method], &op); err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	if raw, ok := item["parameters"]; ok {
		if err := json.Unmarshal(raw, &shared.Parameters); err != nil {
			t.Fatal(err)
		}
	}
	op.Parameters = append(shared.Parameters, op.Parameters...)
	return op
}

func (o openAPIOp) params(in string) []string {
	var out []string
	for _, p := range o.Parameters {
		if p.In == in {
			out = append(out, p.Name)
		}
	}
	slices.Sort(out)
	return out
}

func (o openAPIOp) param(t *testing.T, name string) openAPIParam {
	t.Helper()
	for _, p := range o.Parameters {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("parameter %s is not documented", name)
	return openAPIParam{}
}

// TestOpenAPIDescribesEveryRoute: every route echo has is in the
// document with its method and path parameters, and nothing else is.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	doc := loadOpenAPI(t)
	s := New(Options{})
	registered := map[string]bool{}
	for _, r := range s.echo.Routes() {
		var parts, params []string
		for _, seg := range strings.Split(r.Path, "/") {
			if name, ok := strings.CutPrefix(seg, ":"); ok {
				seg = "{" + name + "}"
				params = append(params, name)
			}
			parts = append(parts, seg)
		}
		path, method := strings.Join(parts, "/"), strings.ToLower(r.Method)
		registered[method+" "+path] = true
		if _, ok := doc.Paths[path][method]; !ok {
			t.Errorf("%s %s is registered but not in openapi.json", r.Method, path)
			continue
		}
		slices.Sort(params)
		if got := doc.operation(t, path, method).params("path"); !slices.Equal(got, params) {
			t.Errorf("%s %s: documented path parameters %v, route has %v", r.Method, path, got, params)
		}
	}
	for path, item := range doc.Paths {
		for m := range item {
			if slices.Contains(httpMethods, m) && !registered[m+" "+path] {
				t.Errorf("%s %s is documented but not registered", strings.ToUpper(m), path)
			}
		}
	}
	if len(registered) < 18 {
		t.Fatalf("only %d routes: %v", len(registered), slices.Sorted(maps.Keys(registered)))
	}
}

// TestOpenAPIServed: GET /openapi.json is the embedded document.
func TestOpenAPIServed(t *testing.T) {
	code, body, h := get(t, New(Options{}).Handler(), "/openapi.json")
	if code != http.StatusOK || body != string(openAPIDoc) || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /openapi.json: %d %s", code, h)
	}
	if code, _, _ := get(t, New(Options{}).Handler(), "/openapi.json?x=1"); code != http.StatusBadRequest {
		t.Fatalf("GET /openapi.json?x=1: %d", code)
	}
}

// TestOpenAPIQueryParameters: the documented query parameters are the
// ones the handlers take, and the documented enums are what they accept.
func TestOpenAPIQueryParameters(t *testing.T) {
	doc := loadOpenAPI(t)
	sorted := func(s ...string) []string { return slices.Sorted(slices.Values(s)) }
	for _, c := range []struct {
		path, method string
		want         []string
	}{
		{"/ingest", "post", sorted(ingestParams...)},
		{"/v1/tables/{ns}/{table}/rows", "get", sorted(rowsParams...)},
		{"/v1/tables/{ns}/{table}/schema", "get", []string{"as_of"}},
		{"/transform", "get", nil},
		{"/v1/tables/{ns}/{table}/snapshots", "get", nil},
	} {
		if got := doc.operation(t, c.path, c.method).params("query"); !slices.Equal(got, c.want) {
			t.Errorf("%s %s: documented query parameters %v, the handler takes %v", c.method, c.path, got, c.want)
		}
	}
	ingest := doc.operation(t, "/ingest", "post")
	for _, name := range []string{"mode", "on_bad", "invalid_utf8"} {
		enum := ingest.param(t, name).Schema.Enum
		if len(enum) == 0 {
			t.Fatalf("%s has no documented values", name)
		}
		for _, v := range enum {
			if _, _, err := readIngestParams(url.Values{"table": {"t"}, name: {v}}); err != nil {
				t.Errorf("documented %s=%s is refused: %v", name, v, err)
			}
		}
		if _, _, err := readIngestParams(url.Values{"table": {"t"}, name: {"bogus"}}); err == nil {
			t.Errorf("%s=bogus is accepted but not documented", name)
		}
	}
}

// TestOpenAPIBodies: each documented JSON body has exactly the fields the
// handler decodes, and its required fields are required.
func TestOpenAPIBodies(t *testing.T) {
	doc := loadOpenAPI(t)
	// The handlers refuse these bodies before they call either.
	s := New(Options{Snapshots: struct{ Snapshotter }{}, Transform: &runsFake{runs: map[string]transform.Run{}}, Compactor: struct{ Compactor }{}})
	s.SetReady(true)
	for _, c := range []struct {
		path, method string
		body         any
		call         string
	}{
		{"/transform", "post", &transformBody{}, "/transform"},
		{"/v1/tables/{ns}/{table}/tags", "post", &createRefRequest{}, "/v1/tables/bronze/t/tags"},
		{"/v1/tables/{ns}/{table}/branches", "post", &createRefRequest{}, "/v1/tables/bronze/t/branches"},
		{"/v1/tables/{ns}/{table}/rollback", "post", &rollbackRequest{}, "/v1/tables/bronze/t/rollback"},
		{"/v1/tables/{ns}/{table}/expire-snapshots", "post", &expireRequest{}, "/v1/tables/bronze/t/expire-snapshots"},
		{"/v1/tables/{ns}/{table}/remove-orphan-files", "post", &orphansRequest{}, "/v1/tables/bronze/t/remove-orphan-files"},
		{"/v1/tables/{ns}/{table}/compact", "post", &compactRequest{}, "/v1/tables/bronze/t/compact"},
	} {
		op := doc.operation(t, c.path, c.method)
		if op.RequestBody == nil {
			t.Fatalf("%s: no documented body", c.path)
		}
		ref := op.RequestBody.Content["application/json"].Schema.Ref
		schema, ok := doc.Components.Schemas[strings.TrimPrefix(ref, "#/components/schemas/")]
		if !ok {
			t.Fatalf("%s: body schema %q missing", c.path, ref)
		}
		documented := slices.Sorted(maps.Keys(schema.Properties))
		if fields := slices.Sorted(slices.Values(jsonFields(c.body))); !slices.Equal(documented, fields) {
			t.Errorf("%s: documented fields %v, the handler decodes %v", c.path, documented, fields)
		}
		// A real request: an undocumented field is refused by name; each
		// required field missing is refused by name.
		code, body := postJSON(s, c.call, `{"undocumented": 1}`)
		if code != http.StatusBadRequest || !strings.Contains(body, `unknown field \"undocumented\"`) {
			t.Errorf("%s with an undocumented field: %d %s", c.call, code, body)
		}
		for _, req := range schema.Required {
			if code, body := postJSON(s, c.call, `{}`); code != http.StatusBadRequest || !strings.Contains(body, `missing field \"`+req+`\"`) {
				t.Errorf("%s without required %s: %d %s", c.call, req, code, body)
			}
		}
	}
}

func postJSON(s *Server, path, body string) (int, string) {
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, strings.NewReader(body)))
	return rec.Code, rec.Body.String()
}
