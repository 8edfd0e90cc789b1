//go:build duckdb_arrow

package flightsql

import (
	"context"
	"errors"
	"net/http"
	"path"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/session"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"
)

// How a call finds its session (sessions.go says how long sessions live).
//
// A stats handler tags each gRPC connection with a connID as it opens
// (grpc-go derives the context of every call on a connection from the
// tagged one) and ends the connection's sessions when it closes. The
// interceptors then give each call its session: the one its cookie names,
// else the connection's own, created on first use. So a client that keeps
// no cookies (ADBC by default, arrow-go's Go client) still keeps SET, USE,
// temp tables and lakeflight_as_of for as long as its connection lives.
//
// Every call without a cookie is answered with the Set-Cookie header (not
// only the first: the Java driver reads cookies from headers only, and
// arrow-go's client hands a stream's headers to its cookie middleware only
// once the stream ends), so cookie-keeping clients (JDBC, ADBC with
// adbc.flight.sql.rpc.with_cookie_middleware) can come back to the session
// from a new connection.

// sessionCookie is the cookie arrow-go and the Java driver use for sessions.
const sessionCookie = session.StatefulSessionCookieName

type connKey struct{}

// connTracker is the grpc stats handler behind connection sessions.
type connTracker struct{ st *sessionStore }

var _ stats.Handler = connTracker{}

func (t connTracker) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return context.WithValue(ctx, connKey{}, t.st.connOpened())
}

func (t connTracker) HandleConn(ctx context.Context, s stats.ConnStats) {
	if _, end := s.(*stats.ConnEnd); !end {
		return
	}
	if id, ok := ctx.Value(connKey{}).(connID); ok {
		t.st.connEnded(id)
	}
}

func (connTracker) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context { return ctx }
func (connTracker) HandleRPC(context.Context, stats.RPCStats)                       {}

type sessionKey struct{}

// callSession is a call's session, or why it has none.
type callSession struct {
	cs  *clientSession
	err error
}

// sessionFor finds (or creates) the session of a call that is starting,
// pinned for the call.
func (s *Server) sessionFor(ctx context.Context) (*clientSession, error) {
	id, ok := ctx.Value(connKey{}).(connID)
	if !ok {
		return nil, errors.New("call without a connection id: build the grpc.Server with ServerOptions")
	}
	if c, err := session.GetIncomingCookieByName(ctx, sessionCookie); err == nil {
		return s.sessions.byCookie(id, c.Value)
	}
	cs, err := s.sessions.byConn(id)
	if err != nil {
		return nil, err
	}
	cookie := http.Cookie{Name: sessionCookie, Value: cs.token}
	_ = grpc.SetHeader(ctx, metadata.Pairs("Set-Cookie", cookie.String())) // fails only once headers went out
	return cs, nil
}

func (s *Server) sessionUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	cs, err := s.sessionFor(ctx)
	if err != nil {
		return nil, s.status(path.Base(info.FullMethod), err)
	}
	defer cs.unpin()
	if err := cs.checkOwner(ctx); err != nil {
		return nil, s.status(path.Base(info.FullMethod), err)
	}
	return handler(context.WithValue(ctx, sessionKey{}, callSession{cs: cs}), req)
}

func (s *Server) sessionStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	ctx := ss.Context()
	cs, err := s.sessionFor(ctx)
	if err != nil {
		// CloseSession, an action, must still answer for a session that is
		// gone; the other actions that need a session fail in clientSession.
		if !errors.Is(err, errSessionGone) || path.Base(info.FullMethod) != "DoAction" {
			if info.IsClientStream {
				// Take the client's first message before refusing: a client
				// whose Send finds the stream already over gets io.EOF, and
				// arrow-go's ExecuteUpdate (and drivers built like it) then
				// reports "EOF" without ever reading the status that says why.
				_ = ss.RecvMsg(new(flight.FlightData))
			}
			return s.status(path.Base(info.FullMethod), err)
		}
		return handler(srv, ctxStream{ss, context.WithValue(ctx, sessionKey{}, callSession{err: err})})
	}
	defer cs.unpin()
	if err := cs.checkOwner(ctx); err != nil {
		if info.IsClientStream {
			_ = ss.RecvMsg(new(flight.FlightData))
		}
		return s.status(path.Base(info.FullMethod), err)
	}
	return handler(srv, ctxStream{ss, context.WithValue(ctx, sessionKey{}, callSession{cs: cs})})
}

// clientSession returns the caller's session.
func (s *Server) clientSession(ctx context.Context) (*clientSession, error) {
	c, ok := ctx.Value(sessionKey{}).(callSession)
	if !ok {
		return nil, errors.New("no session on call: build the grpc.Server with ServerOptions")
	}
	return c.cs, c.err
}

// conn returns the caller's engine connection.
func (s *Server) conn(ctx context.Context) (*clientSession, conn, error) {
	cs, err := s.clientSession(ctx)
	if err != nil {
		return nil, nil, err
	}
	c, err := cs.engineConn(ctx, s.q)
	if err != nil {
		return nil, nil, err
	}
	return cs, c, nil
}

// dropCookie tells a cookie-keeping client to forget its session cookie.
func dropCookie(ctx context.Context) {
	cookie := http.Cookie{Name: sessionCookie, Value: "", MaxAge: -1}
	_ = grpc.SetTrailer(ctx, metadata.Pairs("Set-Cookie", cookie.String()))
}

// ctxStream is a ServerStream with its context replaced.
type ctxStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s ctxStream) Context() context.Context { return s.ctx }
