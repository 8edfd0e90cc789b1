package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	afsql "github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	pb "github.com/apache/arrow-go/v18/arrow/flight/gen/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// The wire protocol between a lakeflight ingest client and the server, on
// top of Flight SQL's CommandStatementIngest over DoPut.
const (
	// OptionKey and OptionSource are CommandStatementIngest options (or
	// gRPC headers prefixed "x-", which is how ADBC clients can send them
	// with the statement option adbc.flight.sql.rpc.call_header.<name>).
	OptionKey    = "lakeflight-idempotency-key"
	OptionSource = "lakeflight-source"
	// OptionInvalidUTF8 is the server's UTF8Policy for the batches: "error"
	// (the default) fails the ingest on text that is not valid UTF-8,
	// "replace" stores it with U+FFFD.
	OptionInvalidUTF8 = "lakeflight-invalid-utf8"
	// OptionPartitionBy is Request.PartitionBy: the partitioning of a
	// table the ingest creates, e.g. "day(ts), bucket(16, id)".
	OptionPartitionBy = "lakeflight-partition-by"
	// RejectsPrefix starts the app metadata of a zero-row batch carrying a
	// JSON array of RowError; StatsPrefix one carrying a JSON WireStats.
	RejectsPrefix = "lakeflight.rejects:"
	StatsPrefix   = "lakeflight.stats:"
	// ResultTrailer is the gRPC trailer holding the JSON Result.
	ResultTrailer = "x-lakeflight-ingest-result"
)

// WireStats is what a client's parser knows about its input.
type WireStats struct {
	Bytes   int64 `json:"bytes"`
	Skipped int64 `json:"skipped"`
}

// rejectsPerMessage keeps each rejects message well under gRPC's 4 MiB.
const rejectsPerMessage = 200

// SendOptions name the target of Send.
type SendOptions struct {
	Namespace, Table string
	Mode             Mode
	Key, Source      string
	PartitionBy      string // Request.PartitionBy
}

// Send streams rdr to a lakeflight server as one ingest (one snapshot). Once
// rdr is exhausted, final supplies the rows the client's parser rejected and
// its counts; they travel as app metadata and commit with the data. The
// server's Result comes back in a trailer.
func Send(ctx context.Context, cl *afsql.Client, rdr array.RecordReader, o SendOptions,
	final func() ([]RowError, WireStats), opts ...grpc.CallOption,
) (Result, error) {
	mode, err := ParseMode(string(o.Mode))
	if err != nil {
		return Result{}, err
	}
	// The server refuses such types too, but a type deeper than Arrow IPC
	// can encode would fail here first, with the encoder's message.
	if err := checkNesting(rdr.Schema()); err != nil {
		return Result{}, err
	}
	cmd := &pb.CommandStatementIngest{
		Table:                  o.Table,
		TableDefinitionOptions: tableDefinition(mode),
		Options:                map[string]string{},
	}
	if o.Namespace != "" {
		cmd.Schema = &o.Namespace
	}
	if o.Key != "" {
		cmd.Options[OptionKey] = o.Key
	}
	if o.Source != "" {
		cmd.Options[OptionSource] = o.Source
	}
	if o.PartitionBy != "" {
		cmd.Options[OptionPartitionBy] = o.PartitionBy
	}
	anyCmd, err := anypb.New(cmd)
	if err != nil {
		return Result{}, err
	}
	body, err := proto.Marshal(anyCmd)
	if err != nil {
		return Result{}, err
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // a failure below breaks the stream: the server commits nothing
	var trailer metadata.MD
	stream, err := cl.Client.DoPut(ctx, append(opts, grpc.Trailer(&trailer))...)
	if err != nil {
		return Result{}, err
	}
	wr := flight.NewRecordWriter(stream, ipc.WithSchema(rdr.Schema()), ipc.WithAllocator(memory.DefaultAllocator))
	wr.SetFlightDescriptor(&flight.FlightDescriptor{Type: flight.DescriptorCMD, Cmd: body})
	for rdr.Next() {
		if err := wr.Write(rdr.RecordBatch()); err != nil {
			return Result{}, sendErr(stream, err)
		}
	}
	if err := rdr.Err(); err != nil {
		return Result{}, err
	}
	if final != nil {
		rejects, stats := final()
		empty := array.NewRecordBatch(rdr.Schema(), emptyColumns(rdr.Schema()), 0)
		defer empty.Release()
		for len(rejects) > 0 {
			n := min(len(rejects), rejectsPerMessage)
			js, err := json.Marshal(rejects[:n])
			if err != nil {
				return Result{}, err
			}
			if err := wr.WriteWithAppMetadata(empty, append([]byte(RejectsPrefix), js...)); err != nil {
				return Result{}, sendErr(stream, err)
			}
			rejects = rejects[n:]
		}
		js, _ := json.Marshal(stats)
		if err := wr.WriteWithAppMetadata(empty, append([]byte(StatsPrefix), js...)); err != nil {
			return Result{}, sendErr(stream, err)
		}
	}
	if err := wr.Close(); err != nil {
		return Result{}, sendErr(stream, err)
	}
	if err := stream.CloseSend(); err != nil {
		return Result{}, err
	}
	for {
		if _, err := stream.Recv(); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return Result{}, err
		}
	}
	var res Result
	if v := trailer.Get(ResultTrailer); len(v) > 0 {
		if err := json.Unmarshal([]byte(v[0]), &res); err != nil {
			return res, fmt.Errorf("reading the ingest result: %w", err)
		}
		return res, nil
	}
	return res, errors.New("the server sent no ingest result (is it a lakeflight server?)")
}

// sendErr prefers the server's status over the local write error (io.EOF
// when the server ended the call early).
func sendErr(stream pb.FlightService_DoPutClient, err error) error {
	if errors.Is(err, io.EOF) || strings.Contains(err.Error(), "EOF") {
		for { // the status comes after any results already in flight
			_, rerr := stream.Recv()
			if rerr == nil {
				continue
			}
			if !errors.Is(rerr, io.EOF) {
				return rerr
			}
			break
		}
	}
	return err
}

func emptyColumns(sc *arrow.Schema) []arrow.Array {
	cols := make([]arrow.Array, sc.NumFields())
	for i, f := range sc.Fields() {
		cols[i] = array.MakeArrayOfNull(memory.DefaultAllocator, f.Type, 0)
	}
	return cols
}

// tableDefinition is the ADBC mapping of a mode to table definition options.
func tableDefinition(m Mode) *pb.CommandStatementIngest_TableDefinitionOptions {
	const (
		create  = pb.CommandStatementIngest_TableDefinitionOptions_TABLE_NOT_EXIST_OPTION_CREATE
		missing = pb.CommandStatementIngest_TableDefinitionOptions_TABLE_NOT_EXIST_OPTION_FAIL
		fail    = pb.CommandStatementIngest_TableDefinitionOptions_TABLE_EXISTS_OPTION_FAIL
		add     = pb.CommandStatementIngest_TableDefinitionOptions_TABLE_EXISTS_OPTION_APPEND
		replace = pb.CommandStatementIngest_TableDefinitionOptions_TABLE_EXISTS_OPTION_REPLACE
	)
	switch m {
	case ModeCreate:
		return &pb.CommandStatementIngest_TableDefinitionOptions{IfNotExist: create, IfExists: fail}
	case ModeAppend:
		return &pb.CommandStatementIngest_TableDefinitionOptions{IfNotExist: missing, IfExists: add}
	case ModeReplace:
		return &pb.CommandStatementIngest_TableDefinitionOptions{IfNotExist: create, IfExists: replace}
	}
	return &pb.CommandStatementIngest_TableDefinitionOptions{IfNotExist: create, IfExists: add}
}
