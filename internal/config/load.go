package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// setting is one knob reachable by flag and by environment variable.
type setting struct {
	flag  string
	usage string
	set   func(c *Config, v string) error
}

// switches are the settings given as a bare --flag (true), or
// --flag=false; their environment variables take true/false, 1/0.
var switches = map[string]bool{"insecure": true, "s3-insecure": true}

func settings() []setting {
	str := func(f func(c *Config) *string) func(*Config, string) error {
		return func(c *Config, v string) error { *f(c) = v; return nil }
	}
	return []setting{
		{"data-dir", "directory for the catalog database and the local warehouse", str(func(c *Config) *string { return &c.DataDir })},
		{"flight-addr", "Flight SQL listen address (host:port)", str(func(c *Config) *string { return &c.FlightAddr })},
		{"http-addr", "HTTP sidecar listen address (host:port)", str(func(c *Config) *string { return &c.HTTPAddr })},
		{"catalog-name", "Iceberg catalog name, also the DuckDB catalog of the tables", str(func(c *Config) *string { return &c.Catalog.Name })},
		{"catalog-driver", "catalog: sqlite or postgres (a database), rest (an Iceberg REST catalog at --catalog-uri), glue (AWS Glue) or hive (a Hive Metastore at --catalog-uri)", str(func(c *Config) *string { return &c.Catalog.Driver })},
		{"catalog-uri", "catalog database DSN (default <data-dir>/catalog.db), a rest catalog's URL or a hive metastore's thrift://host:port", str(func(c *Config) *string { return &c.Catalog.URI })},
		{"warehouse", "warehouse location (default <data-dir>/warehouse)", str(func(c *Config) *string { return &c.Catalog.Warehouse })},
		{"dbt-project-dir", "dbt project POST /transform builds (default ./dbt when it holds dbt_project.yml)", str(func(c *Config) *string { return &c.DBT.ProjectDir })},
		{"dbt-command", "dbt executable (default: <project>/../e2e/.venv/bin/dbt if present, else dbt on PATH)", str(func(c *Config) *string { return &c.DBT.Command })},
		{"dbt-profiles-dir", "directory of the dbt profiles.yml (default: one lakeflight writes, pointing at itself)", str(func(c *Config) *string { return &c.DBT.ProfilesDir })},
		{"memory-limit", "DuckDB memory_limit, e.g. 4GB (default: DuckDB's)", str(func(c *Config) *string { return &c.DuckDB.MemoryLimit })},
		{"threads", "DuckDB threads (default: all cores)", func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			c.DuckDB.Threads = n
			return err
		}},
		{"temp-directory", "DuckDB spill directory (default <data-dir>/tmp)", str(func(c *Config) *string { return &c.DuckDB.TempDirectory })},
		{"batch-rows", "rows per Arrow batch sent to clients", func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			c.DuckDB.BatchRows = n
			return err
		}},
		{"max-ingest-bytes", "largest upload POST /ingest accepts, e.g. 1GiB or 500MB", func(c *Config, v string) error {
			n, err := ParseByteSize(v)
			c.MaxIngestBytes = n
			return err
		}},
		{"max-sql-bytes", "largest SQL text (statement or script) a client may send, e.g. 1MiB", func(c *Config, v string) error {
			n, err := ParseByteSize(v)
			c.MaxSQLBytes = n
			return err
		}},
		{"max-sql-set-operations", "most UNION/INTERSECT/EXCEPT in one SQL statement", func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			c.MaxSQLSetOperations = n
			return err
		}},
		{"max-sql-conditions", "most AND/OR terms in one SQL statement", func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			c.MaxSQLConditions = n
			return err
		}},
		{"max-result-columns", "most columns a query result may have", func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			c.MaxResultColumns = n
			return err
		}},
		{"max-result-row-bytes", "largest single result row sent to a client, e.g. 16MiB", func(c *Config, v string) error {
			n, err := ParseByteSize(v)
			c.MaxResultRowBytes = n
			return err
		}},
		{"max-read-rows", "largest ?limit= of a REST read (GET /query, /v1/tables/…/rows)", func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			c.MaxReadRows = n
			return err
		}},
		{"max-sessions", "most Flight SQL sessions open at once (one per client connection or cookie)", func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			c.MaxSessions = n
			return err
		}},
		{"max-ingest-decompressed-bytes", "most a POST /ingest's gzip/zstd files may decompress to, e.g. 64GiB (default 64 × max-ingest-bytes)", func(c *Config, v string) error {
			n, err := ParseByteSize(v)
			c.MaxIngestDecompressedBytes = n
			return err
		}},
		{"max-ingest-ratio", "refuse a compressed upload that decompresses to more than this many times its size (0: no check)", func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			c.MaxIngestRatio = n
			return err
		}},
		{"max-heavy-queries", "most heavy queries streaming at once (0, the default: no bound)", func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			c.MaxHeavyQueries = n
			return err
		}},
		{"max-queued-heavy-queries", "most heavy queries waiting for a turn; one more is RESOURCE_EXHAUSTED", func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			c.MaxQueuedHeavyQueries = n
			return err
		}},
		{"heavy-query-threshold", "a query whose SQL text last ran at least this long is heavy, e.g. 500ms", func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			c.HeavyQueryThreshold = d
			return err
		}},
		{"max-queries", "most queries streaming at once; more wait in line (0, the default: no bound)", func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			c.MaxQueries = n
			return err
		}},
		{"max-queued-queries", "most queries waiting for a turn under --max-queries; one more is RESOURCE_EXHAUSTED", func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			c.MaxQueuedQueries = n
			return err
		}},
		{"query-timeout", "stop a query (DEADLINE_EXCEEDED) that runs longer than this, e.g. 10m (0, the default: no bound)", func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			c.QueryTimeout = d
			return err
		}},
		{"session-idle-timeout", "how long a cookie session outlives its client's last connection, e.g. 30m", func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			c.SessionIdleTimeout = d
			return err
		}},
		{"shutdown-timeout", "bound on graceful shutdown, e.g. 15s", func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			c.ShutdownTimeout = d
			return err
		}},
		{"s3-endpoint", "host:port of the S3-compatible server of an s3:// warehouse (empty: AWS)", str(func(c *Config) *string { return &c.S3.Endpoint })},
		{"s3-region", "region of an s3:// warehouse's bucket", str(func(c *Config) *string { return &c.S3.Region })},
		{"s3-access-key-id", "access key of an s3:// warehouse (the secret: LAKEFLIGHT_S3_SECRET_ACCESS_KEY or the config file)", str(func(c *Config) *string { return &c.S3.AccessKeyID })},
		{"s3-insecure", "speak plain HTTP to --s3-endpoint (a local test server)", func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			c.S3.Insecure = b
			return err
		}},
		{"cache-dir", "local copies of an s3:// warehouse's files (default <data-dir>/cache)", str(func(c *Config) *string { return &c.Cache.Dir })},
		{"cache-max-bytes", "most the local copies may take, e.g. 10GiB", func(c *Config, v string) error {
			n, err := ParseByteSize(v)
			c.Cache.MaxBytes = n
			return err
		}},
		{"tls-cert-file", "PEM certificate (chain) for TLS on Flight SQL and HTTP; with --tls-key-file turns TLS on", str(func(c *Config) *string { return &c.TLS.CertFile })},
		{"tls-key-file", "PEM private key of --tls-cert-file", str(func(c *Config) *string { return &c.TLS.KeyFile })},
		{"tls-client-ca-file", "PEM CA certificates of accepted client certificates (mutual TLS)", str(func(c *Config) *string { return &c.TLS.ClientCAFile })},
		{"tls-client-auth", "with a client CA: require (default) or verify-if-given", str(func(c *Config) *string { return &c.TLS.ClientAuth })},
		{"insecure", "serve on a non-loopback address without authentication (auth.users): anyone who reaches it may read and change every table", func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			c.Insecure = b
			return err
		}},
		{"log-level", "debug, info, warn or error", str(func(c *Config) *string { return &c.LogLevel })},
		{"log-format", "text or json", str(func(c *Config) *string { return &c.LogFormat })},
	}
}

// envName turns a flag name into its environment variable: data-dir →
// LAKEFLIGHT_DATA_DIR.
func envName(flagName string) string {
	return "LAKEFLIGHT_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Load reads the configuration for `lakeflight serve`: defaults, then the
// YAML file named by --config or LAKEFLIGHT_CONFIG, then LAKEFLIGHT_*
// variables, then flags. It does not validate; call Validate.
func Load(args []string, getenv func(string) string, usageOut io.Writer) (Config, error) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(usageOut)
	configFile := fs.String("config", getenv("LAKEFLIGHT_CONFIG"), "optional YAML config file (env LAKEFLIGHT_CONFIG)")
	all := settings()
	for _, s := range all {
		if switches[s.flag] {
			fs.Bool(s.flag, false, s.usage+" (env "+envName(s.flag)+")")
		} else {
			fs.String(s.flag, "", s.usage+" (env "+envName(s.flag)+")")
		}
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}

	cfg := Default()
	if *configFile != "" {
		if err := readFile(*configFile, &cfg); err != nil {
			return Config{}, err
		}
	}
	for _, s := range all {
		if v := getenv(envName(s.flag)); v != "" {
			if err := s.set(&cfg, v); err != nil {
				return Config{}, fmt.Errorf("%s=%q: %w", envName(s.flag), v, err)
			}
		}
	}
	// The token secret is no flag (a command line is visible to every
	// user of the machine): the file or the environment only.
	if v := getenv("LAKEFLIGHT_S3_SECRET_ACCESS_KEY"); v != "" {
		cfg.S3.SecretAccessKey = v
	}
	if v := getenv("LAKEFLIGHT_CATALOG_TOKEN"); v != "" {
		cfg.Catalog.REST.Token = v
	}
	if v := getenv("LAKEFLIGHT_CATALOG_CREDENTIAL"); v != "" {
		cfg.Catalog.REST.Credential = v
	}
	if v := getenv("LAKEFLIGHT_AUTH_TOKEN_SECRET"); v != "" {
		cfg.Auth.TokenSecret = v
	}
	var errs []error
	fs.Visit(func(f *flag.Flag) {
		for _, s := range all {
			if s.flag == f.Name {
				if err := s.set(&cfg, f.Value.String()); err != nil {
					errs = append(errs, fmt.Errorf("--%s=%q: %w", s.flag, f.Value.String(), err))
				}
			}
		}
	})
	return cfg, errors.Join(errs...)
}

func readFile(path string, cfg *Config) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading config file: %w", err)
	}
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("parsing config file %s: %w", path, err)
	}
	return nil
}
