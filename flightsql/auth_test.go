//go:build duckdb_arrow

package flightsql

import (
	"context"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	afsql "github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/lakeflight/lakeflight/auth"
	"github.com/lakeflight/lakeflight/auth/authtest"
)

// run executes sql with the given authorization header (none when "") and
// reads the result; the response header's authorization comes back too.
func runAs(t *testing.T, cl *afsql.Client, header, sql string) (rows int64, answered string, err error) {
	t.Helper()
	ctx := context.Background()
	if header != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", header)
	}
	var md metadata.MD
	info, err := cl.Execute(ctx, sql, grpc.Header(&md))
	if err != nil {
		return 0, "", err
	}
	if v := md.Get("authorization"); len(v) > 0 {
		answered = v[0]
	}
	rdr, err := cl.DoGet(ctx, info.Endpoint[0].Ticket)
	if err != nil {
		return 0, answered, err
	}
	defer rdr.Release()
	for rdr.Next() {
		rows += rdr.RecordBatch().NumRows()
	}
	return rows, answered, rdr.Err()
}

func TestAuthenticatedCalls(t *testing.T) {
	a := authtest.New(t, map[string]auth.Role{"rita": auth.Reader, "will": auth.Writer})
	env := newTestEnv(t, func(o *Options) { o.Auth = a })
	cl, err := afsql.NewClient(env.addr, nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()

	// No credentials, bad ones: Unauthenticated, saying why.
	for header, msg := range map[string]string{
		"":                                     "authentication required",
		authtest.BasicWith("rita", "nope"):     "unknown user or wrong password",
		"Bearer forged.token":                  "not one this server issued",
		"Digest x":                             "neither Basic nor Bearer",
		authtest.BasicWith("nobody", "secret"): "unknown user or wrong password",
	} {
		_, _, err := runAs(t, cl, header, "SELECT 1")
		if status.Code(err) != codes.Unauthenticated || !strings.Contains(err.Error(), msg) {
			t.Errorf("%q: %v, want Unauthenticated saying %q", header, err, msg)
		}
	}

	// Basic on a call: it runs, and the answer carries a bearer token
	// that works on its own.
	n, answered, err := runAs(t, cl, authtest.BasicWith("rita", "rita-password"), "SELECT * FROM bronze.events")
	if err != nil || n != 3 {
		t.Fatalf("rita reads: %d rows, %v", n, err)
	}
	if !strings.HasPrefix(answered, "Bearer ") {
		t.Fatalf("no bearer token in the answer's header: %q", answered)
	}
	if n, _, err := runAs(t, cl, answered, "SELECT * FROM bronze.events AT (VERSION => 'main')"); err != nil || n != 3 {
		t.Fatalf("rita's token: %d rows, %v", n, err)
	}

	// A reader may not change tables or ingest; a writer may.
	for _, sql := range []string{
		"INSERT INTO bronze.events VALUES (4, 'delta', 4.0)",
		"CREATE TABLE bronze.mine AS SELECT 1 AS x",
		"CALL iceberg_create_tag('bronze.events', 'rita-was-here')",
	} {
		if _, _, err := runAs(t, cl, answered, sql); status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), "reader") {
			t.Errorf("rita: %s: %v, want PermissionDenied naming the role", sql, err)
		}
	}
	// Session-local work stays allowed.
	if _, _, err := runAs(t, cl, answered, "CREATE TEMP TABLE scratch AS SELECT 1 AS x"); err != nil {
		t.Errorf("rita's temp table: %v", err)
	}
	// will works on a connection of his own: rita's is rita's session.
	willCl, err := afsql.NewClient(env.addr, nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer willCl.Close()
	ingestAs := func(cl *afsql.Client, header string) error {
		ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", header)
		sc := arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Int64}}, nil)
		b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
		defer b.Release()
		b.Field(0).(*array.Int64Builder).AppendValues([]int64{1, 2}, nil)
		rec := b.NewRecordBatch()
		defer rec.Release()
		rdr, err := array.NewRecordReader(sc, []arrow.RecordBatch{rec})
		if err != nil {
			t.Fatal(err)
		}
		defer rdr.Release()
		schema := "bronze"
		_, err = cl.ExecuteIngest(ctx, rdr, &afsql.ExecuteIngestOpts{TableDefinitionOptions: &afsql.TableDefinitionOptions{
			IfNotExist: afsql.TableDefinitionOptionsTableNotExistOptionCreate, IfExists: afsql.TableDefinitionOptionsTableExistsOptionAppend,
		}, Table: "ingested", Schema: &schema})
		return err
	}
	if err := ingestAs(cl, answered); status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), "reader") {
		t.Errorf("rita's ingest: %v, want PermissionDenied", err)
	}
	if err := ingestAs(willCl, authtest.BasicWith("will", "will-password")); err != nil {
		t.Errorf("will's ingest: %v", err)
	}
	if _, _, err := runAs(t, willCl, authtest.BasicWith("will", "will-password"), "INSERT INTO bronze.events VALUES (4, 'delta', 4.0)"); err != nil {
		t.Errorf("will's insert: %v", err)
	}
	// On rita's connection, will is refused: the session is hers.
	if _, _, err := runAs(t, cl, authtest.BasicWith("will", "will-password"), "SELECT 1"); status.Code(err) != codes.PermissionDenied {
		t.Errorf("will on rita's connection: %v", err)
	}
}

// The handshake answers Basic credentials with a token (arrow-go's own
// client, as the ADBC driver does it); a session opened by one user is not
// another's.
func TestHandshakeAndSessionOwner(t *testing.T) {
	a := authtest.New(t, map[string]auth.Role{"rita": auth.Reader, "will": auth.Writer})
	env := newTestEnv(t, func(o *Options) { o.Auth = a })
	cl, err := flight.NewClientWithMiddleware(env.addr, nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, err := cl.AuthenticateBasicToken(context.Background(), "will", "will-password")
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	md, _ := metadata.FromOutgoingContext(ctx)
	tok := md.Get("authorization")
	if len(tok) != 1 || !strings.HasPrefix(tok[0], "Bearer ") {
		t.Fatalf("handshake gave %v", tok)
	}
	if id, err := a.Header(tok[0]); err != nil || id.User != "will" || id.Role != auth.Writer {
		t.Fatalf("the handshake's token: %+v, %v", id, err)
	}
	if _, err := cl.AuthenticateBasicToken(context.Background(), "will", "wrong"); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("a handshake with a wrong password: %v", err)
	}

	// will's session cookie, presented by rita: refused.
	sql, err := afsql.NewClient(env.addr, nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer sql.Close()
	var hdr metadata.MD
	willCtx := metadata.AppendToOutgoingContext(context.Background(), "authorization", authtest.BasicWith("will", "will-password"))
	if _, err := sql.Execute(willCtx, "SELECT 1", grpc.Header(&hdr)); err != nil {
		t.Fatal(err)
	}
	var cookie string
	for _, c := range hdr.Get("set-cookie") {
		if strings.HasPrefix(c, sessionCookie+"=") {
			cookie, _, _ = strings.Cut(c, ";")
		}
	}
	if cookie == "" {
		t.Fatalf("no session cookie in %v", hdr)
	}
	ritaCtx := metadata.AppendToOutgoingContext(context.Background(), "authorization", authtest.BasicWith("rita", "rita-password"), "cookie", cookie)
	if _, err := sql.Execute(ritaCtx, "SELECT 1"); status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), "another user") {
		t.Fatalf("rita with will's session: %v", err)
	}
}

// Over a user's rate: ResourceExhausted saying when to retry.
func TestFlightRateLimit(t *testing.T) {
	a := authtest.New(t, map[string]auth.Role{"rita": auth.Reader})
	a.SetRateLimit(0.1, 4)
	env := newTestEnv(t, func(o *Options) { o.Auth = a })
	cl, err := afsql.NewClient(env.addr, nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	// Execute and DoGet: two calls a query.
	for i := range 2 {
		if _, _, err := runAs(t, cl, authtest.BasicWith("rita", "rita-password"), "SELECT 1"); err != nil {
			t.Fatalf("query %d: %v", i+1, err)
		}
	}
	_, _, err = runAs(t, cl, authtest.BasicWith("rita", "rita-password"), "SELECT 1")
	if status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "retry in") {
		t.Fatalf("over the limit: %v", err)
	}
}

// A ticket (or prepared statement) is its session's: another user holding
// it is told it does not exist, and cannot run it.
func TestTicketsStayWithTheirUser(t *testing.T) {
	a := authtest.New(t, map[string]auth.Role{"rita": auth.Reader, "will": auth.Writer})
	env := newTestEnv(t, func(o *Options) { o.Auth = a })
	clients := map[string]*afsql.Client{}
	for _, user := range []string{"rita", "will"} {
		cl, err := afsql.NewClient(env.addr, nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		clients[user] = cl
	}
	as := func(user string) context.Context {
		return metadata.AppendToOutgoingContext(context.Background(), "authorization", authtest.Basic(user))
	}
	info, err := clients["will"].Execute(as("will"), "INSERT INTO bronze.events VALUES (9, 'nine', 9.0) RETURNING id")
	if err != nil {
		t.Fatal(err)
	}
	rdr, err := clients["rita"].DoGet(as("rita"), info.Endpoint[0].Ticket)
	if err == nil {
		for rdr.Next() {
		}
		err = rdr.Err()
		rdr.Release()
	}
	if status.Code(err) != codes.NotFound {
		t.Fatalf("rita with will's ticket: %v, want NotFound", err)
	}
	if n, _, err := runAs(t, clients["rita"], authtest.Basic("rita"), "SELECT * FROM bronze.events WHERE id = 9"); err != nil || n != 0 {
		t.Fatalf("will's insert ran for rita: %d rows, %v", n, err)
	}
}
