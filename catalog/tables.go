package catalog

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/iceberg-go"
	icecat "github.com/apache/iceberg-go/catalog"
	iceio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"
	"github.com/google/uuid"
)

// commitRetries is how often a commit that lost the compare-and-swap on the
// metadata location is replayed on the fresh metadata, with iceberg-go's
// backoff between tries. Java's default of 4 was not enough for replicas
// appending to one table in an object-store warehouse, where a commit's
// metadata writes take longer: one replica lost five races in a row to the
// other (e2e/test_concurrency.py, postgres+s3).
const commitRetries = 10

// tableProperties are set on every table lakeflight creates.
func tableProperties() iceberg.Properties {
	return iceberg.Properties{
		table.PropertyFormatVersion: "2",   // DuckDB cannot read v3 deletion vectors
		table.ParquetCompressionKey: "lz4", // layout.go says why
		table.CommitNumRetriesKey:   strconv.Itoa(commitRetries),
		// Metadata that stays small whatever the number of commits (as
		// Iceberg's Java writers keep it by default): appends merge small
		// manifests, so a manifest list does not grow by one manifest a
		// commit, and each commit deletes metadata files past the last 10.
		// Without them 1,000 hourly appends of 3,600 rows left 382 MB of
		// metadata for 36 MB of data (bench/snapbench, meta).
		table.ManifestMergeEnabledKey:             "true",
		table.MetadataDeleteAfterCommitEnabledKey: "true",
		table.MetadataPreviousVersionsMaxKey:      strconv.Itoa(previousMetadataFiles),
	}
}

// previousMetadataFiles is how many earlier metadata files a table keeps.
const previousMetadataFiles = 10

// IcebergSchema converts an Arrow schema to an Iceberg schema with fresh
// field ids (1..n, depth first). Nullable Arrow fields become optional.
func IcebergSchema(schema *arrow.Schema) (*iceberg.Schema, error) {
	sc, err := table.ArrowSchemaToIcebergWithFreshIDs(schema, true)
	if err != nil {
		return nil, fmt.Errorf("converting arrow schema: %w", err)
	}
	return sc, nil
}

// MaxColumns bounds a table's top-level columns. The schema is written into
// every manifest's Avro metadata, where about 20,000 columns no longer fit
// (measured: 16,000 commit, 20,000 fail inside iceberg-go).
const MaxColumns = 10000

// CreateOption is a setting of a table CreateTable makes.
type CreateOption func(*createOptions)

type createOptions struct {
	partitionBy string
	pending     bool // created by a write that commits its rows next (pending.go)
}

// PartitionedBy partitions the new table by clause, the terms of a
// PARTITIONED BY (…) clause (ParsePartitionSpec); "" leaves it
// unpartitioned.
func PartitionedBy(clause string) CreateOption {
	return func(o *createOptions) { o.partitionBy = clause }
}

// CreateTable creates an empty table with the given schema, unpartitioned
// unless an option says otherwise. The namespace must exist (see
// EnsureNamespace).
func (c *Catalog) CreateTable(ctx context.Context, id Ident, schema *arrow.Schema, options ...CreateOption) error {
	var co createOptions
	for _, o := range options {
		o(&co)
	}
	if err := id.validate(); err != nil {
		return err
	}
	if err := c.checkRemoteName(id); err != nil {
		return err
	}
	if n := schema.NumFields(); n > MaxColumns {
		return fmt.Errorf("%w: table %s would have %d columns; a table has at most %d (its schema must fit the metadata of every data file's manifest)",
			ErrInvalidArgument, id, n, MaxColumns)
	}
	sc, err := IcebergSchema(schema)
	if err != nil {
		return fmt.Errorf("creating table %s: %w", id, err)
	}
	if err := checkSchemaNesting(id, sc); err != nil {
		return err
	}
	props := tableProperties()
	if co.pending {
		props[PropPending] = pendingValue()
	}
	opts := []icecat.CreateTableOpt{icecat.WithProperties(props)}
	partitioned := ""
	if co.partitionBy != "" {
		spec, err := ParsePartitionSpec(co.partitionBy, sc)
		if err != nil {
			return fmt.Errorf("creating table %s: %w", id, err)
		}
		opts = append(opts, icecat.WithPartitionSpec(&spec))
		partitioned = spec.String()
	}
	if loc, ok := c.freshLocation(id); ok {
		opts = append(opts, icecat.WithLocation(loc))
	}
	if c.remote() {
		// Some REST catalogs (Java's JDBC catalog among them) let a new
		// table make its namespace; lakeflight's never do.
		if ok, err := c.ice.CheckNamespaceExists(ctx, table.Identifier{id.Namespace}); err != nil {
			return fmt.Errorf("creating table %s: %w", id, err)
		} else if !ok {
			return fmt.Errorf("creating table %s: %w: %s", id, ErrNoSuchNamespace, id.Namespace)
		}
		if err := c.nameFree(ctx, id); err != nil { // a view's name is a 409 too
			return fmt.Errorf("creating table %s: %w", id, err)
		}
	}
	if _, err := c.ice.CreateTable(ctx, id.iceberg(), sc, opts...); err != nil {
		return fmt.Errorf("creating table %s: %w", id, err)
	}
	c.log.Info("table created", "table", id.String(), "fields", len(sc.Fields()), "partitioned_by", partitioned)
	return nil
}

// freshLocation is a location for a new table when its default one,
// <warehouse>/<namespace>.db/<name>, will not do, and ok false when it will
// (or the warehouse is not local and the catalog is not rest):
//   - the default directory already holds files: those of a table renamed
//     away from the name (whose files stay where they are). Sharing a
//     directory would let one table's orphan-file removal, or drop, take the
//     other's files;
//   - the name holds characters a location would have to escape (%, spaces,
//     non-ASCII): a location is a URL, and readers differ on unescaping it
//     (iceberg-go refuses a bare %, pyiceberg looks for the escaped path).
//     The directory gets the name with each such character as '_'.
//
// Either way a random suffix keeps the directory the table's own. With a
// rest catalog every table gets a location (the catalog's default one need
// not be in lakeflight's warehouse), always with the suffix. In an
// object-store warehouse every table gets one: looking whether a prefix
// holds objects is a listing, and a renamed table's objects stay where they
// are, so without the suffix a table made under its old name would share
// them (and dropping either would remove both).
func (c *Catalog) freshLocation(id Ident) (string, bool) {
	dir := c.WarehouseDir()
	ns, name := pathSafe(id.Namespace), pathSafe(id.Name)
	if dir == "" {
		if !strings.HasPrefix(c.warehouse, "s3://") {
			return "", false
		}
		return strings.TrimSuffix(c.warehouse, "/") + "/" + ns + ".db/" + name + "-" + uuid.NewString()[:8], true
	}
	rel := ns + ".db/" + name
	if ns == id.Namespace && name == id.Name && !c.remote() {
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(rel))); err != nil {
			return "", false
		}
	}
	return strings.TrimSuffix(c.warehouse, "/") + "/" + rel + "-" + uuid.NewString()[:8], true
}

// pathSafe is name with every character but ASCII letters, digits, '_' and
// '-' replaced by '_'.
func pathSafe(name string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-':
			return r
		}
		return '_'
	}, name)
}

// LoadTable loads the table's current metadata from the catalog. The table
// is committed through this catalog, so transactions on it work.
func (c *Catalog) LoadTable(ctx context.Context, id Ident) (*table.Table, error) {
	if err := id.validate(); err != nil {
		return nil, err
	}
	tbl, err := committer{c.ice}.LoadTable(ctx, id.iceberg())
	if err != nil {
		return nil, fmt.Errorf("loading table %s: %w", id, err)
	}
	return tbl, nil
}

// DropTable removes the table from the catalog, then its directory from a
// local warehouse (data, metadata and any file a failed write left): no
// snapshot of a dropped table can be read again. A query still reading it
// fails on a missing file rather than reading anything else.
func (c *Catalog) DropTable(ctx context.Context, id Ident) error {
	if err := id.validate(); err != nil {
		return err
	}
	mu := c.tableLock(id)
	mu.Lock()
	defer mu.Unlock()
	if c.remote() {
		// A view's name is no table's (a Hive Metastore would say "not an
		// Iceberg table").
		if kind, _, err := c.objectAt(ctx, id); err != nil {
			return fmt.Errorf("dropping table %s: %w", id, err)
		} else if kind != objTable {
			return fmt.Errorf("dropping table %s: %w", id, ErrNoSuchTable)
		}
	}
	dir := c.tableDir(ctx, id)
	if err := c.ice.DropTable(ctx, id.iceberg()); err != nil {
		return fmt.Errorf("dropping table %s: %w", id, err)
	}
	c.log.Info("table dropped", "table", id.String())
	c.purge(id, dir)
	return nil
}

// tableDir is the local directory of the table's files, "" when it has none
// lakeflight may remove: a location outside the local warehouse, or not of
// the shape lakeflight gives tables (<warehouse>/<namespace>.db/<name>…),
// is never touched. Table and namespace names hold no '.' or '/', so two
// tables' directories never nest, and CreateTable gives a new table a fresh
// directory when the default one is taken (by a renamed table, which keeps
// its directory), so no two tables share one.
func (c *Catalog) tableDir(ctx context.Context, id Ident) string {
	tbl, err := c.LoadTable(ctx, id)
	if err != nil {
		return ""
	}
	if c.remote() && !madeHere(tbl.Location()) {
		// Other engines share an external catalog, and theirs put tables
		// at <warehouse>/<namespace>.db/<name> too (a renamed table's
		// files stay there): only a directory lakeflight named itself is
		// removed.
		return ""
	}
	if loc := tbl.Location(); LocalPath(loc) == "" {
		// An object-store warehouse: the location itself, when it has the
		// shape lakeflight gives it (<warehouse>/<namespace>.db/<name>…).
		rest, ok := strings.CutPrefix(loc, c.warehouse+"/")
		ns, name, _ := strings.Cut(rest, "/")
		if !ok || !strings.HasSuffix(ns, ".db") || ns == ".db" || name == "" || strings.Contains(name, "/") || name == ".." || name == "." {
			return ""
		}
		return loc
	}
	dir := LocalPath(tbl.Location())
	if _, ok := c.ownDir(dir); !ok {
		return ""
	}
	return dir
}

// ownDir reports whether dir has the shape lakeflight gives the directory
// of a table or view, <warehouse>/<namespace>.db/<name>…, inside the local
// warehouse, and returns that last part.
func (c *Catalog) ownDir(dir string) (name string, ok bool) {
	wh := c.WarehouseDir()
	if wh == "" || dir == "" || !filepath.IsAbs(dir) {
		return "", false
	}
	rel, err := filepath.Rel(wh, dir)
	if err != nil {
		return "", false
	}
	parts := strings.Split(rel, string(filepath.Separator))
	if len(parts) != 2 || !strings.HasSuffix(parts[0], ".db") || parts[0] == ".db" || parts[1] == "" ||
		parts[1] == "." || parts[1] == ".." {
		return "", false
	}
	return parts[1], true
}

// purgeTimeout bounds removing a dropped table's objects.
const purgeTimeout = 5 * time.Minute

// purge removes a dropped table's directory. The drop is committed: a
// failure is logged (the files are orphans for orphan-file removal) and
// not returned.
func (c *Catalog) purge(id Ident, dir string) {
	if dir == "" {
		return
	}
	remove := os.RemoveAll
	if LocalPath(dir) == "" { // an object-store warehouse
		remove = func(loc string) error {
			// Bounded: the drop is committed, and a hung endpoint must not
			// hold the table's lock for ever (what is left is orphans).
			ctx, cancel := context.WithTimeout(context.Background(), purgeTimeout)
			defer cancel()
			fsys, err := iceio.LoadFS(ctx, c.ioProps(), loc)
			if err != nil {
				return err
			}
			r, ok := fsys.(iceio.RemoveAllIO)
			if !ok {
				return fmt.Errorf("%w: removing %s", ErrNotSupported, loc)
			}
			return r.RemoveAll(loc)
		}
	}
	if err := remove(dir); err != nil {
		c.log.Warn("dropped table's files not removed", "table", id.String(), "dir", dir, "err", err)
		return
	}
	c.log.Info("dropped table's files removed", "table", id.String(), "dir", dir)
}

// RenameTable gives a table a new name, in its namespace or another one
// that exists. Its metadata, history and files stay where they are.
func (c *Catalog) RenameTable(ctx context.Context, from, to Ident) error {
	if err := from.validate(); err != nil {
		return err
	}
	if err := to.validate(); err != nil {
		return err
	}
	if from == to {
		return nil
	}
	// Both locks, in a fixed order: no commit to the table runs meanwhile.
	first, second := from, to
	if to.String() < from.String() {
		first, second = to, from
	}
	mu1, mu2 := c.tableLock(first), c.tableLock(second)
	mu1.Lock()
	defer mu1.Unlock()
	mu2.Lock()
	defer mu2.Unlock()
	if err := c.checkRemoteName(to); err != nil {
		return err
	}
	if c.remote() {
		if err := c.remoteRenameChecks(ctx, from, to); err != nil {
			return fmt.Errorf("renaming table %s to %s: %w", from, to, err)
		}
	}
	if _, err := c.ice.RenameTable(ctx, from.iceberg(), to.iceberg()); err != nil {
		return fmt.Errorf("renaming table %s to %s: %w", from, to, err)
	}
	c.log.Info("table renamed", "from", from.String(), "to", to.String())
	return nil
}

// DropIfEmpty drops the table only if it has no snapshot yet: it takes back
// a table created for a write that then failed, without racing a writer
// that committed to it meanwhile. It reports whether it dropped.
func (c *Catalog) DropIfEmpty(ctx context.Context, id Ident) (bool, error) {
	if err := id.validate(); err != nil {
		return false, err
	}
	mu := c.tableLock(id)
	mu.Lock()
	defer mu.Unlock()
	tbl, err := c.LoadTable(ctx, id)
	if err != nil {
		return false, err
	}
	if tbl.CurrentSnapshot() != nil {
		return false, nil
	}
	dir := c.tableDir(ctx, id)
	if err := c.ice.DropTable(ctx, id.iceberg()); err != nil {
		return false, fmt.Errorf("dropping table %s: %w", id, err)
	}
	c.log.Info("empty table dropped", "table", id.String())
	c.purge(id, dir)
	return true, nil
}

// MetadataLocation is the table's current metadata file, read straight from
// the catalog database (one indexed row, no metadata file read): callers
// compare it with what they bound last to notice commits by other writers.
// A view of that name is no table: ErrNoSuchTable.
func (c *Catalog) MetadataLocation(ctx context.Context, id Ident) (string, error) {
	kind, loc, err := c.objectAt(ctx, id)
	switch {
	case err != nil:
		return "", fmt.Errorf("reading metadata location of %s: %w", id, err)
	case kind != objTable || loc == "":
		return "", fmt.Errorf("reading metadata location: %w: %s", ErrNoSuchTable, id)
	}
	return loc, nil
}

// tableLock is the in-process mutex that serialises commits to one table.
func (c *Catalog) tableLock(id Ident) *sync.Mutex {
	c.locksMu.Lock()
	defer c.locksMu.Unlock()
	mu, ok := c.locks[id]
	if !ok {
		mu = new(sync.Mutex)
		c.locks[id] = mu
	}
	return mu
}

// madeHere reports whether a table location ends in the "-<8 hex>" that
// freshLocation gives the tables lakeflight creates in an external
// catalog.
func madeHere(loc string) bool {
	loc = strings.TrimSuffix(loc, "/")
	i := strings.LastIndexByte(loc, '-')
	if i < 0 || len(loc)-i-1 != 8 {
		return false
	}
	for _, r := range loc[i+1:] {
		if (r < '0' || r > '9') && (r < 'a' || r > 'f') {
			return false
		}
	}
	return true
}
