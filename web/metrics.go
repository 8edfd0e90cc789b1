package web

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
)

// httpMetrics counts the sidecar's requests by route, method and status:
// the error rate of /ingest, /transform and the reads, and 401s and 429s.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// register adds the sidecar's metrics to reg: its requests, and
// lakeflight_ready, which runs the readiness checks at each scrape.
func (s *Server) register(reg prometheus.Registerer) error {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "lakeflight", Subsystem: "http", Name: "requests_total",
			Help: "HTTP requests answered, by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "lakeflight", Subsystem: "http", Name: "request_duration_seconds",
			Help:    "Time to answer one HTTP request (an upload's whole body included), by route pattern and method.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
		}, []string{"route", "method"}),
	}
	ready := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "lakeflight_ready",
		Help: "1 when GET /ready would answer 200 (started, not stopping, every dependency answering), else 0; checked at each scrape.",
	}, func() float64 {
		if body, _ := s.check(context.Background()); body.Status == "ready" { // each check has its timeout
			return 1
		}
		return 0
	})
	for _, c := range []prometheus.Collector{m.requests, m.duration, ready} {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("registering http metrics: %w", err)
		}
	}
	s.metrics = m
	return nil
}

// count is the middleware that counts each request once its answer is
// written. It hands an error to the error handler itself, so that the
// status it counts is the one the client got.
func (s *Server) count(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		if err := next(c); err != nil {
			c.Error(err)
		}
		route := c.Path() // the route's pattern; empty when none matched
		if route == "" {
			route = "unmatched" // a path no route has: not a label of its own
		}
		method := c.Request().Method
		s.metrics.requests.WithLabelValues(route, method, strconv.Itoa(c.Response().Status)).Inc()
		s.metrics.duration.WithLabelValues(route, method).Observe(time.Since(start).Seconds())
		return nil
	}
}
