package config

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDefaultsAreValid(t *testing.T) {
	cfg, err := Load(nil, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	if cfg.FlightAddr != "127.0.0.1:31337" || cfg.HTTPAddr != "127.0.0.1:8080" || cfg.DataDir != "lakeflight-data" {
		t.Fatalf("unexpected defaults: %+v", cfg)
	}
	if got := cfg.CatalogURI(); got != filepath.Join("lakeflight-data", "catalog.db") {
		t.Fatalf("catalog uri %q", got)
	}
	if got := cfg.WarehouseDir(); got != filepath.Join("lakeflight-data", "warehouse") {
		t.Fatalf("warehouse %q", got)
	}
}

func TestPrecedenceFlagsOverEnvOverFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "lakeflight.yaml")
	body := "data_dir: /from/file\nflight_addr: 127.0.0.1:1111\nhttp_addr: 127.0.0.1:2222\nduckdb:\n  threads: 3\nshutdown_timeout: 7s\n"
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"LAKEFLIGHT_CONFIG":      file,
		"LAKEFLIGHT_FLIGHT_ADDR": "127.0.0.1:3333",
		"LAKEFLIGHT_HTTP_ADDR":   "127.0.0.1:4444",
	}
	cfg, err := Load([]string{"--http-addr", "127.0.0.1:5555"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DataDir != "/from/file" || cfg.DuckDB.Threads != 3 || cfg.ShutdownTimeout != 7*time.Second {
		t.Fatalf("file values not applied: %+v", cfg)
	}
	if cfg.FlightAddr != "127.0.0.1:3333" {
		t.Fatalf("env should beat file, got %q", cfg.FlightAddr)
	}
	if cfg.HTTPAddr != "127.0.0.1:5555" {
		t.Fatalf("flag should beat env, got %q", cfg.HTTPAddr)
	}
}

func TestUnknownFileKeyIsAnError(t *testing.T) {
	file := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(file, []byte("flight_adr: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load([]string{"--config", file}, func(string) string { return "" }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "flight_adr") {
		t.Fatalf("want error naming the unknown key, got %v", err)
	}
}

func TestValidateNamesEverySetting(t *testing.T) {
	cfg := Default()
	cfg.FlightAddr = "nohost"
	cfg.Catalog.Driver = "mysql"
	cfg.DuckDB.BatchRows = 10
	cfg.LogLevel = "loud"
	err := cfg.Validate()
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{"flight_addr", "catalog.driver", "duckdb.batch_rows", "log_level"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

func TestBadEnvNumber(t *testing.T) {
	_, err := Load(nil, func(k string) string {
		if k == "LAKEFLIGHT_THREADS" {
			return "many"
		}
		return ""
	}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "LAKEFLIGHT_THREADS") {
		t.Fatalf("want error naming LAKEFLIGHT_THREADS, got %v", err)
	}
}

func TestMaxIngestBytes(t *testing.T) {
	if got := Default().MaxIngestBytes; got != 1<<30 {
		t.Fatalf("default %d, want 1 GiB", got)
	}
	for in, want := range map[string]ByteSize{"1048576": 1 << 20, "1GiB": 1 << 30, "500MB": 500e6, "64 KiB": 64 << 10, "2g": 2 << 30} {
		got, err := ParseByteSize(in)
		if err != nil || got != want {
			t.Errorf("%q: %d %v, want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "lots", "-1", "1XB"} {
		if _, err := ParseByteSize(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}

	file := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(file, []byte("max_ingest_bytes: 256MiB\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load([]string{"--config", file}, func(string) string { return "" }, io.Discard)
	if err != nil || cfg.MaxIngestBytes != 256<<20 {
		t.Fatalf("from file: %d %v", cfg.MaxIngestBytes, err)
	}
	cfg, err = Load([]string{"--config", file}, func(k string) string {
		if k == "LAKEFLIGHT_MAX_INGEST_BYTES" {
			return "2GiB"
		}
		return ""
	}, io.Discard)
	if err != nil || cfg.MaxIngestBytes != 2<<30 {
		t.Fatalf("env over file: %d %v", cfg.MaxIngestBytes, err)
	}
	cfg, err = Load([]string{"--max-ingest-bytes", "10MB"}, func(string) string { return "" }, io.Discard)
	if err != nil || cfg.MaxIngestBytes != 10e6 {
		t.Fatalf("flag: %d %v", cfg.MaxIngestBytes, err)
	}
	if _, err := Load([]string{"--max-ingest-bytes", "big"}, func(string) string { return "" }, io.Discard); err == nil || !strings.Contains(err.Error(), "max-ingest-bytes") {
		t.Fatalf("bad flag: %v", err)
	}
	cfg = Default()
	cfg.MaxIngestBytes = 0
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "max_ingest_bytes") {
		t.Fatalf("validate: %v", err)
	}
}

func TestMaxSQLBytes(t *testing.T) {
	if got := Default().MaxSQLBytes; got != 1<<20 {
		t.Fatalf("default %d, want 1 MiB", got)
	}
	cfg, err := Load([]string{"--max-sql-bytes", "4MiB"}, func(string) string { return "" }, io.Discard)
	if err != nil || cfg.MaxSQLBytes != 4<<20 {
		t.Fatalf("flag: %d %v", cfg.MaxSQLBytes, err)
	}
	cfg, err = Load(nil, func(k string) string {
		if k == "LAKEFLIGHT_MAX_SQL_BYTES" {
			return "64KiB"
		}
		return ""
	}, io.Discard)
	if err != nil || cfg.MaxSQLBytes != 64<<10 {
		t.Fatalf("env: %d %v", cfg.MaxSQLBytes, err)
	}
}

func TestMaxSessions(t *testing.T) {
	if got := Default().MaxSessions; got != 2048 {
		t.Fatalf("default %d", got)
	}
	cfg, err := Load([]string{"--max-sessions", "10"}, func(string) string { return "" }, io.Discard)
	if err != nil || cfg.MaxSessions != 10 {
		t.Fatalf("flag: %d %v", cfg.MaxSessions, err)
	}
	cfg, err = Load([]string{"--max-sessions", "0"}, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "max_sessions") {
		t.Fatalf("--max-sessions 0: %v", err)
	}
}

func TestMaxIngestDecompressed(t *testing.T) {
	cfg := Default()
	if got := cfg.IngestDecompressedLimit(); got != 64<<30 {
		t.Fatalf("default %d, want 64 × 1 GiB", got)
	}
	if cfg.MaxIngestRatio != 1000 {
		t.Fatalf("default ratio %d, want 1000", cfg.MaxIngestRatio)
	}
	file := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(file, []byte("max_ingest_bytes: 1MiB\nmax_ingest_decompressed_bytes: 8GiB\nmax_ingest_ratio: 50\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load([]string{"--config", file}, func(string) string { return "" }, io.Discard)
	if err != nil || cfg.IngestDecompressedLimit() != 8<<30 || cfg.MaxIngestRatio != 50 {
		t.Fatalf("from file: %d %d %v", cfg.IngestDecompressedLimit(), cfg.MaxIngestRatio, err)
	}
	env := func(k string) string {
		return map[string]string{"LAKEFLIGHT_MAX_INGEST_DECOMPRESSED_BYTES": "2GiB", "LAKEFLIGHT_MAX_INGEST_RATIO": "0"}[k]
	}
	cfg, err = Load([]string{"--config", file}, env, io.Discard)
	if err != nil || cfg.IngestDecompressedLimit() != 2<<30 || cfg.MaxIngestRatio != 0 {
		t.Fatalf("env over file: %d %d %v", cfg.IngestDecompressedLimit(), cfg.MaxIngestRatio, err)
	}
	cfg, err = Load([]string{"--max-ingest-bytes", "10MB", "--max-ingest-ratio", "200"}, func(string) string { return "" }, io.Discard)
	if err != nil || cfg.IngestDecompressedLimit() != 640e6 || cfg.MaxIngestRatio != 200 {
		t.Fatalf("flag: %d %d %v", cfg.IngestDecompressedLimit(), cfg.MaxIngestRatio, err)
	}
	if _, err := Load([]string{"--max-ingest-decompressed-bytes", "huge"}, func(string) string { return "" }, io.Discard); err == nil || !strings.Contains(err.Error(), "max-ingest-decompressed-bytes") {
		t.Fatalf("bad flag: %v", err)
	}
	cfg = Default()
	cfg.MaxIngestDecompressedBytes, cfg.MaxIngestRatio = -1, -1
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "max_ingest_decompressed_bytes") || !strings.Contains(err.Error(), "max_ingest_ratio") {
		t.Fatalf("validate: %v", err)
	}
}

// The SQL shape and result limits: defaults, flags, environment, YAML, and
// zero refused by Validate.
func TestShapeLimits(t *testing.T) {
	d := Default()
	if d.MaxReadRows != 100_000 {
		t.Fatalf("default max read rows %d", d.MaxReadRows)
	}
	if n, err := Load([]string{"--max-read-rows", "50"}, func(string) string { return "" }, io.Discard); err != nil || n.MaxReadRows != 50 {
		t.Fatalf("--max-read-rows 50: %d %v", n.MaxReadRows, err)
	}
	zero := Default()
	zero.MaxReadRows = 0
	if err := zero.Validate(); err == nil || !strings.Contains(err.Error(), "max_read_rows") {
		t.Fatalf("max_read_rows 0: %v", err)
	}
	if d.MaxSQLSetOperations != 1000 || d.MaxSQLConditions != 20000 || d.MaxResultColumns != 10000 || d.MaxResultRowBytes != 16<<20 {
		t.Fatalf("defaults: %d %d %d %d", d.MaxSQLSetOperations, d.MaxSQLConditions, d.MaxResultColumns, d.MaxResultRowBytes)
	}
	cfg, err := Load([]string{"--max-sql-set-operations", "5", "--max-sql-conditions", "6", "--max-result-columns", "7"},
		func(k string) string {
			if k == "LAKEFLIGHT_MAX_RESULT_ROW_BYTES" {
				return "2MiB"
			}
			return ""
		}, io.Discard)
	if err != nil || cfg.MaxSQLSetOperations != 5 || cfg.MaxSQLConditions != 6 || cfg.MaxResultColumns != 7 || cfg.MaxResultRowBytes != 2<<20 {
		t.Fatalf("flags and env: %+v %v", cfg, err)
	}
	for _, f := range []string{"max-sql-set-operations", "max-sql-conditions", "max-result-columns", "max-result-row-bytes"} {
		cfg, err := Load([]string{"--" + f, "0"}, func(string) string { return "" }, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		want := strings.ReplaceAll(f, "-", "_")
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("--%s 0: %v", f, err)
		}
	}
	path := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(path, []byte("max_sql_conditions: 9\nmax_result_row_bytes: 1MiB\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err = Load([]string{"--config", path}, func(string) string { return "" }, io.Discard)
	if err != nil || cfg.MaxSQLConditions != 9 || cfg.MaxResultRowBytes != 1<<20 {
		t.Fatalf("yaml: %d %d %v", cfg.MaxSQLConditions, cfg.MaxResultRowBytes, err)
	}
}

func TestHeavyQueries(t *testing.T) {
	d := Default()
	if d.MaxHeavyQueries != 0 || d.MaxQueuedHeavyQueries != 64 || d.HeavyQueryThreshold != 500*time.Millisecond {
		t.Fatalf("defaults %d %d %s", d.MaxHeavyQueries, d.MaxQueuedHeavyQueries, d.HeavyQueryThreshold)
	}
	env := func(k string) string {
		return map[string]string{"LAKEFLIGHT_HEAVY_QUERY_THRESHOLD": "2s"}[k]
	}
	cfg, err := Load([]string{"--max-heavy-queries", "2", "--max-queued-heavy-queries", "5"}, env, io.Discard)
	if err != nil || cfg.MaxHeavyQueries != 2 || cfg.MaxQueuedHeavyQueries != 5 || cfg.HeavyQueryThreshold != 2*time.Second {
		t.Fatalf("flags and env: %+v %v", cfg, err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"--max-heavy-queries", "-1"}, {"--max-queued-heavy-queries", "0"}, {"--heavy-query-threshold", "0s"}} {
		cfg, err := Load(args, func(string) string { return "" }, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if err := cfg.Validate(); err == nil {
			t.Fatalf("%v: want a validation error", args)
		}
	}
}

func TestExposedAndInsecure(t *testing.T) {
	cfg := Default()
	if got := cfg.Exposed(); len(got) != 0 {
		t.Fatalf("the defaults are exposed: %v", got)
	}
	for addr, exposed := range map[string]bool{
		"127.0.0.1:1": false, "[::1]:1": false, "localhost:1": false, "127.0.0.2:1": false,
		"0.0.0.0:1": true, ":1": true, "[::]:1": true, "10.1.2.3:1": true, "no-such-host.invalid:1": true,
	} {
		cfg.FlightAddr = addr
		if got := len(cfg.Exposed()) == 1; got != exposed {
			t.Errorf("%s: exposed %v, want %v", addr, got, exposed)
		}
	}
	for _, args := range [][]string{{"--insecure"}, {"--insecure=true"}} {
		c, err := Load(args, func(string) string { return "" }, io.Discard)
		if err != nil || !c.Insecure {
			t.Errorf("%v: insecure %v (%v)", args, c.Insecure, err)
		}
	}
	c, err := Load(nil, func(k string) string {
		if k == "LAKEFLIGHT_INSECURE" {
			return "1"
		}
		return ""
	}, io.Discard)
	if err != nil || !c.Insecure {
		t.Errorf("LAKEFLIGHT_INSECURE=1: insecure %v (%v)", c.Insecure, err)
	}
	if c, err := Load([]string{"--insecure=maybe"}, func(string) string { return "" }, io.Discard); err == nil {
		t.Errorf("--insecure=maybe accepted: %+v", c.Insecure)
	}
}

func TestAuthSettingsAreChecked(t *testing.T) {
	for _, c := range []struct {
		edit func(*Config)
		msg  string
	}{
		{func(c *Config) { c.Auth.Users = []AuthUser{{Name: "a", PasswordHash: "x", Role: "root"}} }, `role "root"`},
		{func(c *Config) { c.Auth.APITokens = []AuthToken{{Name: "t", TokenSHA256: "x", Role: ""}} }, "auth.api_tokens[0] (t)"},
		{func(c *Config) { c.Auth.TokenSecret = "short" }, "at least 32"},
		{func(c *Config) { c.Auth.RateBurst = 5 }, "burst needs a rate"},
		{func(c *Config) { c.Auth.RateLimit = -1 }, "negative"},
		{func(c *Config) {
			c.Auth.Users = []AuthUser{{Name: "g", PasswordHash: "x", Role: "reader", Namespaces: []string{}}}
		}, "grants no namespace"},
		{func(c *Config) {
			c.Auth.APITokens = []AuthToken{{Name: "t", TokenSHA256: "x", Role: "reader", Namespaces: []string{"a.b"}}}
		}, `"a.b" is not a namespace`},
	} {
		cfg := Default()
		c.edit(&cfg)
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%v, want an error saying %q", err, c.msg)
		}
	}
	cfg := Default()
	cfg.Auth.Users = []AuthUser{{Name: "a", PasswordHash: "x", Role: "Admin"}}
	if err := cfg.Validate(); err != nil {
		t.Errorf("role Admin (any case, as the server reads it): %v", err)
	}
}

func TestTLSSettingsAreChecked(t *testing.T) {
	for _, c := range []struct {
		edit func(*Config)
		msg  string
	}{
		{func(c *Config) { c.TLS.CertFile = "s.crt" }, "give both"},
		{func(c *Config) { c.TLS.KeyFile = "s.key" }, "give both"},
		{func(c *Config) { c.TLS.ClientCAFile = "ca.crt" }, "client certificates need TLS"},
		{func(c *Config) { c.TLS = TLSConfig{CertFile: "s.crt", KeyFile: "s.key", ClientAuth: "require"} }, "needs tls.client_ca_file"},
		{func(c *Config) {
			c.TLS = TLSConfig{CertFile: "s.crt", KeyFile: "s.key", ClientCAFile: "ca.crt", ClientAuth: "optional"}
		}, `client_auth "optional"`},
	} {
		cfg := Default()
		c.edit(&cfg)
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%v, want an error saying %q", err, c.msg)
		}
	}
	cfg, err := Load([]string{"--tls-cert-file", "s.crt", "--tls-key-file", "s.key", "--tls-client-ca-file", "ca.crt",
		"--tls-client-auth", "verify-if-given"}, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil || !cfg.TLS.On() || cfg.TLS.ClientAuth != "verify-if-given" {
		t.Fatalf("flags: %+v %v", cfg.TLS, err)
	}
}

func TestS3SettingsAreChecked(t *testing.T) {
	for _, c := range []struct {
		edit func(*Config)
		msg  string
	}{
		{func(c *Config) { c.S3.Endpoint = "127.0.0.1:9000" }, "is not s3://bucket/prefix"},
		{func(c *Config) { c.Catalog.Warehouse = "s3:///wh" }, "names no bucket"},
		{func(c *Config) { c.Catalog.Warehouse, c.S3.AccessKeyID = "s3://lake/wh", "ak" }, "give both or neither"},
		{func(c *Config) { c.Cache.MaxBytes = 0 }, "cache.max_bytes"},
	} {
		cfg := Default()
		c.edit(&cfg)
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%v, want an error saying %q", err, c.msg)
		}
	}
	cfg, err := Load([]string{"--warehouse", "s3://lake/wh", "--s3-endpoint", "127.0.0.1:9000", "--s3-insecure", "--s3-access-key-id", "ak"},
		func(k string) string {
			if k == "LAKEFLIGHT_S3_SECRET_ACCESS_KEY" {
				return "sk"
			}
			return ""
		}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil || !cfg.S3Warehouse() || !cfg.S3.Insecure || cfg.S3.SecretAccessKey != "sk" || cfg.CacheDir() != "lakeflight-data/cache" {
		t.Fatalf("flags: %+v %v", cfg.S3, err)
	}
}

func TestRESTCatalogSettingsAreChecked(t *testing.T) {
	cases := []struct {
		edit func(*Config)
		msg  string
	}{
		{func(c *Config) { c.Catalog.Driver = "rest" }, "http:// or https:// URL"},
		{func(c *Config) { c.Catalog.Driver, c.Catalog.URI = "rest", "thrift://hms:9083" }, "http:// or https:// URL"},
		{func(c *Config) {
			c.Catalog.Driver, c.Catalog.URI = "rest", "http://127.0.0.1:8181"
			c.Catalog.REST.Token, c.Catalog.REST.Credential = "t", "id:secret"
		}, "give one or neither"},
		{func(c *Config) { c.Catalog.REST.Warehouse = "wh" }, `catalog driver is "sqlite", not rest`},
		{func(c *Config) {
			c.Catalog.Driver, c.Catalog.URI = "rest", "https://glue.eu-west-1.amazonaws.com/iceberg"
			c.Catalog.REST.SigV4, c.Catalog.REST.Token = true, "t"
		}, "give no token or credential"},
		{func(c *Config) {
			c.Catalog.Driver, c.Catalog.URI = "rest", "http://127.0.0.1:8181"
			c.Catalog.REST.SigningName = "glue"
		}, "need catalog.rest.sigv4"},
		{func(c *Config) { c.Catalog.Driver = "hive" }, "thrift://host:port"},
		{func(c *Config) { c.Catalog.Driver, c.Catalog.URI = "glue", "http://x" }, "the glue driver takes none"},
		{func(c *Config) { c.Catalog.Glue.Region = "eu-west-1" }, `catalog driver is "sqlite", not glue`},
	}
	for _, c := range cases {
		cfg := Default()
		c.edit(&cfg)
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%v, want an error saying %q", err, c.msg)
		}
	}
	// The secrets come from the file or the environment, never a flag.
	cfg, err := Load([]string{"--catalog-driver", "rest", "--catalog-uri", "http://127.0.0.1:8181/"},
		func(k string) string {
			if k == "LAKEFLIGHT_CATALOG_CREDENTIAL" {
				return "client:secret"
			}
			return ""
		}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil || cfg.Catalog.REST.Credential != "client:secret" || cfg.Catalog.URI != "http://127.0.0.1:8181/" {
		t.Fatalf("flags: %+v %v", cfg.Catalog, err)
	}
}
