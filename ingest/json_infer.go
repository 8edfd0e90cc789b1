package ingest

import (
	"bytes"
	"fmt"
	"sort"

	"github.com/apache/arrow-go/v18/arrow"
)

// Schema inference for JSON: every sampled value updates a tree of
// jsonInfer nodes (one per key path), which then settles on an Arrow type
// per node. Columns come in the order keys first appear. Numbers: int64,
// widened to float64 (or decimal128 with InferDecimal) when any has a
// fraction or exponent. Strings become date32 or timestamp when every one
// of them parses as such (like DuckDB), else utf8. Objects become structs
// (fields unified recursively), arrays lists (elements unified). A node
// that saw only nulls, or values of incompatible kinds, becomes utf8: the
// column then keeps strings as they are and other values as their raw JSON
// text.

// What a node has seen.
const (
	jsonSeenNull = 1 << iota
	jsonSeenBool
	jsonSeenInt
	jsonSeenFloat
	jsonSeenStr
	jsonSeenObj
	jsonSeenArr
)

// jsonMaxInferKeys bounds the distinct keys of one object node; beyond it
// the node becomes utf8 (raw JSON), since such objects are maps, not
// records.
const jsonMaxInferKeys = 2000

type jsonInfer struct {
	seen uint8
	strs uint8 // 1<<jsonTime* kinds seen among strings

	// decimal candidates: every number plain (no exponent), every fraction
	// with the same number of digits.
	decBad   bool
	decFrac  bool
	decScale int
	decInt   int // most integer digits

	names []string
	kids  map[string]*jsonInfer
	elem  *jsonInfer
	wide  bool // too many keys
}

func (n *jsonInfer) kid(key []byte) *jsonInfer {
	if k, ok := n.kids[string(key)]; ok {
		return k
	}
	if n.kids == nil {
		n.kids = make(map[string]*jsonInfer)
	}
	if len(n.names) >= jsonMaxInferKeys {
		n.wide = true
		return nil
	}
	k := &jsonInfer{}
	n.kids[string(key)] = k
	n.names = append(n.names, string(key))
	return k
}

// observe records the (already validated) value at d.i in n.
func (n *jsonInfer) observe(d *jsonDec) {
	b := d.b
	switch ch := b[d.i]; ch {
	case '"':
		n.seen |= jsonSeenStr
		if n.strs&(1<<jsonTimeNone) != 0 {
			_, _, _, _ = d.str()
			return
		}
		s, _ := d.strValue()
		n.strs |= 1 << jsonTimeKind(s)
	case '{':
		n.seen |= jsonSeenObj
		d.i++
		d.ws()
		if b[d.i] == '}' {
			d.i++
			return
		}
		for {
			key := d.keyValue()
			var k *jsonInfer
			if !n.wide {
				k = n.kid(key)
			}
			d.ws()
			d.i++ // ':'
			d.ws()
			if k == nil {
				d.skip()
			} else {
				k.observe(d)
			}
			d.ws()
			c := b[d.i]
			d.i++
			if c == '}' {
				return
			}
			d.ws()
		}
	case '[':
		n.seen |= jsonSeenArr
		if n.elem == nil {
			n.elem = &jsonInfer{}
		}
		d.i++
		d.ws()
		if b[d.i] == ']' {
			d.i++
			return
		}
		for {
			n.elem.observe(d)
			d.ws()
			c := b[d.i]
			d.i++
			if c == ']' {
				return
			}
			d.ws()
		}
	case 't':
		n.seen |= jsonSeenBool
		d.i += 4
	case 'f':
		n.seen |= jsonSeenBool
		d.i += 5
	case 'n':
		n.seen |= jsonSeenNull
		d.i += 4
	default:
		start, end, isInt, _ := d.num()
		if isInt {
			n.seen |= jsonSeenInt
		} else {
			n.seen |= jsonSeenFloat
		}
		n.noteDecimal(b[start:end])
	}
}

func (n *jsonInfer) noteDecimal(s []byte) {
	if n.decBad {
		return
	}
	if bytes.ContainsAny(s, "eE") {
		n.decBad = true
		return
	}
	if s[0] == '-' {
		s = s[1:]
	}
	intPart, frac := s, []byte(nil)
	if dot := bytes.IndexByte(s, '.'); dot >= 0 {
		intPart, frac = s[:dot], s[dot+1:]
	}
	if frac != nil {
		if n.decFrac && len(frac) != n.decScale {
			n.decBad = true
			return
		}
		n.decFrac, n.decScale = true, len(frac)
	}
	digits := len(bytes.TrimLeft(intPart, "0"))
	n.decInt = max(n.decInt, digits)
}

// dataType settles the node's type.
func (n *jsonInfer) dataType(inferDecimal bool) arrow.DataType {
	switch n.seen &^ jsonSeenNull {
	case jsonSeenBool:
		return arrow.FixedWidthTypes.Boolean
	case jsonSeenInt:
		return arrow.PrimitiveTypes.Int64
	case jsonSeenFloat, jsonSeenInt | jsonSeenFloat:
		if inferDecimal && !n.decBad && n.decFrac {
			prec := max(n.decInt+n.decScale, 1)
			if prec <= 38 {
				return &arrow.Decimal128Type{Precision: int32(prec), Scale: int32(n.decScale)}
			}
		}
		return arrow.PrimitiveTypes.Float64
	case jsonSeenStr:
		const (
			date  = 1 << jsonTimeDate
			naive = 1 << jsonTimeNaive
			zoned = 1 << jsonTimeZoned
		)
		switch {
		case n.strs == date:
			return arrow.FixedWidthTypes.Date32
		case n.strs&^(date|naive) == 0:
			return &arrow.TimestampType{Unit: arrow.Microsecond}
		case n.strs == zoned:
			return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
		}
	case jsonSeenObj:
		if n.wide || len(n.names) == 0 {
			break
		}
		fields := make([]arrow.Field, len(n.names))
		for i, name := range n.names {
			fields[i] = arrow.Field{Name: name, Type: n.kids[name].dataType(inferDecimal), Nullable: true}
		}
		return arrow.StructOf(fields...)
	case jsonSeenArr:
		elem := arrow.DataType(arrow.BinaryTypes.String)
		if n.elem != nil {
			elem = n.elem.dataType(inferDecimal)
		}
		return arrow.ListOf(elem)
	}
	return arrow.BinaryTypes.String
}

// schema turns the tree of the top-level objects into the input's schema,
// with opts.ColumnTypes applied (columns named there but never seen come
// last, in name order).
func (n *jsonInfer) schema(opts *Options) (*arrow.Schema, error) {
	fields := make([]arrow.Field, 0, len(n.names))
	for _, name := range n.names {
		dt, ok := opts.ColumnTypes[name]
		if !ok {
			dt, ok = opts.TypeHints[name]
		}
		if !ok {
			dt = n.kids[name].dataType(opts.InferDecimal)
		}
		fields = append(fields, arrow.Field{Name: name, Type: dt, Nullable: true})
	}
	var extra []string
	for name := range opts.ColumnTypes {
		if _, seen := n.kids[name]; !seen {
			extra = append(extra, name)
		}
	}
	sort.Strings(extra)
	for _, name := range extra {
		fields = append(fields, arrow.Field{Name: name, Type: opts.ColumnTypes[name], Nullable: true})
	}
	if len(fields) == 0 {
		return nil, fmt.Errorf("%w: %s: no keys in the sampled objects to infer columns from", ErrMalformed, opts.Source)
	}
	return arrow.NewSchema(fields, nil), nil
}

// row observes one row's text if it is a valid JSON object; it reports
// whether it did.
func (n *jsonInfer) row(d *jsonDec, text []byte) bool {
	if !d.validate(text) {
		return false
	}
	d.reset(text)
	d.ws()
	if d.b[d.i] != '{' {
		return false
	}
	n.observe(d)
	return true
}
