// Package config holds lakeflight's one Config: its embedded defaults, how it
// is read (flags over environment over an optional YAML file over defaults)
// and how it is checked. Library packages never read flags or the
// environment; cmd/lakeflight turns a Config into their options.
package config

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/lakeflight/lakeflight/auth"
	"github.com/lakeflight/lakeflight/internal/tlsconf"
)

// Config is everything `lakeflight serve` can be told.
type Config struct {
	// DataDir holds the SQLite catalog file and the local warehouse.
	DataDir string `yaml:"data_dir"`
	// FlightAddr is where Flight SQL listens.
	FlightAddr string `yaml:"flight_addr"`
	// HTTPAddr is where the HTTP sidecar (health, metrics) listens.
	HTTPAddr string `yaml:"http_addr"`

	// MaxIngestBytes bounds one upload to the sidecar's POST /ingest.
	MaxIngestBytes ByteSize `yaml:"max_ingest_bytes"`
	// MaxIngestDecompressedBytes bounds what the gzip or zstd files of one
	// upload decompress to; 0 means 64 × MaxIngestBytes.
	MaxIngestDecompressedBytes ByteSize `yaml:"max_ingest_decompressed_bytes"`
	// MaxIngestRatio refuses a compressed file that decompresses to more
	// than this many times its size (checked after its first 16 MiB); 0
	// turns the check off.
	MaxIngestRatio int `yaml:"max_ingest_ratio"`

	Catalog CatalogConfig `yaml:"catalog"`
	Auth    AuthConfig    `yaml:"auth"`
	TLS     TLSConfig     `yaml:"tls"`
	S3      S3Config      `yaml:"s3"`
	Cache   CacheConfig   `yaml:"cache"`
	DuckDB  DuckDBConfig  `yaml:"duckdb"`
	DBT     DBTConfig     `yaml:"dbt"`
	// MaxSQLBytes bounds the text of one SQL statement or script a client
	// sends: DuckDB's parser cannot be interrupted, and its time grows
	// faster than the text (40,000 ANDs, 700 KB, parse for 3 s).
	MaxSQLBytes ByteSize `yaml:"max_sql_bytes"`
	// MaxSQLSetOperations and MaxSQLConditions bound the UNION/INTERSECT/
	// EXCEPT and the AND/OR terms of one statement: DuckDB's time on them
	// grows with the square of their count, and it cannot be interrupted.
	MaxSQLSetOperations int `yaml:"max_sql_set_operations"`
	MaxSQLConditions    int `yaml:"max_sql_conditions"`
	// MaxResultColumns bounds the columns of a query result.
	MaxResultColumns int `yaml:"max_result_columns"`
	// MaxResultRowBytes bounds one result row as sent: a row bigger than a
	// gRPC message may be cannot be sliced, and clients refuse messages
	// over their receive limit (16 MiB for the ADBC and Go drivers).
	MaxResultRowBytes ByteSize `yaml:"max_result_row_bytes"`
	// MaxReadRows bounds ?limit= of the sidecar's REST reads.
	MaxReadRows int `yaml:"max_read_rows"`
	// MaxSessions bounds the open Flight SQL sessions (one per client
	// connection, or per cookie).
	MaxSessions int `yaml:"max_sessions"`
	// SessionIdleTimeout is how long a session whose client kept its cookie
	// outlives the client's last connection (and how long an unused
	// prepared statement lives).
	SessionIdleTimeout time.Duration `yaml:"session_idle_timeout"`
	// MaxHeavyQueries bounds the heavy queries (ones whose SQL text last
	// ran at least HeavyQueryThreshold) running at once, so short queries
	// keep cores while long scans run; 0 turns the bound off.
	MaxHeavyQueries int `yaml:"max_heavy_queries"`
	// MaxQueuedHeavyQueries bounds the heavy queries waiting for a turn;
	// one more is refused with RESOURCE_EXHAUSTED.
	MaxQueuedHeavyQueries int `yaml:"max_queued_heavy_queries"`
	// HeavyQueryThreshold is the run time that makes a query text heavy.
	HeavyQueryThreshold time.Duration `yaml:"heavy_query_threshold"`
	// QueryTimeout bounds one query's run (to its last batch sent); 0: no
	// bound. Writes are not bounded by it.
	QueryTimeout time.Duration `yaml:"query_timeout"`
	// MaxQueries bounds the queries streaming at once (0: no bound); more
	// wait, up to MaxQueuedQueries, then RESOURCE_EXHAUSTED.
	MaxQueries       int `yaml:"max_queries"`
	MaxQueuedQueries int `yaml:"max_queued_queries"`

	// ShutdownTimeout bounds graceful shutdown; streams still running after
	// it are cut.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// LogLevel is debug, info, warn or error; LogFormat is text or json.
	// Insecure allows listening on a non-loopback address without
	// authentication (auth.users).
	Insecure bool `yaml:"insecure"`

	LogLevel  string `yaml:"log_level"`
	LogFormat string `yaml:"log_format"`
}

// DBTConfig says how POST /transform runs dbt. Empty fields are found:
// the project is ./dbt when it holds a dbt_project.yml, dbt is the one in
// the repository's Python environment (e2e/.venv, beside the project) or
// else on PATH, and the profile is one lakeflight writes pointing at itself.
type DBTConfig struct {
	ProjectDir  string `yaml:"project_dir"`
	Command     string `yaml:"command"`
	ProfilesDir string `yaml:"profiles_dir"`
}

// AuthConfig is who may connect (auth.users) and how their bearer tokens
// are signed. No users: no authentication (loopback only, or --insecure).
type AuthConfig struct {
	Users     []AuthUser  `yaml:"users"`
	APITokens []AuthToken `yaml:"api_tokens"`
	// TokenSecret signs bearer tokens (at least 32 bytes); servers that
	// share it take each other's tokens. Also LAKEFLIGHT_AUTH_TOKEN_SECRET.
	// Empty: a random secret per process.
	TokenSecret string `yaml:"token_secret"`
	// TokenTTL is how long an issued token is valid (default 1h).
	TokenTTL time.Duration `yaml:"token_ttl"`
	// RateLimit bounds each user's calls (Flight SQL calls and HTTP
	// requests together) a second on average, RateBurst at once (default:
	// RateLimit, at least 1); 0: no bound.
	RateLimit float64 `yaml:"rate_limit"`
	RateBurst int     `yaml:"rate_burst"`
}

// TLSConfig turns on TLS for Flight SQL and the HTTP sidecar (both take the
// same certificate), and mutual TLS when a client CA is given. Empty: both
// speak plaintext.
type TLSConfig struct {
	// CertFile is the PEM certificate chain (leaf first) and KeyFile its
	// key; both are read again when they change (renewal without restart).
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ClientCAFile holds the PEM certificates that sign client
	// certificates; with it every connection must present one (ClientAuth
	// "require", the default) or one is checked when presented
	// ("verify-if-given": health probes without certificates still work).
	ClientCAFile string `yaml:"client_ca_file"`
	ClientAuth   string `yaml:"client_auth"`
}

// S3Config says how to reach an s3:// warehouse (catalog.warehouse
// s3://bucket/prefix). Empty keys: the environment's (AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, a profile, an instance role).
type S3Config struct {
	// Endpoint is host:port of an S3-compatible server (MinIO, versitygw);
	// empty: AWS. Path-style addressing is used with an endpoint.
	Endpoint string `yaml:"endpoint"`
	Region   string `yaml:"region"`
	// AccessKeyID and SecretAccessKey; the secret also from
	// LAKEFLIGHT_S3_SECRET_ACCESS_KEY (never a flag).
	AccessKeyID     string `yaml:"access_key_id"`
	SecretAccessKey string `yaml:"secret_access_key"`
	// Insecure speaks plain HTTP to the endpoint (a local test server).
	Insecure bool `yaml:"insecure"`
}

// CacheConfig bounds the local copies of an s3:// warehouse's files that
// DuckDB reads.
type CacheConfig struct {
	Dir      string   `yaml:"dir"`       // default <data-dir>/cache
	MaxBytes ByteSize `yaml:"max_bytes"` // default 10 GiB
}

// S3Warehouse reports whether the warehouse is in object storage.
func (c Config) S3Warehouse() bool { return strings.HasPrefix(c.Catalog.Warehouse, "s3://") }

// CacheDir is the object cache's directory: configured, or <data-dir>/cache.
func (c Config) CacheDir() string {
	if c.Cache.Dir != "" {
		return c.Cache.Dir
	}
	return filepath.Join(c.DataDir, "cache")
}

// On reports whether the listeners speak TLS.
func (t TLSConfig) On() bool { return t.CertFile != "" }

// AuthToken is one pre-issued API token: the hex SHA-256 of the token
// (lakeflight token create makes both), a name and a role.
type AuthToken struct {
	Name        string `yaml:"name"`
	TokenSHA256 string `yaml:"token_sha256"`
	Role        string `yaml:"role"`
	// Namespaces, if given, are the only namespaces the token may use.
	Namespaces []string `yaml:"namespaces"`
}

// AuthUser is one user: a bcrypt hash of the password (lakeflight
// hash-password makes one) and a role: reader, writer or admin.
type AuthUser struct {
	Name         string `yaml:"name"`
	PasswordHash string `yaml:"password_hash"`
	Role         string `yaml:"role"`
	// Namespaces, if given, are the only namespaces the user may use
	// (a reader of gold only: [gold]).
	Namespaces []string `yaml:"namespaces"`
}

// CatalogConfig says where Iceberg metadata and data live. Empty URI and
// Warehouse mean "inside DataDir".
type CatalogConfig struct {
	Name   string `yaml:"name"`
	Driver string `yaml:"driver"` // sqlite (default), postgres, rest, glue or hive
	// URI is the catalog database (a SQLite file, a postgres:// DSN), for
	// rest the catalog's base URL, for hive the metastore's
	// thrift://host:port; unused by glue.
	URI       string `yaml:"uri"`
	Warehouse string `yaml:"warehouse"`
	// REST says how to talk to a rest catalog.
	REST RESTCatalogConfig `yaml:"rest"`
	// Glue says where AWS Glue's catalog is (driver glue); credentials
	// are the AWS environment's.
	Glue GlueCatalogConfig `yaml:"glue"`
}

// GlueCatalogConfig locates AWS Glue's Data Catalog (catalog.driver glue);
// an endpoint of its own comes from AWS_ENDPOINT_URL_GLUE.
type GlueCatalogConfig struct {
	Region    string `yaml:"region"`     // default: s3.region, else the AWS environment's
	CatalogID string `yaml:"catalog_id"` // default: the caller's account
}

// RESTCatalogConfig holds the credentials and options of an external
// Iceberg REST catalog (catalog.driver rest).
type RESTCatalogConfig struct {
	// Token is a bearer token for the catalog (also
	// LAKEFLIGHT_CATALOG_TOKEN); Credential is "client_id:client_secret"
	// for OAuth2's client-credentials flow (also
	// LAKEFLIGHT_CATALOG_CREDENTIAL), with Scope. Never flags.
	Token      string `yaml:"token"`
	Credential string `yaml:"credential"`
	Scope      string `yaml:"scope"`
	// Warehouse is what the client names as its warehouse to the catalog
	// (a Polaris catalog, a Lakekeeper warehouse); default
	// catalog.warehouse.
	Warehouse string `yaml:"warehouse"`
	// Prefix overrides the URL prefix the catalog's config returns.
	Prefix string `yaml:"prefix"`
	// SigV4 signs requests with AWS credentials (Glue's REST endpoint,
	// https://glue.<region>.amazonaws.com/iceberg, with signing_name glue).
	SigV4         bool   `yaml:"sigv4"`
	SigningRegion string `yaml:"signing_region"`
	SigningName   string `yaml:"signing_name"`
}

// DuckDBConfig tunes the embedded DuckDB.
type DuckDBConfig struct {
	MemoryLimit   string `yaml:"memory_limit"`
	Threads       int    `yaml:"threads"`
	TempDirectory string `yaml:"temp_directory"`
	BatchRows     int    `yaml:"batch_rows"`
}

// Default returns the embedded defaults: everything under ./lakeflight-data,
// Flight SQL on 127.0.0.1:31337, HTTP on 127.0.0.1:8080.
func Default() Config {
	return Config{
		DataDir:    "lakeflight-data",
		FlightAddr: "127.0.0.1:31337",
		HTTPAddr:   "127.0.0.1:8080",
		// 1 GiB: large enough for a day of logs, small enough that one
		// upload cannot fill a small disk with spooled Parquet.
		MaxIngestBytes: 1 << 30,
		// Decompressed bytes default to 64 × MaxIngestBytes (see
		// IngestDecompressedLimit); 1000:1 is beyond deflate and any real
		// CSV or JSON, within reach of a bomb.
		MaxIngestRatio: 1000,
		Catalog: CatalogConfig{
			Name:   "lakehouse",
			Driver: "sqlite",
		},
		DuckDB:              DuckDBConfig{BatchRows: 65536},
		Cache:               CacheConfig{MaxBytes: 10 << 30},
		MaxSQLBytes:         1 << 20,
		MaxSQLSetOperations: 1000,
		MaxSQLConditions:    20000,
		MaxResultColumns:    10000,
		MaxResultRowBytes:   16 << 20,
		MaxReadRows:         100_000,
		MaxSessions:         2048,
		SessionIdleTimeout:  30 * time.Minute,
		// No bound by default: classing queries by their last run time
		// misfires under overload (docs/benchmarks-load.md, Findings).
		MaxHeavyQueries:       0,
		MaxQueuedHeavyQueries: 64,
		MaxQueuedQueries:      256,
		HeavyQueryThreshold:   500 * time.Millisecond,
		ShutdownTimeout:       15 * time.Second,
		LogLevel:              "info",
		LogFormat:             "text",
	}
}

// CatalogURI is the catalog database: the configured URI or
// <data-dir>/catalog.db. The catalog file sits outside the warehouse on
// purpose: client SQL may read the warehouse, never the catalog.
func (c Config) CatalogURI() string {
	if c.Catalog.URI != "" {
		return c.Catalog.URI
	}
	return filepath.Join(c.DataDir, "catalog.db")
}

// WarehouseDir is the configured warehouse or <data-dir>/warehouse.
func (c Config) WarehouseDir() string {
	if c.Catalog.Warehouse != "" {
		return c.Catalog.Warehouse
	}
	return filepath.Join(c.DataDir, "warehouse")
}

// IngestDecompressedLimit is MaxIngestDecompressedBytes, or 64 ×
// MaxIngestBytes when that is 0.
func (c Config) IngestDecompressedLimit() ByteSize {
	if c.MaxIngestDecompressedBytes > 0 {
		return c.MaxIngestDecompressedBytes
	}
	return 64 * c.MaxIngestBytes
}

// TempDir is DuckDB's spill directory: configured, or <data-dir>/tmp.
func (c Config) TempDir() string {
	if c.DuckDB.TempDirectory != "" {
		return c.DuckDB.TempDirectory
	}
	return filepath.Join(c.DataDir, "tmp")
}

// Validate reports every problem at once, each naming the setting.
func (c Config) Validate() error {
	var errs []error
	for i, u := range c.Auth.Users {
		if _, err := auth.ParseRole(u.Role); err != nil {
			errs = append(errs, fmt.Errorf("auth.users[%d] (%s): %w", i, u.Name, err))
		}
		if err := checkGrants(u.Namespaces); err != nil {
			errs = append(errs, fmt.Errorf("auth.users[%d] (%s): %w", i, u.Name, err))
		}
	}
	for i, tk := range c.Auth.APITokens {
		if _, err := auth.ParseRole(tk.Role); err != nil {
			errs = append(errs, fmt.Errorf("auth.api_tokens[%d] (%s): %w", i, tk.Name, err))
		}
		if err := checkGrants(tk.Namespaces); err != nil {
			errs = append(errs, fmt.Errorf("auth.api_tokens[%d] (%s): %w", i, tk.Name, err))
		}
	}
	if s := c.Auth.TokenSecret; s != "" && len(s) < auth.MinSecretBytes {
		errs = append(errs, fmt.Errorf("auth.token_secret: %d bytes; want at least %d (random, e.g. openssl rand -hex 32)", len(s), auth.MinSecretBytes))
	}
	switch {
	case c.Auth.RateLimit < 0 || c.Auth.RateBurst < 0:
		errs = append(errs, fmt.Errorf("auth.rate_limit %g and auth.rate_burst %d: neither may be negative", c.Auth.RateLimit, c.Auth.RateBurst))
	case c.Auth.RateBurst > 0 && c.Auth.RateLimit == 0:
		errs = append(errs, fmt.Errorf("auth.rate_burst %d without auth.rate_limit: a burst needs a rate (calls a second)", c.Auth.RateBurst))
	}
	if c.Auth.TokenTTL < 0 {
		errs = append(errs, fmt.Errorf("auth.token_ttl: %s is negative", c.Auth.TokenTTL))
	}
	switch {
	case (c.TLS.CertFile == "") != (c.TLS.KeyFile == ""):
		errs = append(errs, errors.New("tls.cert_file and tls.key_file: give both (a certificate and its key) or neither"))
	case c.TLS.ClientCAFile != "" && !c.TLS.On():
		errs = append(errs, errors.New("tls.client_ca_file: client certificates need TLS (tls.cert_file and tls.key_file)"))
	}
	if _, err := tlsconf.ParseClientAuth(c.TLS.ClientAuth); err != nil {
		errs = append(errs, fmt.Errorf("tls.client_auth: %w", err))
	} else if c.TLS.ClientAuth != "" && c.TLS.ClientCAFile == "" {
		errs = append(errs, fmt.Errorf("tls.client_auth %q: needs tls.client_ca_file", c.TLS.ClientAuth))
	}
	if !c.S3Warehouse() && (c.S3 != S3Config{}) {
		errs = append(errs, fmt.Errorf("s3: settings given, but the warehouse %q is not s3://bucket/prefix", c.Catalog.Warehouse))
	}
	if c.S3Warehouse() {
		if b, _, _ := strings.Cut(strings.TrimPrefix(c.Catalog.Warehouse, "s3://"), "/"); b == "" {
			errs = append(errs, fmt.Errorf("catalog.warehouse: %q names no bucket", c.Catalog.Warehouse))
		}
		if (c.S3.AccessKeyID == "") != (c.S3.SecretAccessKey == "") {
			errs = append(errs, errors.New("s3.access_key_id and s3.secret_access_key: give both or neither (neither: the AWS environment's)"))
		}
	}
	if c.Cache.MaxBytes <= 0 {
		errs = append(errs, fmt.Errorf("cache.max_bytes: %d must be positive", c.Cache.MaxBytes))
	}
	if strings.TrimSpace(c.DataDir) == "" {
		errs = append(errs, errors.New("data_dir: must not be empty"))
	}
	for name, addr := range map[string]string{"flight_addr": c.FlightAddr, "http_addr": c.HTTPAddr} {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not host:port: %w", name, addr, err))
		}
	}
	if c.FlightAddr == c.HTTPAddr && !strings.HasSuffix(c.FlightAddr, ":0") {
		errs = append(errs, fmt.Errorf("flight_addr and http_addr: both are %q", c.FlightAddr))
	}
	switch c.Catalog.Driver {
	case "sqlite":
	case "postgres":
		if c.Catalog.URI == "" {
			errs = append(errs, errors.New("catalog.uri: required for the postgres driver"))
		}
	case "rest":
		if u := c.Catalog.URI; !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			errs = append(errs, fmt.Errorf("catalog.uri: %q is not the http:// or https:// URL the rest driver needs", u))
		}
		if c.Catalog.REST.Token != "" && c.Catalog.REST.Credential != "" {
			errs = append(errs, errors.New("catalog.rest.token and catalog.rest.credential: give one or neither"))
		}
		if c.Catalog.REST.SigV4 && (c.Catalog.REST.Token != "" || c.Catalog.REST.Credential != "") {
			errs = append(errs, errors.New("catalog.rest.sigv4: signs with AWS credentials; give no token or credential with it"))
		}
		if !c.Catalog.REST.SigV4 && (c.Catalog.REST.SigningRegion != "" || c.Catalog.REST.SigningName != "") {
			errs = append(errs, errors.New("catalog.rest.signing_region and signing_name: need catalog.rest.sigv4"))
		}
	case "hive":
		if !strings.HasPrefix(c.Catalog.URI, "thrift://") {
			errs = append(errs, fmt.Errorf("catalog.uri: %q is not the thrift://host:port the hive driver needs", c.Catalog.URI))
		}
	case "glue":
		if c.Catalog.URI != "" {
			errs = append(errs, errors.New("catalog.uri: the glue driver takes none (AWS_ENDPOINT_URL_GLUE names an endpoint of Glue's own)"))
		}
	default:
		errs = append(errs, fmt.Errorf("catalog.driver: %q is not sqlite, postgres, rest, glue or hive", c.Catalog.Driver))
	}
	if c.Catalog.Driver != "glue" && c.Catalog.Glue != (GlueCatalogConfig{}) {
		errs = append(errs, fmt.Errorf("catalog.glue: settings given, but the catalog driver is %q, not glue", c.Catalog.Driver))
	}
	if c.Catalog.Driver != "rest" && c.Catalog.REST != (RESTCatalogConfig{}) {
		errs = append(errs, fmt.Errorf("catalog.rest: settings given, but the catalog driver is %q, not rest", c.Catalog.Driver))
	}
	if c.Catalog.Name == "" || strings.Contains(c.Catalog.Name, ".") {
		errs = append(errs, fmt.Errorf("catalog.name: %q must be non-empty and contain no dot", c.Catalog.Name))
	}
	if c.DuckDB.Threads < 0 {
		errs = append(errs, fmt.Errorf("duckdb.threads: %d is negative", c.DuckDB.Threads))
	}
	if c.DuckDB.BatchRows < 2048 || c.DuckDB.BatchRows > 1<<22 {
		errs = append(errs, fmt.Errorf("duckdb.batch_rows: %d is outside 2048..4194304", c.DuckDB.BatchRows))
	}
	if c.MaxIngestBytes <= 0 {
		errs = append(errs, fmt.Errorf("max_ingest_bytes: %d must be positive", c.MaxIngestBytes))
	}
	if c.MaxSessions <= 0 {
		errs = append(errs, fmt.Errorf("max_sessions: %d must be positive", c.MaxSessions))
	}
	if c.MaxSQLBytes <= 0 {
		errs = append(errs, fmt.Errorf("max_sql_bytes: %d must be positive", c.MaxSQLBytes))
	}
	for _, l := range []struct {
		name string
		n    int64
	}{
		{"max_sql_set_operations", int64(c.MaxSQLSetOperations)},
		{"max_sql_conditions", int64(c.MaxSQLConditions)},
		{"max_result_columns", int64(c.MaxResultColumns)},
		{"max_result_row_bytes", int64(c.MaxResultRowBytes)},
		{"max_read_rows", int64(c.MaxReadRows)},
	} {
		if l.n <= 0 {
			errs = append(errs, fmt.Errorf("%s: %d must be positive", l.name, l.n))
		}
	}
	if c.MaxIngestDecompressedBytes < 0 {
		errs = append(errs, fmt.Errorf("max_ingest_decompressed_bytes: %d is negative", c.MaxIngestDecompressedBytes))
	}
	if c.MaxIngestRatio < 0 {
		errs = append(errs, fmt.Errorf("max_ingest_ratio: %d is negative (0 turns the check off)", c.MaxIngestRatio))
	}
	if c.MaxHeavyQueries < 0 {
		errs = append(errs, fmt.Errorf("max_heavy_queries: %d must be 0 (no bound) or positive", c.MaxHeavyQueries))
	}
	if c.MaxQueuedHeavyQueries <= 0 {
		errs = append(errs, fmt.Errorf("max_queued_heavy_queries: %d must be positive", c.MaxQueuedHeavyQueries))
	}
	if c.HeavyQueryThreshold <= 0 {
		errs = append(errs, fmt.Errorf("heavy_query_threshold: %s must be positive", c.HeavyQueryThreshold))
	}
	if c.MaxQueries < 0 {
		errs = append(errs, fmt.Errorf("max_queries: %d must be 0 (no bound) or positive", c.MaxQueries))
	}
	if c.MaxQueuedQueries <= 0 {
		errs = append(errs, fmt.Errorf("max_queued_queries: %d must be positive", c.MaxQueuedQueries))
	}
	if c.QueryTimeout < 0 {
		errs = append(errs, fmt.Errorf("query_timeout: %s is negative (0: no bound)", c.QueryTimeout))
	}
	if c.SessionIdleTimeout <= 0 {
		errs = append(errs, fmt.Errorf("session_idle_timeout: %s must be positive", c.SessionIdleTimeout))
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, fmt.Errorf("shutdown_timeout: %s must be positive", c.ShutdownTimeout))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log_level: %q is not debug, info, warn or error", c.LogLevel))
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		errs = append(errs, fmt.Errorf("log_format: %q is not text or json", c.LogFormat))
	}
	return errors.Join(errs...)
}

// checkGrants checks a namespaces list: absent (all namespaces) or names.
func checkGrants(ns []string) error {
	if ns != nil && len(ns) == 0 {
		return errors.New("namespaces: [] grants no namespace; leave it out to grant every namespace")
	}
	for _, n := range ns {
		if strings.TrimSpace(n) == "" || strings.Contains(n, ".") {
			return fmt.Errorf("namespaces: %q is not a namespace name", n)
		}
	}
	return nil
}

// AuthOn reports whether clients must authenticate (auth.users or
// auth.api_tokens is set).
func (c Config) AuthOn() bool { return len(c.Auth.Users)+len(c.Auth.APITokens) > 0 }

// Exposed lists the listen addresses that are not loopback-only (an empty
// host, 0.0.0.0 or ::, a host name that resolves to any other address),
// where anyone who can reach the machine can connect. A host name that
// does not resolve counts as exposed.
func (c Config) Exposed() []string {
	var out []string
	for _, addr := range []string{c.FlightAddr, c.HTTPAddr} {
		if !loopbackOnly(addr) {
			out = append(out, addr)
		}
	}
	return out
}

func loopbackOnly(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return false
	}
	if ip := net.ParseIP(host); ip != nil {
		return ip.IsLoopback()
	}
	ips, err := net.LookupIP(host)
	if err != nil || len(ips) == 0 {
		return false
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return false
		}
	}
	return true
}
