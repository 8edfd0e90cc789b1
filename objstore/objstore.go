// Package objstore is lakeflight's own work on S3-compatible object
// storage, through minio-go: checking the bucket (start-up, /ready),
// reading, listing, writing and removing objects under a prefix, and a
// local, size-bounded cache of immutable objects (cache.go) that DuckDB,
// which cannot read s3:// here, reads instead. Iceberg table files
// themselves are written by iceberg-go's IO.
//
// Errors carry their kind (internal/errkind): a missing object is NotFound,
// an unreachable or failing server Unavailable (after minio-go's retries
// with backoff, 10 by default),
// refused credentials PermissionDenied.
package objstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/lakeflight/lakeflight/internal/errkind"
)

// Config says where the objects are.
type Config struct {
	// Endpoint is host[:port] of the S3 API (empty: AWS's regional one).
	Endpoint string
	// Region of the bucket (default us-east-1).
	Region string
	Bucket string
	// Prefix is the key prefix every key is under ("warehouse/"); empty:
	// the bucket's root.
	Prefix string
	// AccessKey and SecretKey; both empty: the environment's
	// (AWS_ACCESS_KEY_ID, …, or an instance role) through minio-go's chain.
	AccessKey, SecretKey string
	// Insecure speaks plain HTTP (a local test server); PathStyle addresses
	// buckets as endpoint/bucket (MinIO, versitygw) rather than as hosts.
	Insecure  bool
	PathStyle bool
}

// Store is one bucket and prefix.
type Store struct {
	cfg Config
	c   *minio.Client
}

// New builds a Store; it does not connect (Check does).
func New(cfg Config) (*Store, error) {
	if cfg.Bucket == "" {
		return nil, errkind.New(errkind.InvalidArgument, "object store: no bucket")
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	endpoint := cfg.Endpoint
	if endpoint == "" {
		endpoint = "s3." + cfg.Region + ".amazonaws.com"
	}
	var creds *credentials.Credentials
	if cfg.AccessKey != "" || cfg.SecretKey != "" {
		creds = credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, "")
	} else {
		creds = credentials.NewChainCredentials([]credentials.Provider{
			&credentials.EnvAWS{}, &credentials.EnvMinio{}, &credentials.FileAWSCredentials{}, &credentials.IAM{},
		})
	}
	lookup := minio.BucketLookupAuto
	if cfg.PathStyle {
		lookup = minio.BucketLookupPath
	}
	c, err := minio.New(endpoint, &minio.Options{Creds: creds, Secure: !cfg.Insecure, Region: cfg.Region, BucketLookup: lookup})
	if err != nil {
		return nil, errkind.New(errkind.InvalidArgument, fmt.Sprintf("object store endpoint %q: %v", endpoint, err))
	}
	if p := strings.Trim(cfg.Prefix, "/"); p != "" {
		cfg.Prefix = p + "/"
	}
	return &Store{cfg: cfg, c: c}, nil
}

// String names the store for messages: s3://bucket/prefix at endpoint.
func (s *Store) String() string {
	return fmt.Sprintf("s3://%s/%s at %s", s.cfg.Bucket, s.cfg.Prefix, s.c.EndpointURL().Host)
}

// Key is the object key of name under the prefix.
func (s *Store) Key(name string) string { return s.cfg.Prefix + strings.TrimPrefix(name, "/") }

// Check reports whether the bucket exists and the credentials reach it.
func (s *Store) Check(ctx context.Context) error {
	ok, err := s.c.BucketExists(ctx, s.cfg.Bucket)
	if err != nil {
		return s.fail("checking the bucket", "", err)
	}
	if !ok {
		return errkind.New(errkind.NotFound, fmt.Sprintf("object store %s: bucket %s does not exist", s, s.cfg.Bucket))
	}
	return nil
}

// MakeBucket creates the bucket (tests, first-time setup).
func (s *Store) MakeBucket(ctx context.Context) error {
	if err := s.c.MakeBucket(ctx, s.cfg.Bucket, minio.MakeBucketOptions{Region: s.cfg.Region}); err != nil {
		return s.fail("creating the bucket", "", err)
	}
	return nil
}

// Info is what Stat and List tell of an object.
type Info struct {
	Name string // the key under the prefix
	Size int64
	ETag string
}

// Put writes name from r (size bytes; -1: unknown), in parts when large.
func (s *Store) Put(ctx context.Context, name string, r io.Reader, size int64) error {
	_, err := s.c.PutObject(ctx, s.cfg.Bucket, s.Key(name), r, size, minio.PutObjectOptions{ContentType: "application/octet-stream"})
	return s.fail("writing", name, err)
}

// Get opens name for reading; its Info comes first (a missing object fails
// here, not at the first read).
func (s *Store) Get(ctx context.Context, name string) (io.ReadCloser, Info, error) {
	o, err := s.c.GetObject(ctx, s.cfg.Bucket, s.Key(name), minio.GetObjectOptions{})
	if err != nil {
		return nil, Info{}, s.fail("reading", name, err)
	}
	st, err := o.Stat()
	if err != nil {
		_ = o.Close()
		return nil, Info{}, s.fail("reading", name, err)
	}
	return o, Info{Name: name, Size: st.Size, ETag: st.ETag}, nil
}

// Stat describes name.
func (s *Store) Stat(ctx context.Context, name string) (Info, error) {
	st, err := s.c.StatObject(ctx, s.cfg.Bucket, s.Key(name), minio.StatObjectOptions{})
	if err != nil {
		return Info{}, s.fail("describing", name, err)
	}
	return Info{Name: name, Size: st.Size, ETag: st.ETag}, nil
}

// List names the objects under prefix (relative to the store's prefix),
// recursively.
func (s *Store) List(ctx context.Context, prefix string) ([]Info, error) {
	var out []Info
	for o := range s.c.ListObjects(ctx, s.cfg.Bucket, minio.ListObjectsOptions{Prefix: s.Key(prefix), Recursive: true}) {
		if o.Err != nil {
			return nil, s.fail("listing", prefix, o.Err)
		}
		out = append(out, Info{Name: strings.TrimPrefix(o.Key, s.cfg.Prefix), Size: o.Size, ETag: o.ETag})
	}
	return out, nil
}

// Remove deletes name; a missing object is no error (already gone).
func (s *Store) Remove(ctx context.Context, name string) error {
	return s.fail("removing", name, s.c.RemoveObject(ctx, s.cfg.Bucket, s.Key(name), minio.RemoveObjectOptions{}))
}

// fail gives err its kind and says what was done to which object where.
func (s *Store) fail(doing, name string, err error) error {
	if err == nil {
		return nil
	}
	what := fmt.Sprintf("object store %s: %s", s, doing)
	if name != "" {
		what += " " + name
	}
	resp := minio.ToErrorResponse(err)
	var urlErr *url.Error
	switch {
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: %w", what, err)
	case resp.Code == "NoSuchKey" || resp.Code == "NoSuchBucket" || resp.StatusCode == 404:
		return &kindError{errkind.NotFound, fmt.Sprintf("%s: not found (%s)", what, orCode(resp))}
	case resp.Code == "AccessDenied" || resp.Code == "InvalidAccessKeyId" || resp.Code == "SignatureDoesNotMatch" || resp.StatusCode == 403:
		return &kindError{errkind.PermissionDenied, fmt.Sprintf("%s: refused (%s): check the credentials and the bucket policy", what, orCode(resp))}
	case errors.As(err, &urlErr) || resp.StatusCode >= 500 || resp.StatusCode == 0:
		return &kindError{errkind.Unavailable, fmt.Sprintf("%s: the object store cannot be reached or failed, after retries: %v", what, err)}
	}
	return &kindError{errkind.Internal, fmt.Sprintf("%s: %v", what, err)}
}

func orCode(r minio.ErrorResponse) string {
	if r.Code != "" {
		return r.Code
	}
	return fmt.Sprintf("HTTP %d", r.StatusCode)
}

// kindError is an object-store error with its kind.
type kindError struct {
	kind errkind.Kind
	msg  string
}

func (e *kindError) Error() string           { return e.msg }
func (e *kindError) ErrorKind() errkind.Kind { return e.kind }
