package auth

import (
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/lakeflight/lakeflight/internal/errkind"
)

// ErrRateLimited: the identity made more calls than its rate allows
// (gRPC ResourceExhausted, HTTP 429 with Retry-After).
var ErrRateLimited = errkind.New(errkind.ResourceExhausted, "rate limited")

// limiter is a token bucket per user: rate calls a second on average,
// burst at once.
type limiter struct {
	rate  float64
	burst float64

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// SetRateLimit bounds each user to perSecond calls a second on average
// and burst at once (burst < 1: perSecond, at least 1); perSecond 0 lifts
// the bound. Call it before serving.
func (a *Authenticator) SetRateLimit(perSecond float64, burst int) {
	if perSecond <= 0 {
		a.limit = nil
		return
	}
	b := float64(burst)
	if b < 1 {
		b = math.Max(1, perSecond)
	}
	a.limit = &limiter{rate: perSecond, burst: b, buckets: map[string]*bucket{}}
}

// Allow takes one call from id's budget; when none is left it returns an
// ErrRateLimited error and how long until one is.
func (a *Authenticator) Allow(id Identity) (time.Duration, error) {
	l := a.limit
	if l == nil {
		return 0, nil
	}
	now := a.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[id.User]
	if !ok {
		if len(l.buckets) > 100_000 {
			clear(l.buckets)
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[id.User] = b
	}
	b.tokens = math.Min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return 0, nil
	}
	wait := time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
	wait = max(wait.Round(time.Millisecond), time.Millisecond)
	return wait, fmt.Errorf("%w: user %s is over its limit of %g calls a second (burst %g); retry in %s",
		ErrRateLimited, id.User, l.rate, l.burst, wait)
}
