package objstore

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lakeflight/lakeflight/internal/errkind"
)

// Source is where the cache fetches from: a Store.
type Source interface {
	Get(ctx context.Context, name string) (io.ReadCloser, Info, error)
}

// Cache keeps local copies of immutable objects (Iceberg data and delete
// files never change under their name) in one directory, at most MaxBytes
// of them: the least recently used copies not in use go first. Copies
// survive restarts (the directory is scanned at open); each is written
// under a temporary name and renamed only once its size matches the
// object's, so a copy is whole or absent.
type Cache struct {
	dir   string // the copies: <the directory given>/objects
	max   int64
	src   Source
	scope string // what the names are relative to ("s3://bucket/prefix/"): part of each copy's identity
	lock  *os.File

	mu       sync.Mutex
	entries  map[string]*list.Element // by object name
	lru      *list.List               // of *entry, most recently used first
	total    int64
	inflight map[string]*fill

	hits, misses, fetched, evicted atomic.Int64
}

type entry struct {
	name, path string
	size       int64
	refs       int       // holders (Acquire); an entry in use is never evicted
	touched    time.Time // when its file's time last recorded a use
}

// touchEvery bounds how often a hit records its use in the file's time
// (what orders the copies after a restart): binding a 10,000-file table
// must not cost 10,000 system calls each time.
const touchEvery = time.Minute

type fill struct {
	done chan struct{}
	err  error
}

// CacheStats are the cache's counters and size.
type CacheStats struct {
	Hits, Misses, FetchedBytes, Evictions int64
	Bytes, MaxBytes                       int64
	Files                                 int
}

// OpenCache opens (creating) the cache directory dir bounded to maxBytes,
// keeping the copies a previous run left (temporary files of fills that
// never finished are removed). The copies live in dir/objects, which the
// cache owns: one process at a time (a lock file says so). scope names
// where the objects come from ("s3://bucket/prefix/"): a copy left by a
// run on another bucket or prefix is not taken for this one's.
func OpenCache(dir string, maxBytes int64, src Source, scope string) (*Cache, error) {
	if maxBytes <= 0 {
		return nil, errkind.New(errkind.InvalidArgument, fmt.Sprintf("object cache %s: size bound %d must be positive", dir, maxBytes))
	}
	if !filepath.IsAbs(dir) {
		return nil, errkind.New(errkind.InvalidArgument, fmt.Sprintf("object cache %s: not an absolute path", dir))
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	objects := filepath.Join(dir, "objects")
	if err := os.MkdirAll(objects, 0o755); err != nil {
		_ = lock.Close()
		return nil, err
	}
	c := &Cache{dir: objects, max: maxBytes, src: src, scope: scope, lock: lock, entries: map[string]*list.Element{}, lru: list.New(), inflight: map[string]*fill{}}
	dir = objects
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	type found struct {
		e    *entry
		used int64
	}
	var old []found
	for _, de := range des {
		p := filepath.Join(dir, de.Name())
		if strings.HasPrefix(de.Name(), ".fill-") {
			_ = os.Remove(p)
			continue
		}
		if strings.HasSuffix(de.Name(), indexSuffix) {
			if _, err := os.Stat(strings.TrimSuffix(p, indexSuffix)); err != nil {
				_ = os.Remove(p) // its copy is gone
			}
			continue
		}
		key, ok := readIndex(p)
		fi, err := de.Info()
		if err != nil || !de.Type().IsRegular() {
			continue
		}
		name, inScope := strings.CutPrefix(key, scope)
		if !ok || !inScope || filepath.Base(p) != cacheFileName(key) {
			_ = os.Remove(p) // a copy nobody can name, or of another bucket
			_ = os.Remove(p + indexSuffix)
			continue
		}
		old = append(old, found{&entry{name: name, path: p, size: fi.Size()}, fi.ModTime().UnixNano()})
	}
	sort.Slice(old, func(i, j int) bool { return old[i].used > old[j].used })
	for _, f := range old {
		c.entries[f.e.name] = c.lru.PushBack(f.e)
		c.total += f.e.size
	}
	c.mu.Lock()
	c.evictLocked(0)
	c.mu.Unlock()
	return c, nil
}

// Acquire returns local paths of the named objects (sizes: each one's
// expected size, from the Iceberg metadata; -1 when unknown), fetching the
// missing ones, parallel at most at once. The copies stay until release is
// called.
func (c *Cache) Acquire(ctx context.Context, names []string, sizes []int64, parallel int) (paths []string, release func(), err error) {
	paths = make([]string, len(names))
	held := make([]*entry, len(names))
	release = func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, e := range held {
			if e != nil {
				e.refs--
			}
		}
		c.evictLocked(0)
	}
	parallel = max(parallel, 1)
	sem := make(chan struct{}, parallel)
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		want := int64(-1)
		if i < len(sizes) {
			want = sizes[i]
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			held[i], errs[i] = c.get(ctx, name, want)
			if held[i] != nil {
				paths[i] = held[i].path
			}
		}()
	}
	wg.Wait()
	for _, e := range errs {
		if e != nil {
			release()
			return nil, func() {}, e
		}
	}
	return paths, release, nil
}

// get returns name's entry with a reference taken, fetching it if needed.
func (c *Cache) get(ctx context.Context, name string, want int64) (*entry, error) {
	for {
		c.mu.Lock()
		if el, ok := c.entries[name]; ok {
			e := el.Value.(*entry)
			if want < 0 || e.size == want {
				e.refs++
				c.lru.MoveToFront(el)
				now := time.Now()
				touch := now.Sub(e.touched) >= touchEvery
				if touch {
					e.touched = now
				}
				c.mu.Unlock()
				c.hits.Add(1)
				if touch {
					_ = os.Chtimes(e.path, now, now) // the order survives a restart
				}
				return e, nil
			}
			// A copy of another size is not this object: fetch it again,
			// unless it is being read (the new copy would take its path).
			if e.refs > 0 {
				c.mu.Unlock()
				return nil, errkind.New(errkind.FailedPrecondition, fmt.Sprintf(
					"object cache: the copy of %s is %d bytes, the table's metadata says %d, and the copy is in use: retry", name, e.size, want))
			}
			c.removeLocked(el)
		}
		if f, ok := c.inflight[name]; ok {
			c.mu.Unlock()
			select {
			case <-f.done:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			// A fetch its own caller gave up on is no answer for this one.
			gaveUp := errors.Is(f.err, context.Canceled) || errors.Is(f.err, context.DeadlineExceeded)
			if f.err != nil && (!gaveUp || ctx.Err() != nil) {
				return nil, f.err
			}
			continue // it is there now (or its fetcher gave up: fetch it here)
		}
		f := &fill{done: make(chan struct{})}
		c.inflight[name] = f
		c.mu.Unlock()
		c.misses.Add(1)
		e, err := c.fetch(ctx, name, want)
		c.mu.Lock()
		delete(c.inflight, name)
		if err == nil {
			if el, ok := c.entries[name]; ok { // an old copy still in use
				c.removeLocked(el)
			}
			e.refs = 1
			c.entries[name] = c.lru.PushFront(e)
			c.total += e.size
			c.evictLocked(0)
		}
		f.err = err
		close(f.done)
		c.mu.Unlock()
		return e, err
	}
}

// fetch copies name into the directory under a new path.
func (c *Cache) fetch(ctx context.Context, name string, want int64) (*entry, error) {
	r, info, err := c.src.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	defer func() { _ = r.Close() }()
	if want >= 0 && info.Size != want {
		return nil, errkind.New(errkind.FailedPrecondition, fmt.Sprintf("object %s is %d bytes, but the table's metadata says %d: not the file it names", name, info.Size, want))
	}
	tmp, err := os.CreateTemp(c.dir, ".fill-*")
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.Remove(tmp.Name()) }() // gone after the rename
	n, err := io.Copy(tmp, r)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("object cache: copying %s: %w", name, err)
	}
	if n != info.Size {
		return nil, errkind.New(errkind.Unavailable, fmt.Sprintf("object cache: %s came %d bytes short of %d (a broken transfer); retry", name, info.Size-n, info.Size))
	}
	c.fetched.Add(n)
	path := filepath.Join(c.dir, cacheFileName(c.scope+name))
	if err := writeIndex(path, c.scope+name); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return nil, err
	}
	return &entry{name: name, path: path, size: n}, nil
}

// evictLocked drops least recently used copies not in use until the
// total plus room fits the bound.
func (c *Cache) evictLocked(room int64) {
	for el := c.lru.Back(); el != nil && c.total+room > c.max; {
		prev := el.Prev()
		if el.Value.(*entry).refs == 0 {
			c.removeLocked(el)
			c.evicted.Add(1)
		}
		el = prev
	}
}

func (c *Cache) removeLocked(el *list.Element) {
	e := el.Value.(*entry)
	c.lru.Remove(el)
	if cur, ok := c.entries[e.name]; ok && cur == el {
		delete(c.entries, e.name)
	}
	c.total -= e.size
	_ = os.Remove(e.path)
	_ = os.Remove(e.path + indexSuffix)
}

// Stats reports the counters.
func (c *Cache) Stats() CacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return CacheStats{Hits: c.hits.Load(), Misses: c.misses.Load(), FetchedBytes: c.fetched.Load(), Evictions: c.evicted.Load(),
		Bytes: c.total, MaxBytes: c.max, Files: len(c.entries)}
}

// cacheFileName is a copy's file name: a hash of the object's full key
// (scope and name: any length, any characters) with its extension kept
// (DuckDB picks readers by it). Files.PathSQL computes the same in SQL.
func cacheFileName(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:16]) + filepath.Ext(key)
}

// lockDir takes dir's lock file, or fails when another process has it.
func lockDir(dir string) (*os.File, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		return nil, errkind.New(errkind.FailedPrecondition, fmt.Sprintf("object cache %s is in use by another process (each server needs a cache directory of its own)", dir))
	}
	return f, nil
}

// Close gives up the directory's lock (the copies stay for the next run).
func (c *Cache) Close() error { return c.lock.Close() }

// Each copy has a small index file beside it with the object's name, so a
// restart knows what the copies are.
const indexSuffix = ".name"

func writeIndex(path, name string) error {
	return os.WriteFile(path+indexSuffix, []byte(name), 0o644)
}

func readIndex(path string) (string, bool) {
	if strings.HasSuffix(path, indexSuffix) {
		return "", false
	}
	b, err := os.ReadFile(path + indexSuffix)
	if err != nil || len(b) == 0 {
		return "", false
	}
	return string(b), true
}
