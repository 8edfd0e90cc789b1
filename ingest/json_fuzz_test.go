package ingest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

// jsonFuzzSchema is the schema FuzzJSON parses with.
var jsonFuzzSchema = arrow.NewSchema([]arrow.Field{
	{Name: "a", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "b", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "c", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "d", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
}, nil)

// jsonReference parses NDJSON with encoding/json under the rules the
// parser documents for jsonFuzzSchema: good rows as "line: a=… b=… c=… d=…"
// (formatted like jsonParse) and the lines of bad rows.
func jsonReference(data []byte) (rows []string, bad []int64) {
	for i, line := range bytes.Split(data, []byte{'\n'}) {
		n := int64(i + 1)
		if len(bytes.Trim(line, " \t\r")) == 0 {
			continue
		}
		vals, ok := jsonReferenceRow(line)
		if !ok {
			bad = append(bad, n)
			continue
		}
		var b strings.Builder
		fmt.Fprintf(&b, "%d:", n)
		for _, f := range jsonFuzzSchema.Fields() {
			v, _ := json.Marshal(vals[f.Name])
			fmt.Fprintf(&b, " %s=%s", f.Name, v)
		}
		rows = append(rows, b.String())
	}
	return rows, bad
}

func jsonReferenceRow(line []byte) (map[string]any, bool) {
	if !json.Valid(line) {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	if tok, _ := dec.Token(); tok != json.Delim('{') {
		return nil, false
	}
	vals := map[string]any{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, false
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, false
		}
		key := tok.(string)
		if jsonFuzzSchema.FieldIndices(key) == nil {
			continue
		}
		if string(raw) == "null" {
			vals[key] = nil
			continue
		}
		var s string
		isStr := raw[0] == '"'
		if isStr {
			if err := json.Unmarshal(raw, &s); err != nil {
				return nil, false
			}
		}
		isNum := raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9')
		switch key {
		case "a":
			text := string(raw)
			if isStr {
				text = s
			} else if !isNum || strings.ContainsAny(text, ".eE") {
				return nil, false
			}
			v, err := strconv.ParseInt(text, 10, 64)
			if err != nil {
				return nil, false
			}
			vals[key] = v
		case "b":
			text := string(raw)
			if isStr {
				text = s
			} else if !isNum {
				return nil, false
			}
			v, err := strconv.ParseFloat(text, 64)
			if err != nil {
				return nil, false
			}
			if math.IsNaN(v) || math.IsInf(v, 0) {
				vals[key] = fmt.Sprint(v) // as arrow marshals them
			} else {
				vals[key] = v
			}
		case "c":
			if isStr {
				vals[key] = s
			} else {
				vals[key] = string(appendValidUTF8(nil, raw))
			}
		case "d":
			switch string(raw) {
			case "true":
				vals[key] = true
			case "false":
				vals[key] = false
			default:
				return nil, false
			}
		}
	}
	return vals, true
}

func FuzzJSON(f *testing.F) {
	for _, s := range []string{
		`{"a":1,"b":2.5,"c":"x","d":true}`,
		`{"a":"12","b":"1e3","c":{"k":[1,2]},"d":false}`,
		`{"a":1.5}` + "\n" + `{"b":"abc"}` + "\n\n" + `[1]`,
		`{"c":"\ud83d\ude00\u00e9\ud800"}` + "\r\n" + `{"a":1,"a":null}`,
		`{"a":9223372036854775808,"c":"a\"b\\c"}`,
		`{"a":-0,"b":-0,"c":-0.0e+1,"x":{"y":[{},[]]}}`,
		"{\"c\":\"\xff\xfe\"} \t",
		`{"a":1,}`, `{"a" 1}`, `{"a":01}`, `{"b":1.}`, `{"c":"\x"}`, `nul`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// keep the input NDJSON: the first line is an object
		data = append([]byte("{}\n"), data...)
		// encoding/json, the reference, replaces invalid UTF-8 as UTF8Replace does
		o := Options{Schema: jsonFuzzSchema, Workers: 2, ChunkBytes: 64, BatchRows: 3, InvalidUTF8: UTF8Replace}
		got := jsonParse(t, data, o, false)
		if got.Err != "" {
			t.Fatalf("fatal error: %s", got.Err)
		}
		var gotBad []int64
		for _, e := range got.Errs {
			gotBad = append(gotBad, e.Line)
		}
		wantRows, wantBad := jsonReference(data)
		if fmt.Sprint(gotBad) != fmt.Sprint(wantBad) {
			t.Fatalf("bad lines %v, reference %v\n%s", gotBad, wantBad, got)
		}
		if strings.Join(got.Rows, "\n") != strings.Join(wantRows, "\n") {
			t.Fatalf("rows\n%s\nreference\n%s", strings.Join(got.Rows, "\n"), strings.Join(wantRows, "\n"))
		}
	})
}
