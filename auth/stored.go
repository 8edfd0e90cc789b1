package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"github.com/lakeflight/lakeflight/internal/errkind"
)

// TokenStore holds the API tokens made at run time (in the catalog
// database, shared by the replicas).
type TokenStore interface {
	StoredTokens(ctx context.Context) ([]APIToken, error)
}

// How stored tokens are cached: a revocation on any replica takes effect
// everywhere within storedFresh; a token not known yet makes the cache load
// again at most once a second; and when the store has not answered for
// storedStale, stored tokens are refused (the configured ones still work).
const (
	storedFresh    = 5 * time.Second
	storedMissWait = time.Second
	storedStale    = time.Minute
)

// stored is the cache of a TokenStore.
type stored struct {
	store TokenStore

	mu      sync.Mutex
	byHash  map[[32]byte]APIToken
	loaded  time.Time // the last load that succeeded
	tried   time.Time // the last attempt
	lastErr error
}

// SetTokenStore makes API tokens of store valid besides the configured
// ones.
func (a *Authenticator) SetTokenStore(store TokenStore) {
	a.mu.Lock()
	a.stored = &stored{store: store}
	a.mu.Unlock()
}

// Forget drops the cached stored tokens: this process just created or
// revoked one.
func (a *Authenticator) Forget() {
	a.mu.Lock()
	s := a.stored
	a.mu.Unlock()
	if s != nil {
		s.mu.Lock()
		s.loaded, s.tried = time.Time{}, time.Time{}
		s.mu.Unlock()
	}
}

// ConfiguredToken reports whether name is an API token of the
// configuration (it cannot be made or revoked at run time).
func (a *Authenticator) ConfiguredToken(name string) bool {
	for _, t := range a.tokens {
		if t.Name == name {
			return true
		}
	}
	return false
}

// storedToken looks sum up among the stored tokens.
func (a *Authenticator) storedToken(sum [32]byte) (APIToken, bool, error) {
	a.mu.Lock()
	s := a.stored
	a.mu.Unlock()
	if s == nil {
		return APIToken{}, false, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := a.now() // after the lock: a caller that waited sees the load just made
	t, ok := s.byHash[sum]
	// Load again when the cache is old, or when the token is not in it
	// (made on another replica since), but never more than ten times a
	// second, nor more than once a second for unknown tokens.
	refresh := now.Sub(s.loaded) >= storedFresh || (!ok && now.Sub(s.tried) >= storedMissWait)
	if refresh && now.Sub(s.tried) >= storedMissWait/10 {
		s.tried = now
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		list, err := s.store.StoredTokens(ctx)
		cancel()
		s.tried = a.now() // throttle from the attempt's end: a slow store is not asked again at once
		if err == nil {
			s.byHash = make(map[[32]byte]APIToken, len(list))
			for _, st := range list {
				if raw, herr := hex.DecodeString(st.SHA256); herr == nil && len(raw) == sha256.Size {
					s.byHash[[32]byte(raw)] = st
				}
			}
			s.loaded, s.lastErr = now, nil
			t, ok = s.byHash[sum]
		} else {
			s.lastErr = err
		}
	}
	if now.Sub(s.loaded) >= storedStale && s.lastErr != nil {
		return APIToken{}, false, &storeError{err: s.lastErr}
	}
	return t, ok, nil
}

// storeError: the stored tokens cannot be checked.
type storeError struct{ err error }

func (e *storeError) Error() string {
	return fmt.Sprintf("API tokens made at run time cannot be checked: %v", e.err)
}
func (e *storeError) Unwrap() error           { return e.err }
func (e *storeError) ErrorKind() errkind.Kind { return errkind.Unavailable }
