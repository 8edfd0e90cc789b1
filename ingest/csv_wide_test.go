//go:build duckdb_arrow

package ingest

import (
	"strings"
	"testing"

	"github.com/lakeflight/lakeflight/catalog"
)

// A record with more fields than any table may have columns is a bad row
// named as such, read to its end without keeping its fields; the rows
// around it parse, and a header that wide is refused by the column limit.
func TestCSVRecordWithTooManyFields(t *testing.T) {
	d := dialect{delim: ',', quote: '"', escape: '"'}
	s := newRecordScanner(d)
	wide := strings.Repeat(",", 5*maxRecordFields) // 5 × the limit of empty fields
	buf := []byte("a,b\n" + wide + "\n\"x,\"\"y\",2\n" + strings.Repeat("\"q\",", maxRecordFields) + "z\nlast,1\n")
	end, _, bad := s.scan(buf, 0)
	if bad != "" || len(s.fields) != 2 {
		t.Fatalf("header: %q, %d fields", bad, len(s.fields))
	}
	pos := end
	end, lines, bad := s.scan(buf, pos)
	if bad != reasonManyFields || lines != 1 || string(buf[pos:end]) != wide+"\n" {
		t.Fatalf("unquoted wide record: %q, %d lines, ends at %d of %d", bad, lines, end, len(buf))
	}
	if cap(s.fields) > 2*maxRecordFields {
		t.Errorf("the scanner kept room for %d fields", cap(s.fields))
	}
	pos = end
	end, _, bad = s.scan(buf, pos)
	if bad != "" || len(s.fields) != 2 || string(s.text(0)) != `x,"y` {
		t.Fatalf("record after it: %q %d %q", bad, len(s.fields), s.text(0))
	}
	pos = end
	end, _, bad = s.scan(buf, pos)
	if bad != reasonManyFields {
		t.Fatalf("quoted wide record: %q", bad)
	}
	if _, _, bad = s.scan(buf, end); bad != "" || string(s.text(0)) != "last" {
		t.Fatalf("last record: %q %q", bad, s.text(0))
	}
	if maxRecordFields != catalog.MaxColumns+1 {
		t.Fatalf("maxRecordFields = %d", maxRecordFields)
	}
}
