package main

// CSV and JSON-lines output of `lakeflight query`. Both print a row as, for
// each column, a lead (a comma, or a JSON key) and the cell's text, then a
// row end; the cells come from the per-column appenders of query_cells.go.
// A large batch whose appenders may be shared is formatted by several
// goroutines at once, in rounds of consecutive row ranges written out in
// order, so the output is the same as from one goroutine.

import (
	"io"
	"runtime"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
)

const (
	// flushBytes is how much output one goroutine collects before writing
	// it out; each batch's rest is written at its end, so rows reach a pipe
	// as their batch is done.
	flushBytes = 1 << 20
	// partRows is how many rows one goroutine formats per round; a batch
	// is split only if every goroutine gets at least minPartRows.
	partRows    = 8192
	minPartRows = 4096
	// maxParts bounds the goroutines per batch: writing stays sequential.
	maxParts = 4
)

// textWriter writes CSV (RFC 4180, header row, LF line ends, NULL as an empty
// field, an empty string as "") or JSON lines (one object per row, keys in
// column order).
type textWriter struct {
	w      io.Writer
	format textFormat
	lead   [][]byte // what goes before each column's text
	end    []byte   // what ends a row
	cells  []cellAppender
	bufs   [][]byte // one output buffer per goroutine

	// parts is how many goroutines may format one batch; partRows and
	// minPartRows are the constants above except in tests.
	parts, partRows, minPartRows int
}

func newTextWriter(w io.Writer, f textFormat) *textWriter {
	parts := min(runtime.GOMAXPROCS(0), maxParts)
	return &textWriter{
		w: w, format: f, bufs: make([][]byte, parts),
		parts: parts, partRows: partRows, minPartRows: minPartRows,
	}
}

func (t *textWriter) Begin(schema *arrow.Schema) error {
	t.lead = t.lead[:0]
	if t.format == jsonText {
		t.end = []byte("}\n")
		for i, f := range schema.Fields() {
			sep := byte(',')
			if i == 0 {
				sep = '{'
			}
			lead := appendJSONString([]byte{sep}, f.Name)
			t.lead = append(t.lead, append(lead, ':'))
		}
		return nil
	}
	if schema.NumFields() == 0 {
		return nil
	}
	t.end = []byte("\n")
	var header []byte
	for i, f := range schema.Fields() {
		var lead []byte
		if i > 0 {
			lead = []byte(",")
		}
		t.lead = append(t.lead, lead)
		header = append(header, lead...)
		header = appendCSVField(header, f.Name, false)
	}
	header = append(header, '\n')
	_, err := t.w.Write(header)
	return err
}

func (t *textWriter) Write(rec arrow.RecordBatch) error {
	if rec.NumCols() == 0 {
		return nil
	}
	shared := true
	t.cells = t.cells[:0]
	for _, col := range rec.Columns() {
		cell, ok := newCellAppender(col, t.format)
		t.cells = append(t.cells, cell)
		shared = shared && ok
	}
	defer clear(t.cells) // the batch is the caller's to release
	rows := int(rec.NumRows())
	parts := 1
	if shared {
		parts = min(t.parts, rows/t.minPartRows)
	}
	if parts <= 1 {
		return t.writeRows(rows)
	}
	return t.writeParts(rows, parts)
}

func (t *textWriter) End() error { return nil }

// appendRows appends rows [from, to) of the current batch to b.
func (t *textWriter) appendRows(b []byte, from, to int) []byte {
	for row := from; row < to; row++ {
		for col, cell := range t.cells {
			b = append(b, t.lead[col]...)
			b = cell(b, row)
		}
		b = append(b, t.end...)
	}
	return b
}

// writeRows formats the batch on this goroutine, writing out each
// flushBytes as it fills.
func (t *textWriter) writeRows(rows int) error {
	buf := t.bufs[0][:0]
	for row := range rows {
		buf = t.appendRows(buf, row, row+1)
		if len(buf) >= flushBytes {
			if _, err := t.w.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	t.bufs[0] = buf
	_, err := t.w.Write(buf)
	return err
}

// writeParts formats the batch in rounds of parts × partRows rows: part 0
// on this goroutine, each other part on its own, then writes the parts in
// order.
func (t *textWriter) writeParts(rows, parts int) error {
	for first := 0; first < rows; first += parts * t.partRows {
		round := min(rows-first, parts*t.partRows)
		per := (round + parts - 1) / parts
		var wg sync.WaitGroup
		for p := 1; p < parts; p++ {
			from := min(first+p*per, first+round)
			to := min(from+per, first+round)
			wg.Go(func() { t.bufs[p] = t.appendRows(t.bufs[p][:0], from, to) })
		}
		t.bufs[0] = t.appendRows(t.bufs[0][:0], first, first+min(per, round))
		wg.Wait()
		for _, buf := range t.bufs[:parts] {
			if _, err := t.w.Write(buf); err != nil {
				return err
			}
		}
	}
	return nil
}

// appendCSVField appends s as one field, in quotes when it is empty (if
// quoteEmpty), holds a comma, quote or line break, or starts or ends with a
// space or tab; quotes inside are doubled.
func appendCSVField(b []byte, s string, quoteEmpty bool) []byte {
	if !csvNeedsQuotes(s, quoteEmpty) {
		return append(b, s...)
	}
	b = append(b, '"')
	for {
		i := strings.IndexByte(s, '"')
		if i < 0 {
			break
		}
		b = append(b, s[:i+1]...)
		b = append(b, '"')
		s = s[i+1:]
	}
	b = append(b, s...)
	return append(b, '"')
}

func csvNeedsQuotes(s string, quoteEmpty bool) bool {
	if s == "" {
		return quoteEmpty
	}
	if first, last := s[0], s[len(s)-1]; first == ' ' || first == '\t' || last == ' ' || last == '\t' {
		return true
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ',', '"', '\r', '\n':
			return true
		}
	}
	return false
}
