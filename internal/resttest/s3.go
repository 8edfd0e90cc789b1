package resttest

import (
	"testing"

	"github.com/lakeflight/lakeflight/internal/s3test"
)

// S3Props are the catalog properties that point the server's S3FileIO at
// an S3-compatible server: endpoint is its URL (http://127.0.0.1:9000),
// region the one it signs for. Buckets are addressed by path, as local
// servers (versitygw, MinIO) want.
//
// client.region is required in practice: without it the AWS SDK looks
// for a region in the environment and the EC2 metadata service, both
// closed to the server (see serverEnv), and S3FileIO fails.
func S3Props(endpoint, region, accessKey, secretKey string) map[string]string {
	return map[string]string{
		"s3.endpoint":          endpoint,
		"s3.path-style-access": "true",
		"s3.access-key-id":     accessKey,
		"s3.secret-access-key": secretKey,
		"client.region":        region,
	}
}

// ForTestS3 starts a server for t whose warehouse is the object store
// location warehouse (s3://bucket/prefix; the bucket must exist) on the
// S3-compatible server s3 (see S3Props), stopped at t's end.
func ForTestS3(t testing.TB, s3 *s3test.Server, warehouse string) *Server {
	t.Helper()
	props := S3Props("http://"+s3.Endpoint, s3.Region, s3.AccessKey, s3.SecretKey)
	return forTest(t, func(dir string) (*Server, error) { return StartWithProps(warehouse, dir, props) })
}
