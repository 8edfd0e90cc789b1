package main

// lakeflight query: a small Flight SQL client for the terminal and for shell
// pipelines. It sends one statement, reads every endpoint of the answer and
// prints the rows as an aligned table, CSV or JSON lines.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	afsql "github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

const (
	defaultQueryServer   = "127.0.0.1:31337"
	defaultQueryTimeout  = 10 * time.Second
	maxQueryMessageBytes = 256 << 20 // large batches must fit in one gRPC message
)

const queryUsage = `usage: lakeflight query [--server HOST:PORT] [--format table|csv|json] [--connect-timeout D] "SQL"

Runs one SQL statement on a lakeflight server over Arrow Flight SQL and prints
the result. The default format is table on a terminal and csv otherwise.

flags:
`

type queryOptions struct {
	server         string
	format         string
	connectTimeout time.Duration
	sql            string
}

// runQuery implements `lakeflight query`.
func runQuery(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	opts, err := parseQueryArgs(args, stdout, os.Getenv)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if opts.format == "" {
		opts.format = "csv"
		if isTerminal(stdout) {
			opts.format = "table"
		}
	}
	client, err := dialFlightSQL(ctx, opts.server, opts.connectTimeout)
	if err != nil {
		return fmt.Errorf("cannot reach lakeflight at %s: %w", opts.server, err)
	}
	defer func() { _ = client.Close() }()

	out := newResultWriter(opts.format, stdout)
	if err := streamQuery(ctx, client, opts.sql, out, stderr); err != nil {
		return describeQueryError(ctx, err, opts.server)
	}
	return nil
}

func parseQueryArgs(args []string, helpOut io.Writer, getenv func(string) string) (queryOptions, error) {
	opts := queryOptions{}
	defServer := defaultQueryServer
	if s := getenv("LAKEFLIGHT_SERVER"); s != "" {
		defServer = s
	}
	fs := flag.NewFlagSet("query", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&opts.server, "server", defServer, "lakeflight Flight SQL address `HOST:PORT` (env LAKEFLIGHT_SERVER)")
	fs.StringVar(&opts.format, "format", "", "output `format`: table, csv or json (one object per line)")
	fs.DurationVar(&opts.connectTimeout, "connect-timeout", defaultQueryTimeout, "give up connecting after this `duration`")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(helpOut)
			if _, werr := io.WriteString(helpOut, queryUsage); werr == nil {
				fs.PrintDefaults()
			}
			return opts, err
		}
		return opts, fmt.Errorf("%w: query: %w (see lakeflight query -h)", errUsage, err)
	}
	switch opts.format {
	case "", "table", "csv", "json":
	default:
		return opts, fmt.Errorf("%w: query: unknown format %q: want table, csv or json", errUsage, opts.format)
	}
	opts.sql = strings.TrimSpace(strings.Join(fs.Args(), " "))
	if opts.sql == "" {
		return opts, fmt.Errorf(`%w: query: no SQL given: lakeflight query [flags] "SELECT ..."`, errUsage)
	}
	opts.server = strings.TrimPrefix(strings.TrimPrefix(opts.server, "grpc://"), "grpc+tcp://")
	return opts, nil
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// dialFlightSQL makes a Flight SQL client, with the credentials of
// LAKEFLIGHT_TOKEN or LAKEFLIGHT_USER/PASSWORD if set, over TLS when the
// environment says so (cliTLS). gRPC connects lazily: the
// timeout bounds each connection attempt, so a dead or black-holed address
// fails the first call with Unavailable instead of hanging.
func dialFlightSQL(ctx context.Context, addr string, timeout time.Duration) (*afsql.Client, error) {
	dialer := &net.Dialer{Timeout: timeout}
	authz, err := cliAuthorization()
	if err != nil {
		return nil, err
	}
	tlsCfg, err := cliTLS(os.Getenv)
	if err != nil {
		return nil, err
	}
	transport := insecure.NewCredentials()
	if tlsCfg != nil {
		transport = credentials.NewTLS(tlsCfg)
	}
	var creds []grpc.DialOption
	if authz != "" {
		creds = append(creds, grpc.WithPerRPCCredentials(headerCreds{authz, tlsCfg != nil}))
	}
	return afsql.NewClientCtx(ctx, addr, nil, nil, append(creds,
		grpc.WithTransportCredentials(transport),
		grpc.WithContextDialer(func(ctx context.Context, a string) (net.Conn, error) {
			return dialer.DialContext(ctx, "tcp", a)
		}),
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: backoff.DefaultConfig, MinConnectTimeout: timeout}),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxQueryMessageBytes)),
	)...)
}

// streamQuery runs sql and hands every batch of every endpoint to out. All
// endpoints are read from the server the client is connected to: lakeflight
// serves its own tickets and sends no other locations. A statement that
// changes data (INSERT, MERGE, CREATE TABLE …) reports the rows it affected
// on notice instead.
func streamQuery(ctx context.Context, client *afsql.Client, sql string, out resultWriter, notice io.Writer) error {
	prep, err := client.Prepare(ctx, sql)
	if err != nil {
		return err
	}
	defer func() { _ = prep.Close(context.WithoutCancel(ctx)) }()
	if upd, ok := prep.IsUpdate(); ok && upd {
		n, err := prep.ExecuteUpdate(ctx)
		if err != nil {
			return err
		}
		if n == 1 {
			_, err = fmt.Fprintln(notice, "1 row affected")
		} else {
			_, err = fmt.Fprintf(notice, "%d rows affected\n", n)
		}
		return err
	}
	info, err := prep.Execute(ctx)
	if err != nil {
		return err
	}
	var schema *arrow.Schema
	if len(info.Schema) > 0 {
		if schema, err = flight.DeserializeSchema(info.Schema, memory.DefaultAllocator); err != nil {
			return fmt.Errorf("reading result schema: %w", err)
		}
	}
	began := false
	for _, ep := range info.Endpoint {
		if err := readEndpoint(ctx, client, ep, out, &began); err != nil {
			return err
		}
	}
	if !began {
		if schema == nil {
			schema = arrow.NewSchema(nil, nil)
		}
		if err := out.Begin(schema); err != nil {
			return err
		}
	}
	return out.End()
}

// readEndpoint streams one endpoint into out, reading the next batch while
// out formats the current one.
func readEndpoint(ctx context.Context, client *afsql.Client, ep *flight.FlightEndpoint, out resultWriter, began *bool) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rdr, err := client.DoGet(ctx, ep.Ticket)
	if err != nil {
		return err
	}
	defer rdr.Release()
	if !*began {
		if err := out.Begin(rdr.Schema()); err != nil {
			return err
		}
		*began = true
	}
	batches := prefetchBatches(ctx, rdr)
	for rec := range batches {
		err := out.Write(rec)
		rec.Release()
		if err != nil {
			cancel()
			releaseAll(batches)
			return err
		}
	}
	if err := rdr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// describeQueryError turns a client or server error into one line.
func describeQueryError(ctx context.Context, err error, server string) error {
	if ctx.Err() != nil {
		return errors.New("query canceled")
	}
	st, ok := status.FromError(err)
	if !ok {
		return fmt.Errorf("query failed: %s", firstLine(err.Error()))
	}
	switch st.Code() {
	case codes.Unavailable:
		return fmt.Errorf("cannot reach lakeflight at %s: %s", server, dialReason(st.Message()))
	case codes.Canceled:
		return fmt.Errorf("query canceled: %s", firstLine(st.Message()))
	default:
		return fmt.Errorf("query failed: %s: %s", st.Code(), firstLine(st.Message()))
	}
}

// dialReason digs the cause out of gRPC's transport message, e.g.
// `connection error: desc = "transport: Error while dialing: dial tcp
// 127.0.0.1:31337: connect: connection refused"` → "connection refused".
func dialReason(msg string) string {
	msg = firstLine(msg)
	if !strings.Contains(msg, "dial") {
		return msg
	}
	msg = strings.TrimRight(msg, `"`)
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		return msg[i+2:]
	}
	return msg
}

// firstLine keeps the first non-empty line: DuckDB adds "LINE 1: ..." and a
// caret below its message, which a one-line error does not want.
func firstLine(s string) string {
	for _, line := range strings.Split(s, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			return line
		}
	}
	return strings.TrimSpace(s)
}

// resultWriter prints a result: Begin once with the schema, Write per batch
// (the caller releases the batch), End after the last one.
type resultWriter interface {
	Begin(schema *arrow.Schema) error
	Write(rec arrow.RecordBatch) error
	End() error
}

func newResultWriter(format string, w io.Writer) resultWriter {
	switch format {
	case "json":
		return newTextWriter(w, jsonText)
	case "table":
		return &tableWriter{w: w}
	default:
		return newTextWriter(w, csvText)
	}
}

// tableWriter collects the rows as text and prints them aligned, psql style,
// with a row count footer. Numbers are right-aligned.
type tableWriter struct {
	w      io.Writer
	schema *arrow.Schema
	rows   [][]string
}

func (t *tableWriter) Begin(schema *arrow.Schema) error {
	t.schema = schema
	return nil
}

func (t *tableWriter) Write(rec arrow.RecordBatch) error {
	for row := 0; row < int(rec.NumRows()); row++ {
		cells := make([]string, rec.NumCols())
		for col := range cells {
			cells[col] = escapeControl(cellText(rec.Column(col), row))
		}
		t.rows = append(t.rows, cells)
	}
	return nil
}

func (t *tableWriter) End() error {
	fields := t.schema.Fields()
	if len(fields) == 0 {
		_, err := io.WriteString(t.w, "OK\n")
		return err
	}
	widths := make([]int, len(fields))
	right := make([]bool, len(fields))
	header := make([]string, len(fields))
	for i, f := range fields {
		header[i] = escapeControl(f.Name)
		widths[i] = utf8.RuneCountInString(header[i])
		right[i] = isNumericType(f.Type)
	}
	for _, r := range t.rows {
		for i, c := range r {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	var b strings.Builder
	writeRow := func(cells []string, alignRight []bool) {
		for i, c := range cells {
			if i > 0 {
				b.WriteString(" |")
			}
			b.WriteByte(' ')
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c))
			if alignRight != nil && alignRight[i] {
				b.WriteString(pad)
				b.WriteString(c)
			} else {
				b.WriteString(c)
				if i < len(cells)-1 {
					b.WriteString(pad)
				}
			}
		}
		b.WriteByte('\n')
	}
	writeRow(header, nil)
	for i, w := range widths {
		if i > 0 {
			b.WriteByte('+')
		}
		b.WriteString(strings.Repeat("-", w+2))
	}
	b.WriteByte('\n')
	for _, r := range t.rows {
		writeRow(r, right)
	}
	if len(t.rows) == 1 {
		b.WriteString("(1 row)\n")
	} else {
		fmt.Fprintf(&b, "(%d rows)\n", len(t.rows))
	}
	_, err := io.WriteString(t.w, b.String())
	return err
}

func isNumericType(dt arrow.DataType) bool {
	switch dt := dt.(type) {
	case *arrow.DictionaryType:
		return isNumericType(dt.ValueType)
	case arrow.ExtensionType:
		return isNumericType(dt.StorageType())
	}
	return arrow.IsInteger(dt.ID()) || arrow.IsFloating(dt.ID()) || arrow.IsDecimal(dt.ID())
}

// escapeControl keeps a table cell on one line.
func escapeControl(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// cellKind says how a scalar is written in JSON.
type cellKind uint8

const (
	kindNull   cellKind = iota
	kindNumber          // written bare in JSON
	kindBool            // written bare in JSON
	kindString          // quoted in JSON
	kindNested          // list, struct or map: see appendJSONValue
)

// cellText renders one value for table and CSV output: NULL as "NULL",
// scalars as text, nested values as JSON.
func cellText(arr arrow.Array, i int) string {
	s, kind := scalarText(arr, i)
	switch kind {
	case kindNull:
		return "NULL"
	case kindNested:
		return string(appendJSONValue(nil, arr, i))
	}
	return s
}

// resolve looks through dictionary, extension and run-end encodings to the
// array and index that hold the value.
func resolve(arr arrow.Array, i int) (arrow.Array, int) {
	for {
		switch a := arr.(type) {
		case *array.Dictionary:
			arr, i = a.Dictionary(), a.GetValueIndex(i)
		case array.ExtensionArray:
			arr = a.Storage()
		case *array.RunEndEncoded:
			arr, i = a.Values(), a.GetPhysicalIndex(i)
		default:
			return arr, i
		}
	}
}

// scalarText renders a non-nested value. It returns kindNested (and no text)
// for lists, structs and maps.
func scalarText(arr arrow.Array, i int) (string, cellKind) {
	if arr.IsNull(i) {
		return "", kindNull
	}
	arr, i = resolve(arr, i)
	if arr.IsNull(i) {
		return "", kindNull
	}
	switch a := arr.(type) {
	case *array.Null:
		return "", kindNull
	case *array.Boolean:
		return strconv.FormatBool(a.Value(i)), kindBool
	case *array.Int8:
		return strconv.FormatInt(int64(a.Value(i)), 10), kindNumber
	case *array.Int16:
		return strconv.FormatInt(int64(a.Value(i)), 10), kindNumber
	case *array.Int32:
		return strconv.FormatInt(int64(a.Value(i)), 10), kindNumber
	case *array.Int64:
		return strconv.FormatInt(a.Value(i), 10), kindNumber
	case *array.Uint8:
		return strconv.FormatUint(uint64(a.Value(i)), 10), kindNumber
	case *array.Uint16:
		return strconv.FormatUint(uint64(a.Value(i)), 10), kindNumber
	case *array.Uint32:
		return strconv.FormatUint(uint64(a.Value(i)), 10), kindNumber
	case *array.Uint64:
		return strconv.FormatUint(a.Value(i), 10), kindNumber
	case *array.Float16:
		return formatFloat(float64(a.Value(i).Float32()), 32)
	case *array.Float32:
		return formatFloat(float64(a.Value(i)), 32)
	case *array.Float64:
		return formatFloat(a.Value(i), 64)
	case *array.Decimal32:
		return a.Value(i).ToString(a.DataType().(arrow.DecimalType).GetScale()), kindNumber
	case *array.Decimal64:
		return a.Value(i).ToString(a.DataType().(arrow.DecimalType).GetScale()), kindNumber
	case *array.Decimal128:
		return a.Value(i).ToString(a.DataType().(arrow.DecimalType).GetScale()), kindNumber
	case *array.Decimal256:
		return a.Value(i).ToString(a.DataType().(arrow.DecimalType).GetScale()), kindNumber
	case *array.String:
		return a.Value(i), kindString
	case *array.LargeString:
		return a.Value(i), kindString
	case *array.StringView:
		return a.Value(i), kindString
	case *array.Binary:
		return formatBytes(a.Value(i)), kindString
	case *array.LargeBinary:
		return formatBytes(a.Value(i)), kindString
	case *array.BinaryView:
		return formatBytes(a.Value(i)), kindString
	case *array.FixedSizeBinary:
		return formatBytes(a.Value(i)), kindString
	case *array.Date32:
		return a.Value(i).ToTime().Format(time.DateOnly), kindString
	case *array.Date64:
		return a.Value(i).ToTime().Format(time.DateOnly), kindString
	case *array.Time32:
		return a.Value(i).ToTime(a.DataType().(*arrow.Time32Type).Unit).Format("15:04:05.999999999"), kindString
	case *array.Time64:
		return a.Value(i).ToTime(a.DataType().(*arrow.Time64Type).Unit).Format("15:04:05.999999999"), kindString
	case *array.Timestamp:
		return formatTimestamp(a, i), kindString
	case *array.Duration:
		unit := a.DataType().(*arrow.DurationType).Unit
		return (time.Duration(a.Value(i)) * unit.Multiplier()).String(), kindString
	case *array.MonthDayNanoInterval:
		v := a.Value(i)
		return formatInterval(v.Months, v.Days, time.Duration(v.Nanoseconds)), kindString
	case *array.DayTimeInterval:
		v := a.Value(i)
		return formatInterval(0, v.Days, time.Duration(v.Milliseconds)*time.Millisecond), kindString
	case *array.MonthInterval:
		return formatInterval(int32(a.Value(i)), 0, 0), kindString
	case array.ListLike, *array.Struct:
		return "", kindNested
	}
	return arr.ValueStr(i), kindString
}

func formatFloat(f float64, bits int) (string, cellKind) {
	switch {
	case math.IsNaN(f):
		return "NaN", kindString
	case math.IsInf(f, 1):
		return "Infinity", kindString
	case math.IsInf(f, -1):
		return "-Infinity", kindString
	}
	abs := math.Abs(f)
	if abs == 0 || (abs >= 1e-5 && abs < 1e16) {
		return strconv.FormatFloat(f, 'f', -1, bits), kindNumber
	}
	return strconv.FormatFloat(f, 'g', -1, bits), kindNumber
}

// formatTimestamp prints ISO-8601: with the zone's offset when the column has
// a time zone, without one for a naive timestamp.
func formatTimestamp(a *array.Timestamp, i int) string {
	dt := a.DataType().(*arrow.TimestampType)
	if dt.TimeZone == "" {
		return a.Value(i).ToTime(dt.Unit).Format("2006-01-02T15:04:05.999999999")
	}
	toTime, err := dt.GetToTimeFunc()
	if err != nil {
		return a.Value(i).ToTime(dt.Unit).Format(time.RFC3339Nano)
	}
	return toTime(a.Value(i)).Format(time.RFC3339Nano)
}

func formatInterval(months, days int32, d time.Duration) string {
	var parts []string
	if months != 0 {
		parts = append(parts, plural(int64(months), "month"))
	}
	if days != 0 {
		parts = append(parts, plural(int64(days), "day"))
	}
	if d != 0 || len(parts) == 0 {
		parts = append(parts, d.String())
	}
	return strings.Join(parts, " ")
}

func plural(n int64, unit string) string {
	if n == 1 || n == -1 {
		return strconv.FormatInt(n, 10) + " " + unit
	}
	return strconv.FormatInt(n, 10) + " " + unit + "s"
}

// formatBytes prints a blob as DuckDB does: printable ASCII as is, other
// bytes as \xHH.
func formatBytes(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		if c >= 0x20 && c < 0x7f && c != '\\' {
			sb.WriteByte(c)
		} else {
			fmt.Fprintf(&sb, `\x%02X`, c)
		}
	}
	return sb.String()
}

// appendJSONValue appends the JSON form of one value: numbers (decimals with
// their exact digits) bare, temporal values as ISO-8601 strings, lists as
// arrays, structs as objects, maps as objects when their keys are strings and
// as arrays of {"key","value"} objects otherwise.
func appendJSONValue(b []byte, arr arrow.Array, i int) []byte {
	s, kind := scalarText(arr, i)
	switch kind {
	case kindNull:
		return append(b, "null"...)
	case kindNumber, kindBool:
		return append(b, s...)
	case kindString:
		return appendJSONString(b, s)
	}
	arr, i = resolve(arr, i)
	switch a := arr.(type) {
	case *array.Map:
		start, end := a.ValueOffsets(i)
		keys, items := a.Keys(), a.Items()
		stringKeys := isStringType(keys.DataType())
		if stringKeys {
			b = append(b, '{')
		} else {
			b = append(b, '[')
		}
		for j := start; j < end; j++ {
			if j > start {
				b = append(b, ',')
			}
			if stringKeys {
				k, _ := scalarText(keys, int(j))
				b = appendJSONString(b, k)
				b = append(b, ':')
				b = appendJSONValue(b, items, int(j))
			} else {
				b = append(b, `{"key":`...)
				b = appendJSONValue(b, keys, int(j))
				b = append(b, `,"value":`...)
				b = appendJSONValue(b, items, int(j))
				b = append(b, '}')
			}
		}
		if stringKeys {
			return append(b, '}')
		}
		return append(b, ']')
	case array.ListLike:
		start, end := a.ValueOffsets(i)
		values := a.ListValues()
		b = append(b, '[')
		for j := start; j < end; j++ {
			if j > start {
				b = append(b, ',')
			}
			b = appendJSONValue(b, values, int(j))
		}
		return append(b, ']')
	case *array.Struct:
		st := a.DataType().(*arrow.StructType)
		b = append(b, '{')
		for f := 0; f < a.NumField(); f++ {
			if f > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, st.Field(f).Name)
			b = append(b, ':')
			b = appendJSONValue(b, a.Field(f), i)
		}
		return append(b, '}')
	}
	return appendJSONString(b, arr.ValueStr(i))
}

func isStringType(dt arrow.DataType) bool {
	switch dt.ID() {
	case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW:
		return true
	case arrow.DICTIONARY:
		return isStringType(dt.(*arrow.DictionaryType).ValueType)
	}
	return false
}

// appendJSONString appends s as a JSON string literal: quotes, backslashes
// and control characters escaped, invalid UTF-8 bytes as \ufffd.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	// Most text is printable ASCII, which is copied in one piece.
	plain := 0
	for plain < len(s) && jsonPlain(s[plain]) {
		plain++
	}
	b = append(b, s[:plain]...)
	for i := plain; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20 || c == 0x7f:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// jsonPlain reports whether c stands for itself in a JSON string as written
// by appendJSONString: printable ASCII other than '"' and '\\'.
func jsonPlain(c byte) bool {
	return c >= 0x20 && c < 0x7f && c != '"' && c != '\\'
}
