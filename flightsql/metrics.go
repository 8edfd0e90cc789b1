//go:build duckdb_arrow

package flightsql

import (
	"context"
	"fmt"
	"log/slog"
	"path"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// metrics is what the Flight SQL front reports to Prometheus.
type metrics struct {
	rpcs     *prometheus.CounterVec   // by method and gRPC code
	queries  *prometheus.HistogramVec // DoGet of a query: start to last batch
	updates  *prometheus.HistogramVec // DoPut of an update (DDL, DML): the whole statement
	prepares *prometheus.HistogramVec // CreatePreparedStatement: parse, bind, plan
	rows     prometheus.Counter
	bytes    prometheus.Counter
	sessions prometheus.Gauge
	// ingestRows counts rows committed by bulk ingest.
	ingestRows prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		rpcs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "lakeflight", Subsystem: "flightsql", Name: "rpcs_total",
			Help: "Flight RPCs handled, by method and gRPC status code.",
		}, []string{"method", "code"}),
		queries: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "lakeflight", Subsystem: "flightsql", Name: "query_duration_seconds",
			Help:    "Time to execute and stream one query result, by outcome.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
		}, []string{"outcome"}),
		updates: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "lakeflight", Subsystem: "flightsql", Name: "update_duration_seconds",
			Help:    "Time to execute one update statement (DDL, INSERT, UPDATE, DELETE, MERGE; ad hoc or prepared), commit included, by outcome.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
		}, []string{"outcome"}),
		prepares: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "lakeflight", Subsystem: "flightsql", Name: "prepare_duration_seconds",
			Help:    "Time to prepare one statement (CreatePreparedStatement), by outcome.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10),
		}, []string{"outcome"}),
		rows: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "lakeflight", Subsystem: "flightsql", Name: "streamed_rows_total",
			Help: "Result rows sent to clients.",
		}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "lakeflight", Subsystem: "flightsql", Name: "streamed_bytes_total",
			Help: "Arrow buffer bytes of result batches sent to clients.",
		}),
		sessions: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "lakeflight", Subsystem: "flightsql", Name: "open_sessions",
			Help: "Client sessions currently open.",
		}),
		ingestRows: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "lakeflight", Subsystem: "flightsql", Name: "ingested_rows_total",
			Help: "Rows committed by bulk ingest (DoPut).",
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.rpcs, m.queries, m.updates, m.prepares, m.rows, m.bytes, m.sessions, m.ingestRows} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("registering flightsql metrics: %w", err)
		}
	}
	return m, nil
}

// unary counts unary RPCs and turns a panic below it into Internal.
func (m *metrics) unary(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if r := recover(); r != nil {
				err = recovered(log, info.FullMethod, r)
			}
			m.rpcs.WithLabelValues(path.Base(info.FullMethod), status.Code(err).String()).Inc()
		}()
		return handler(ctx, req)
	}
}

// stream counts streaming RPCs and turns a panic below it into Internal.
func (m *metrics) stream(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = recovered(log, info.FullMethod, r)
			}
			m.rpcs.WithLabelValues(path.Base(info.FullMethod), status.Code(err).String()).Inc()
		}()
		return handler(srv, ss)
	}
}

func (m *metrics) observeQuery(start time.Time, err error) {
	m.queries.WithLabelValues(outcome(err)).Observe(time.Since(start).Seconds())
}

func (m *metrics) observeUpdate(start time.Time, err error) {
	m.updates.WithLabelValues(outcome(err)).Observe(time.Since(start).Seconds())
}

func (m *metrics) observePrepare(start time.Time, err error) {
	m.prepares.WithLabelValues(outcome(err)).Observe(time.Since(start).Seconds())
}

func outcome(err error) string {
	switch c := status.Code(err); c {
	case codes.OK:
		return "ok"
	case codes.Canceled:
		return "canceled"
	default:
		return "error"
	}
}
