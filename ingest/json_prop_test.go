package ingest

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// jsonRandomValue writes a random JSON value for key k (types vary by key
// so that inference has something to settle, and now and then clash).
func jsonRandomValue(r *rand.Rand, b *bytes.Buffer, k, depth int) {
	if r.IntN(12) == 0 {
		b.WriteString("null")
		return
	}
	switch k % 8 {
	case 0:
		fmt.Fprintf(b, "%d", r.Int64N(1e12)-5e11)
	case 1:
		fmt.Fprintf(b, "%g", r.NormFloat64()*1e3)
	case 2:
		s := []string{`"plain"`, `"with \"quotes\" and \\"`, `"caf\u00e9 \ud83d\ude00"`, `"comma, ] } ["`, `"日本語"`, `""`}
		b.WriteString(s[r.IntN(len(s))])
	case 3:
		b.WriteString([]string{"true", "false"}[r.IntN(2)])
	case 4:
		fmt.Fprintf(b, `"2024-%02d-%02dT%02d:%02d:%02d.%03dZ"`, 1+r.IntN(12), 1+r.IntN(28), r.IntN(24), r.IntN(60), r.IntN(60), r.IntN(1000))
	case 5:
		if depth > 2 {
			b.WriteString("1")
			return
		}
		b.WriteString("{")
		for i := range r.IntN(4) {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(b, `"f%d":`, i)
			jsonRandomValue(r, b, i, depth+1)
		}
		b.WriteString("}")
	case 6:
		b.WriteString("[")
		for i := range r.IntN(4) {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(b, "%d", i*7)
		}
		b.WriteString("]")
	case 7:
		if r.IntN(5) == 0 {
			b.WriteString(`"not a number"`)
		} else {
			fmt.Fprintf(b, "%d", r.IntN(100))
		}
	}
}

// jsonRandomInput makes n rows as NDJSON or as a pretty-printed array,
// with blank lines, CRLF and a few broken rows.
func jsonRandomInput(r *rand.Rand, n int, array bool) []byte {
	var b bytes.Buffer
	nl := "\n"
	if r.IntN(3) == 0 {
		nl = "\r\n"
	}
	if array {
		b.WriteString("[" + nl)
	}
	for i := range n {
		if array && i > 0 {
			b.WriteString("," + nl)
		}
		if !array && r.IntN(20) == 0 {
			b.WriteString(nl)
		}
		if r.IntN(40) == 0 && !array {
			b.WriteString(`{"k0": 1, "k1": oops}` + nl)
			continue
		}
		b.WriteString("{")
		keys := r.Perm(9)[:1+r.IntN(8)]
		for j, k := range keys {
			if j > 0 {
				b.WriteString(",")
				if array && r.IntN(2) == 0 {
					b.WriteString(nl + "  ")
				}
			}
			fmt.Fprintf(&b, `"k%d": `, k)
			jsonRandomValue(r, &b, k, 0)
		}
		b.WriteString("}")
		if !array {
			b.WriteString(nl)
		}
	}
	if array {
		b.WriteString(nl + "]" + nl)
	}
	return b.Bytes()
}

// TestJSONPiecesAgree: one worker with big pieces and four workers with
// tiny pieces and batches give the same rows, lines and bad rows.
func TestJSONPiecesAgree(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for iter := range 40 {
		array := iter%2 == 1
		data := jsonRandomInput(r, 1+r.IntN(300), array)
		sample := []int{5, 50, 10000}[r.IntN(3)]
		big := jsonParse(t, data, Options{Workers: 1, ChunkBytes: 1 << 20, SampleRows: sample}, r.IntN(2) == 0)
		small := jsonParse(t, data, Options{Workers: 4, ChunkBytes: 64 + r.IntN(237), BatchRows: 1 + r.IntN(50), SampleRows: sample}, false)
		if big.String() != small.String() {
			t.Fatalf("iteration %d (array %v): pieces disagree\nbig:\n%s\nsmall:\n%s\ninput:\n%s", iter, array, big, small, data)
		}
		if len(big.Rows) == 0 {
			t.Fatalf("iteration %d: no rows: %s", iter, big)
		}
	}
}

// TestJSONCloseEarly: closing after a few chunks releases every batch and
// stops every goroutine (goleak in TestMain).
func TestJSONCloseEarly(t *testing.T) {
	data := jsonRandomInput(rand.New(rand.NewPCG(3, 4)), 3000, false)
	for _, stop := range []int{0, 1, 5} {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		o := Options{Workers: 3, ChunkBytes: 512, BatchRows: 10, Allocator: mem}.withDefaults()
		p, err := newJSONParser(context.Background(), input{r: bytes.NewReader(data)}, &o)
		if err != nil {
			t.Fatal(err)
		}
		for range stop {
			c, err := p.Next(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if c.Batch != nil {
				c.Batch.Release()
			}
		}
		p.Close()
		p.Close()
		if _, err := p.Next(context.Background()); err == nil {
			t.Fatal("Next after Close")
		}
		mem.AssertSize(t, 0)
	}
}

// TestJSONContextCancel: a cancelled context ends Next.
func TestJSONContextCancel(t *testing.T) {
	data := jsonRandomInput(rand.New(rand.NewPCG(5, 6)), 2000, true)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	ctx, cancel := context.WithCancel(context.Background())
	o := Options{Workers: 2, ChunkBytes: 256, BatchRows: 7, Allocator: mem}.withDefaults()
	p, err := newJSONParser(ctx, input{r: bytes.NewReader(data)}, &o)
	if err != nil {
		t.Fatal(err)
	}
	c, err := p.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c.Batch != nil {
		c.Batch.Release()
	}
	cancel()
	for {
		c, err := p.Next(ctx)
		if err != nil {
			break
		}
		if c.Batch != nil {
			c.Batch.Release()
		}
	}
	p.Close()
	mem.AssertSize(t, 0)
}

// TestJSONIgnoredKeys: keys outside the schema are skipped and counted.
func TestJSONIgnoredKeys(t *testing.T) {
	data := []byte(`{"a":1}` + "\n" + `{"a":2,"b":{"c":[1,{}]},"n":{"x":1,"y":2}}` + "\n" + `{"a":3,"b":null,"n":{"y":3}}` + "\n")
	o := Options{SampleRows: 1, ColumnTypes: nil}.withDefaults()
	o.Schema = nil
	p, err := newJSONParserT(context.Background(), input{r: bytes.NewReader(data)}, &o)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for {
		c, err := p.Next(context.Background())
		if err != nil {
			break
		}
		if len(c.Errs) != 0 {
			t.Errorf("bad rows: %v", c.Errs)
		}
		if c.Batch != nil {
			c.Batch.Release()
		}
	}
	got := fmt.Sprint(p.IgnoredKeys())
	if want := "map[b:2 n:2]"; got != want {
		t.Errorf("ignored %s, want %s", got, want)
	}
	if s := p.Schema().String(); !strings.Contains(s, "a: type=int64") {
		t.Errorf("schema %s", s)
	}
}

// TestJSONStrAppend checks the one-pass string decoder against scanning
// with str and decoding with jsonUnquote, on strings built from pieces
// that exercise the word loop, escapes, surrogates, bad UTF-8 and errors.
func TestJSONStrAppend(t *testing.T) {
	pieces := []string{
		"a", "abcdefgh", "0123456789abcdef", " ", `\n`, `\"`, `\\`, `\/`, `\t`, `\u00e9`, `\ud83d\ude00`,
		`\ud83d`, `\ude00`, `\ud83dx`, "é", "\xff", "\xc3", "\xe2\x82", "\x80", `\x`, `\u12`, "\x01", `\`, `"`,
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		var b strings.Builder
		b.WriteByte('"')
		for range r.IntN(12) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		if r.IntN(4) > 0 {
			b.WriteByte('"')
		}
		in := []byte(b.String() + strings.Repeat("x", r.IntN(9)))

		var want []byte
		d1 := jsonDec{b: in}
		start, end, flags, ok1 := d1.str()
		if ok1 {
			want = append([]byte("pre"), in[start:end]...)
			if flags != 0 {
				want = jsonUnquote([]byte("pre"), in[start:end])
			}
		}
		d2 := jsonDec{b: in, replaceUTF8: true} // str replaces, as jsonUnquote does
		got, ok2 := d2.strAppend([]byte("pre"), &jsonCol{})
		if ok1 != ok2 || d1.i != d2.i || d1.errOff != d2.errOff || d1.errMsg != d2.errMsg {
			t.Fatalf("%q: str ok=%v i=%d err=%d %q, strAppend ok=%v i=%d err=%d %q",
				in, ok1, d1.i, d1.errOff, d1.errMsg, ok2, d2.i, d2.errOff, d2.errMsg)
		}
		if ok1 && !bytes.Equal(got, want) {
			t.Fatalf("%q: got %q, want %q", in, got, want)
		}
	}
}

// TestJSONBadStringLeavesNoBytes: a string that fails half-way through
// decoding must not leave its bytes in the column for the next row.
func TestJSONBadStringLeavesNoBytes(t *testing.T) {
	o := Options{Schema: jsonFuzzSchema}
	for _, bad := range []string{`"abcdefghijkl\x"`, `"abc\u12"`, "\"abcdefghij\x01\"", `"abcdefghijkl`} {
		in := "{\"c\":" + bad + "}\n{\"c\":\"d\"}\n"
		res := jsonParse(t, []byte(in), o, false)
		if len(res.Rows) != 1 || !strings.HasSuffix(res.Rows[0], ` c="d" d=null`) {
			t.Errorf("%q: rows %q", in, res.Rows)
		}
	}
}
