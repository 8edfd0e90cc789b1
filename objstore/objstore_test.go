package objstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lakeflight/lakeflight/internal/errkind"
	"github.com/lakeflight/lakeflight/internal/s3test"
)

// newStore is a Store on a fresh versitygw with its bucket made.
func newStore(t *testing.T) (*Store, *s3test.Server) {
	t.Helper()
	srv := s3test.ForTest(t)
	s, err := New(Config{Endpoint: srv.Endpoint, Region: srv.Region, Bucket: "lake", Prefix: "warehouse",
		AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, Insecure: true, PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := s.Check(ctx); errkind.Of(err) != errkind.NotFound || !strings.Contains(err.Error(), "bucket lake does not exist") {
		t.Fatalf("a missing bucket: %v", err)
	}
	if err := s.MakeBucket(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Check(ctx); err != nil {
		t.Fatal(err)
	}
	return s, srv
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// Objects round-trip through a real S3-compatible server under the
// prefix, large ones in parts; errors say what and where with their kind.
func TestStoreRoundTrip(t *testing.T) {
	s, srv := newStore(t)
	ctx := t.Context()
	small, large := randomBytes(t, 1000), randomBytes(t, 21<<20) // large: more than one 16 MiB part
	if err := s.Put(ctx, "ns/t/data/a.parquet", bytes.NewReader(small), int64(len(small))); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "ns/t/data/b.parquet", bytes.NewReader(large), -1); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][]byte{"ns/t/data/a.parquet": small, "ns/t/data/b.parquet": large} {
		r, info, err := s.Get(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		_ = r.Close()
		if err != nil || !bytes.Equal(got, want) || info.Size != int64(len(want)) {
			t.Fatalf("%s: %d bytes back (info %d), want %d: %v", name, len(got), info.Size, len(want), err)
		}
	}
	// The prefix is a real key prefix on the server.
	if _, err := os.Stat(filepath.Join(srv.Root, "lake", "warehouse", "ns", "t", "data", "a.parquet")); err != nil {
		t.Fatalf("not under the prefix: %v", err)
	}
	list, err := s.List(ctx, "ns/t/")
	if err != nil || len(list) != 2 || list[0].Name != "ns/t/data/a.parquet" || list[1].Size != int64(len(large)) {
		t.Fatalf("list: %+v %v", list, err)
	}
	if err := s.Remove(ctx, "ns/t/data/a.parquet"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Stat(ctx, "ns/t/data/a.parquet"); errkind.Of(err) != errkind.NotFound || !strings.Contains(err.Error(), "ns/t/data/a.parquet") {
		t.Fatalf("stat of a removed object: %v", err)
	}
	if _, _, err := s.Get(ctx, "nope.parquet"); errkind.Of(err) != errkind.NotFound {
		t.Fatalf("get of a missing object: %v", err)
	}

	bad, err := New(Config{Endpoint: srv.Endpoint, Bucket: "lake", AccessKey: srv.AccessKey, SecretKey: "wrong-secret", Insecure: true, PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := bad.Put(ctx, "x", strings.NewReader("x"), 1); errkind.Of(err) != errkind.PermissionDenied || strings.Contains(err.Error(), "wrong-secret") {
		t.Fatalf("wrong credentials: %v", err)
	}
}

// With the server down, calls fail Unavailable after retries; once it is
// back the same Store works.
func TestStoreOutage(t *testing.T) {
	s, srv := newStore(t)
	ctx := t.Context()
	if err := s.Put(ctx, "k", strings.NewReader("v"), 1); err != nil {
		t.Fatal(err)
	}
	if err := srv.Pause(); err != nil {
		t.Fatal(err)
	}
	down, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	start := time.Now()
	_, err := s.Stat(down, "k")
	if errkind.Of(err) != errkind.Unavailable || !strings.Contains(err.Error(), "cannot be reached") {
		t.Fatalf("server down: %v (after %v)", err, time.Since(start))
	}
	if err := srv.Resume(); err != nil {
		t.Fatal(err)
	}
	if info, err := s.Stat(ctx, "k"); err != nil || info.Size != 1 {
		t.Fatalf("after the outage: %+v %v", info, err)
	}
}

// The cache: cold reads fetch, warm ones do not, the bound evicts the least
// recently used copy not in use, copies survive a reopen, and a copy of the
// wrong size is refused.
func TestCache(t *testing.T) {
	s, _ := newStore(t)
	ctx := t.Context()
	obj := map[string][]byte{}
	for i := range 4 {
		name := fmt.Sprintf("t/data/%d.parquet", i)
		obj[name] = randomBytes(t, 1000)
		if err := s.Put(ctx, name, bytes.NewReader(obj[name]), 1000); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	c, err := OpenCache(dir, 3000, s, "s3://lake/warehouse/")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenCache(dir, 3000, s, "s3://lake/warehouse/"); errkind.Of(err) != errkind.FailedPrecondition {
		t.Fatalf("a second process on the cache directory: %v", err)
	}
	names := []string{"t/data/0.parquet", "t/data/1.parquet", "t/data/2.parquet"}
	paths, release, err := c.Acquire(ctx, names, []int64{1000, 1000, 1000}, 1) // one at a time: 0 is the oldest
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range paths {
		if b, err := os.ReadFile(p); err != nil || !bytes.Equal(b, obj[names[i]]) {
			t.Fatalf("copy of %s: %v", names[i], err)
		}
	}
	// Full and all in use: a fourth copy still comes (in use wins), and
	// nothing in use is evicted.
	p3, release3, err := c.Acquire(ctx, []string{"t/data/3.parquet"}, nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range append(paths, p3...) {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("a copy in use was evicted: %v", err)
		}
	}
	if st := c.Stats(); st.Misses != 4 || st.Hits != 0 || st.FetchedBytes != 4000 || st.Evictions != 0 {
		t.Fatalf("cold: %+v", st)
	}
	release() // over the bound: the least recently used copy not in use (0) goes
	st := c.Stats()
	if st.Bytes > 3000 || st.Evictions != 1 {
		t.Fatalf("after release: %+v", st)
	}
	if _, err := os.Stat(paths[0]); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the least recently used copy stayed: %v", err)
	}
	release3()
	// Warm: no fetch.
	if _, rel, err := c.Acquire(ctx, []string{"t/data/2.parquet"}, []int64{1000}, 1); err != nil {
		t.Fatal(err)
	} else {
		rel()
	}
	if st := c.Stats(); st.Hits != 1 || st.Misses != 4 {
		t.Fatalf("warm: %+v", st)
	}

	// A restart keeps the copies; another bucket's run does not take them.
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := OpenCache(dir, 3000, s, "s3://lake/warehouse/")
	if err != nil {
		t.Fatal(err)
	}
	if st := again.Stats(); st.Files != 3 || st.Bytes != 3000 {
		t.Fatalf("reopened: %+v", st)
	}
	if _, rel, err := again.Acquire(ctx, []string{"t/data/3.parquet"}, []int64{1000}, 1); err != nil {
		t.Fatal(err)
	} else {
		rel()
	}
	if st := again.Stats(); st.Hits != 1 || st.Misses != 0 {
		t.Fatalf("reopened, warm: %+v", st)
	}
	// Many readers of one cold object: one fetch.
	cold, err := OpenCache(t.TempDir(), 3000, s, "s3://lake/warehouse/")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, rel, err := cold.Acquire(ctx, []string{"t/data/1.parquet"}, []int64{1000}, 1); err != nil {
				t.Error(err)
			} else {
				rel()
			}
		}()
	}
	wg.Wait()
	if st := cold.Stats(); st.Misses != 1 || st.Hits != 7 || st.FetchedBytes != 1000 {
		t.Fatalf("eight readers of one cold object: %+v", st)
	}
	// The metadata says another size: not the object it names.
	if _, _, err := again.Acquire(ctx, []string{"t/data/0.parquet"}, []int64{999}, 1); errkind.Of(err) != errkind.FailedPrecondition {
		t.Fatalf("a size mismatch: %v", err)
	}
	if _, _, err := again.Acquire(ctx, []string{"t/data/missing.parquet"}, nil, 1); errkind.Of(err) != errkind.NotFound {
		t.Fatalf("a missing object: %v", err)
	}
	if err := again.Close(); err != nil {
		t.Fatal(err)
	}
	other, err := OpenCache(dir, 3000, s, "s3://another-bucket/warehouse/")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if st := other.Stats(); st.Files != 0 {
		t.Fatalf("another bucket's run took the copies: %+v", st)
	}
}

// Locations map to object names under the bucket and prefix; anything
// else is refused.
func TestFilesNames(t *testing.T) {
	s, err := New(Config{Endpoint: "127.0.0.1:1", Bucket: "lake", Prefix: "/wh/", Insecure: true, PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	c, err := OpenCache(t.TempDir(), 100, s, Scope(s))
	if err != nil {
		t.Fatal(err)
	}
	f := NewFiles(s, c, 4)
	if n, err := f.Name("s3://lake/wh/bronze/t/data/a.parquet"); err != nil || n != "bronze/t/data/a.parquet" {
		t.Fatalf("name: %q %v", n, err)
	}
	for _, loc := range []string{"s3://other/wh/x.parquet", "s3://lake/whx/y.parquet", "file:///wh/x.parquet", "s3://lake/wh/"} {
		if _, err := f.Name(loc); errkind.Of(err) != errkind.FailedPrecondition {
			t.Errorf("%s: %v", loc, err)
		}
	}
	want := filepath.Join(c.dir, cacheFileName("s3://lake/wh/bronze/t/data/a.parquet"))
	if got := f.PathSQL("'s3://lake/wh/bronze/t/data/a.parquet'"); !strings.Contains(got, "sha256('s3://lake/wh/bronze/t/data/a.parquet')") {
		t.Fatalf("PathSQL %s (want an expression giving %s)", got, want)
	}
}
