//go:build duckdb_arrow

package flightsql

import (
	"context"
	"path"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/lakeflight/lakeflight/auth"
)

// Authentication. With Options.Auth set, every call carries an
// authorization header: Basic credentials (on each call, or once in a
// Handshake) or a bearer token. A Basic call is answered with a bearer
// token in the response header (and the Handshake in its trailer too), so
// clients that keep it (the ADBC and JDBC drivers) stop sending the
// password. The identity travels in the call's context: a session belongs
// to the user who opened it, and a reader's session cannot change tables.

const authHeader = "authorization"

// authenticate checks the call's credentials; token is set when they were
// Basic (the caller then hands it back).
func (s *Server) authenticate(ctx context.Context) (id auth.Identity, token string, err error) {
	var value string
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get(authHeader); len(v) > 0 {
			value = v[0]
		}
	}
	id, err = s.opts.Auth.Header(value)
	if err != nil {
		return id, "", err
	}
	if _, err := s.opts.Auth.Allow(id); err != nil {
		return id, "", err
	}
	if scheme, _, _ := strings.Cut(strings.TrimSpace(value), " "); strings.EqualFold(scheme, "Basic") {
		token = s.opts.Auth.Issue(id)
	}
	return id, token, nil
}

func (s *Server) authUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if s.opts.Auth == nil {
		return handler(ctx, req)
	}
	id, token, err := s.authenticate(ctx)
	if err != nil {
		return nil, s.status(path.Base(info.FullMethod), err)
	}
	if token != "" {
		_ = grpc.SetHeader(ctx, metadata.Pairs(authHeader, "Bearer "+token))
	}
	return handler(auth.With(ctx, id), req)
}

func (s *Server) authStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if s.opts.Auth == nil {
		return handler(srv, ss)
	}
	method := path.Base(info.FullMethod)
	id, token, err := s.authenticate(ss.Context())
	if err != nil {
		if info.IsClientStream {
			_ = ss.RecvMsg(new(flight.FlightData)) // see sessionStream: the client then reads the status
		}
		return s.status(method, err)
	}
	if token != "" {
		md := metadata.Pairs(authHeader, "Bearer "+token)
		_ = ss.SetHeader(md)
		if method == "Handshake" {
			ss.SetTrailer(md)
		}
	}
	if method == "Handshake" {
		// Answered here: the credentials were the handshake.
		s.log.Debug("flightsql: handshake", "user", id.User, "role", id.Role.String())
		return nil
	}
	return handler(srv, ctxStream{ss, auth.With(ss.Context(), id)})
}

// checkOwner binds a session to the first user that uses it and refuses
// any other; with no authentication it does nothing.
func (cs *clientSession) checkOwner(ctx context.Context) error {
	id, ok := auth.From(ctx)
	if !ok {
		return nil
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	switch cs.user {
	case "":
		cs.user = id.User
	case id.User:
	default:
		return errSessionOwner
	}
	return nil
}

// handle is handles.get for the caller: a prepared statement or ticket is
// its session's, so another user's is refused as if it did not exist.
func (s *Server) handle(ctx context.Context, id []byte, kind handleKind) (*handle, error) {
	h, err := s.handles.get(id, kind)
	if err != nil {
		return nil, err
	}
	if who, ok := auth.From(ctx); ok && h.sess != nil {
		h.sess.mu.Lock()
		owner := h.sess.user
		h.sess.mu.Unlock()
		if owner != who.User {
			return nil, errUnknownHandle
		}
	}
	return h, nil
}
