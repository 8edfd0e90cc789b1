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
	a.limit = newLimiter(perSecond, b)
}

// Failed logins: a user name may fail failedLoginBurst times at once, then
// once every ten seconds.
const (
	failedLoginRate  = 0.1
	failedLoginBurst = 10
)

func newLimiter(rate, burst float64) *limiter {
	return &limiter{rate: rate, burst: burst, buckets: map[string]*bucket{}}
}

// refill brings key's bucket up to now (l.mu held).
func (l *limiter) refill(key string, now time.Time) *bucket {
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	b.tokens = math.Min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	return b
}

// wait is how long until key's bucket holds a whole token (l.mu held).
func (l *limiter) wait(b *bucket) time.Duration {
	w := time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
	return max(w.Round(time.Millisecond), time.Millisecond)
}

// allow reports, without taking anything, whether key has a token left;
// errRateLimited and the wait when not.
func (l *limiter) allow(key string, now time.Time) (time.Duration, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b := l.refill(key, now); b.tokens < 1 {
		return l.wait(b), ErrRateLimited
	}
	return 0, nil
}

// take spends one of key's tokens. The names it counts are any a caller
// sends (unknown ones too), so the map is emptied when it grows large.
func (l *limiter) take(key string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buckets) > 100_000 {
		clear(l.buckets)
	}
	l.refill(key, now).tokens--
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
	b := l.refill(id.User, now)
	if b.tokens >= 1 {
		b.tokens--
		return 0, nil
	}
	wait := l.wait(b)
	return wait, fmt.Errorf("%w: user %s is over its limit of %g calls a second (burst %g); retry in %s",
		ErrRateLimited, id.User, l.rate, l.burst, wait)
}
