package ingest

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lakeflight/lakeflight/internal/errkind"
)

// The outcomes an ingest is counted under.
const (
	OutcomeCommitted = "committed" // rows committed (some may have gone to the rejects table)
	OutcomeReplayed  = "replayed"  // its idempotency key had committed before: nothing written
	OutcomeRejected  = "rejected"  // the input's fault: malformed, wrong types, over a limit, unknown table
	OutcomeFailed    = "failed"    // the server's: a conflict it could not retry, an unreachable catalog, a bug
	OutcomeCanceled  = "canceled"  // the client went away or ran out of time
)

// metrics is what the Writer reports: every ingest through it, whichever
// front (POST /ingest or Flight DoPut) it came in by.
type metrics struct {
	ingests      *prometheus.CounterVec // by outcome
	duration     *prometheus.HistogramVec
	rows         prometheus.Counter
	rejectedRows prometheus.Counter
	bytes        prometheus.Counter
}

// Register adds the Writer's metrics to reg. Call it before the first
// Write; without it nothing is counted.
func (w *Writer) Register(reg prometheus.Registerer) error {
	m := &metrics{
		ingests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "lakeflight", Subsystem: "ingest", Name: "requests_total",
			Help: "Ingests ended, by outcome: committed, replayed (key seen before), rejected (bad input), failed (server side), canceled.",
		}, []string{"outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "lakeflight", Subsystem: "ingest", Name: "duration_seconds",
			Help:    "Time of one ingest, from its table's opening to its commit or failure, by outcome.",
			Buckets: prometheus.ExponentialBuckets(0.005, 4, 10), // 5 ms … ~22 min
		}, []string{"outcome"}),
		rows: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "lakeflight", Subsystem: "ingest", Name: "rows_total",
			Help: "Rows committed to their tables by ingests.",
		}),
		rejectedRows: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "lakeflight", Subsystem: "ingest", Name: "rejected_rows_total",
			Help: "Rows that did not parse and went to their table's __rejects table instead.",
		}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "lakeflight", Subsystem: "ingest", Name: "bytes_total",
			Help: "Input bytes of committed ingests (as sent, before decompression), where the front knows them.",
		}),
	}
	for _, c := range []prometheus.Collector{m.ingests, m.duration, m.rows, m.rejectedRows, m.bytes} {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("registering ingest metrics: %w", err)
		}
	}
	// Each outcome shows from the start, so that rate() over it is 0
	// rather than absent before the first failure.
	for _, o := range []string{OutcomeCommitted, OutcomeReplayed, OutcomeRejected, OutcomeFailed, OutcomeCanceled} {
		m.ingests.WithLabelValues(o)
	}
	w.m = m
	return nil
}

// outcome names how an ingest ended.
func outcome(res Result, err error) string {
	if err == nil {
		if res.Replayed {
			return OutcomeReplayed
		}
		return OutcomeCommitted
	}
	switch errkind.Of(err) {
	case errkind.Canceled, errkind.DeadlineExceeded:
		return OutcomeCanceled
	case errkind.InvalidArgument, errkind.SchemaMismatch, errkind.NotFound, errkind.AlreadyExists,
		errkind.ResourceExhausted, errkind.Unsupported, errkind.PermissionDenied, errkind.FailedPrecondition,
		errkind.Unauthenticated:
		return OutcomeRejected
	default: // Internal, Conflict, Unavailable
		return OutcomeFailed
	}
}

// observe counts one ended ingest.
func (w *Writer) observe(start time.Time, res Result, err error) {
	if w.m == nil {
		return
	}
	o := outcome(res, err)
	w.m.ingests.WithLabelValues(o).Inc()
	w.m.duration.WithLabelValues(o).Observe(time.Since(start).Seconds())
	if o == OutcomeCommitted {
		w.m.rows.Add(float64(res.Rows))
		w.m.rejectedRows.Add(float64(res.Rejected))
		w.m.bytes.Add(float64(res.Bytes))
	}
}
