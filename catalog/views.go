package catalog

import (
	"bufio"
	"compress/gzip"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/iceberg-go"
	iceio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"
	"github.com/apache/iceberg-go/view"
	"github.com/google/uuid"
)

// Views: Iceberg views in the SQL catalog, beside the tables and sharing
// their names (a name is a table or a view, never both). A view is one SQL
// representation in DuckDB's dialect (ViewDialect) and the schema of its
// result; its metadata files live in a directory of its own,
// <warehouse>/<namespace>.db/<name>.view-<8 hex> (a '.' no table directory
// has), removed with the view.
//
// iceberg-go's SQL catalog lists, loads, checks and drops views, but its
// CreateView always writes the dialect "default" and it has no way to
// commit a new version. So lakeflight writes the view metadata with
// iceberg-go's view.MetadataBuilder and does the two catalog-row changes
// itself, as the SQL catalog would: an INSERT of the view's row (the
// row's primary key is the name, so a table or view already there makes it
// fail) and, for a new version, a compare-and-swap UPDATE of its metadata
// location.

// ViewDialect is the dialect of the SQL lakeflight stores in a view.
const ViewDialect = "duckdb"

// View is a view as the catalog holds it.
type View struct {
	Ident            Ident
	SQL              string          // the query, in ViewDialect
	Schema           *iceberg.Schema // of its result
	MetadataLocation string
	VersionID        int64
	Location         string // base location of its metadata files
}

// viewRetries bounds CreateOrReplaceView's compare-and-swap attempts when
// other processes keep replacing the view.
const viewRetries = 4

// CreateView stores a new view: the query sql (ViewDialect) whose result
// has schema. The namespace must exist; ErrViewAlreadyExists or
// ErrTableAlreadyExists when the name is taken.
func (c *Catalog) CreateView(ctx context.Context, id Ident, schema *arrow.Schema, sql string) error {
	sc, err := viewSchema(id, schema)
	if err != nil {
		return err
	}
	if err := c.checkRemoteName(id); err != nil {
		return err
	}
	mu := c.tableLock(id)
	mu.Lock()
	defer mu.Unlock()
	return c.createView(ctx, id, sc, sql)
}

// CreateOrReplaceView stores sql and schema as the view's new current
// version, or creates the view when the name is free (ErrTableAlreadyExists
// when a table has it).
//
// It runs under the name's lock, so commits of this process take turns. The
// new version is one metadata file and one compare-and-swap of the view's
// metadata location: a concurrent reader (another session, another process,
// pyiceberg) sees the old definition or the new one, never neither (as it
// would if this were a drop then a create), and the old metadata file stays
// until the view is dropped, so a reader that read the old location can
// still load it. The view keeps its UUID and its version history.
func (c *Catalog) CreateOrReplaceView(ctx context.Context, id Ident, schema *arrow.Schema, sql string) error {
	sc, err := viewSchema(id, schema)
	if err != nil {
		return err
	}
	if err := c.checkRemoteName(id); err != nil {
		return err
	}
	mu := c.tableLock(id)
	mu.Lock()
	defer mu.Unlock()
	for range viewRetries {
		kind, loc, err := c.objectAt(ctx, id)
		if err != nil {
			return err
		}
		switch kind {
		case "":
			err := c.createView(ctx, id, sc, sql)
			if errors.Is(err, ErrViewAlreadyExists) {
				continue // created by another process meanwhile: replace it
			}
			return err
		case objTable:
			return fmt.Errorf("%w: %s is a table", ErrTableAlreadyExists, id)
		}
		swapped, err := c.replaceView(ctx, id, loc, sc, sql)
		if err != nil || swapped {
			return err
		}
	}
	return fmt.Errorf("replacing view %s: %w", id, ErrConflict)
}

// viewSchema is the Iceberg schema of a view's result.
func viewSchema(id Ident, schema *arrow.Schema) (*iceberg.Schema, error) {
	if err := id.validate(); err != nil {
		return nil, err
	}
	if schema.NumFields() == 0 {
		return nil, fmt.Errorf("%w: view %s has no columns", ErrInvalidArgument, id)
	}
	sc, err := IcebergSchema(schema)
	if err != nil {
		return nil, fmt.Errorf("%w: view %s: %w", ErrInvalidArgument, id, err)
	}
	if err := checkSchemaNesting(id, sc); err != nil {
		return nil, err
	}
	return sc, nil
}

// createView writes version 1 of a new view and inserts its row. The
// caller holds the name's lock.
func (c *Catalog) createView(ctx context.Context, id Ident, sc *iceberg.Schema, sql string) error {
	exists, err := c.ice.CheckNamespaceExists(ctx, table.Identifier{id.Namespace})
	if err != nil {
		return fmt.Errorf("creating view %s: %w", id, err)
	}
	if !exists {
		return fmt.Errorf("creating view %s: %w: %s", id, ErrNoSuchNamespace, id.Namespace)
	}
	if err := c.nameFree(ctx, id); err != nil {
		return err
	}
	loc := strings.TrimSuffix(c.warehouse, "/") + "/" + pathSafe(id.Namespace) + ".db/" + pathSafe(id.Name) +
		".view-" + uuid.NewString()[:8]
	version, err := c.viewVersion(id, 1, sql)
	if err != nil {
		return err
	}
	if c.remote() {
		return c.createRemoteView(ctx, id, loc, version, sc)
	}
	b, err := view.NewMetadataBuilder()
	if err != nil {
		return err
	}
	md, err := b.SetLoc(loc).SetCurrentVersion(version, sc).Build()
	if err != nil {
		return fmt.Errorf("creating view %s: %w: %w", id, ErrInvalidArgument, err)
	}
	metaLoc, err := c.writeViewMetadata(ctx, loc, 1, md.Metadata)
	if err != nil {
		return fmt.Errorf("creating view %s: %w", id, err)
	}
	_, err = c.db.ExecContext(ctx, c.sqlText("INSERT INTO iceberg_tables (catalog_name, table_namespace, table_name, "+
		"metadata_location, previous_metadata_location, iceberg_type) VALUES (?, ?, ?, ?, NULL, 'VIEW')"),
		c.name, id.Namespace, id.Name, metaLoc)
	if err != nil {
		c.purgeView(id, loc)
		if taken := c.nameFree(ctx, id); taken != nil {
			return taken // created by another process since nameFree
		}
		return fmt.Errorf("creating view %s: %w", id, err)
	}
	c.log.Info("view created", "view", id.String(), "columns", len(sc.Fields()))
	return nil
}

// replaceView commits a new current version over the metadata at loc;
// swapped is false when another process moved the view first.
func (c *Catalog) replaceView(ctx context.Context, id Ident, loc string, sc *iceberg.Schema, sql string) (swapped bool, err error) {
	cur, err := c.viewAt(ctx, id, loc)
	if err != nil {
		return false, fmt.Errorf("replacing view %s: loading %s: %w", id, loc, err)
	}
	base := cur.Metadata()
	var next int64
	for _, v := range base.Versions() {
		next = max(next, v.VersionID)
	}
	next++
	version, err := c.viewVersion(id, next, sql)
	if err != nil {
		return false, err
	}
	b, err := view.MetadataBuilderFromBase(base)
	if err != nil {
		return false, err
	}
	// A definition the view already had is made current again rather than
	// added: iceberg-go v0.7.0 would reuse its version id and then add the
	// version a second time ("duplicate version-id"). The same definition
	// as now (dbt replaces its views on every run) changes nothing.
	if old := sameDefinition(base, sc, sql); old != nil {
		if old.VersionID == base.CurrentVersionID() {
			return true, nil
		}
		b = b.SetCurrentVersionID(old.VersionID)
	} else {
		b = b.SetCurrentVersion(version, sc)
	}
	md, err := b.Build()
	if err != nil {
		// e.g. the view has SQL for other dialects, which a new version in
		// ViewDialect alone would drop.
		return false, fmt.Errorf("replacing view %s: %w: %w", id, ErrInvalidArgument, err)
	}
	if c.remote() {
		return c.replaceRemoteView(ctx, id, base, md)
	}
	metaLoc, err := c.writeViewMetadata(ctx, base.Location(), md.CurrentVersionID(), md.Metadata)
	if err != nil {
		return false, fmt.Errorf("replacing view %s: %w", id, err)
	}
	res, err := c.db.ExecContext(ctx, c.sqlText("UPDATE iceberg_tables SET metadata_location = ?, previous_metadata_location = ? "+
		"WHERE catalog_name = ? AND table_namespace = ? AND table_name = ? AND iceberg_type = 'VIEW' AND metadata_location = ?"),
		metaLoc, loc, c.name, id.Namespace, id.Name, loc)
	var n int64
	if err == nil {
		n, err = res.RowsAffected()
	}
	if err != nil || n != 1 {
		c.removeFile(ctx, metaLoc)
		if err != nil {
			return false, fmt.Errorf("replacing view %s: %w", id, err)
		}
		return false, nil
	}
	c.log.Info("view replaced", "view", id.String(), "version", md.CurrentVersionID())
	return true, nil
}

// sameDefinition is the version of base whose one representation is sql in
// ViewDialect and whose schema is sc, or nil.
func sameDefinition(base view.Metadata, sc *iceberg.Schema, sql string) *view.Version {
	schemas := base.SchemasByID()
	for _, v := range base.Versions() {
		if len(v.Representations) != 1 || v.Representations[0].Dialect != ViewDialect || v.Representations[0].Sql != sql {
			continue
		}
		if s, ok := schemas[v.SchemaID]; ok && s.Equals(sc) {
			return v
		}
	}
	return nil
}

// viewVersion is a version of id with one representation, sql in ViewDialect.
func (c *Catalog) viewVersion(id Ident, versionID int64, sql string) (*view.Version, error) {
	v, err := view.NewVersion(versionID, 0, []view.Representation{view.NewRepresentation(sql, ViewDialect)},
		table.Identifier{id.Namespace}, view.WithDefaultViewCatalog(c.name),
		view.WithTimestampMS(time.Now().UnixMilli()),
		view.WithVersionSummary(view.VersionSummary{"engine-name": "lakeflight"}))
	if err != nil {
		return nil, fmt.Errorf("view %s: %w: %w", id, ErrInvalidArgument, err)
	}
	return v, nil
}

// writeViewMetadata writes md as a new metadata file under loc and returns
// its location.
func (c *Catalog) writeViewMetadata(ctx context.Context, loc string, version int64, md view.Metadata) (string, error) {
	data, err := json.Marshal(md)
	if err != nil {
		return "", fmt.Errorf("encoding view metadata: %w", err)
	}
	metaLoc := fmt.Sprintf("%s/metadata/%05d-%s.metadata.json", strings.TrimSuffix(loc, "/"), version, uuid.NewString())
	fs, err := iceio.LoadFS(ctx, c.ioProps(), metaLoc)
	if err != nil {
		return "", err
	}
	wfs, ok := fs.(iceio.WriteFileIO)
	if !ok {
		return "", fmt.Errorf("writing view metadata: %w: the warehouse's file system cannot write", ErrNotSupported)
	}
	if err := wfs.WriteFile(metaLoc, data); err != nil {
		return "", fmt.Errorf("writing view metadata: %w", err)
	}
	return metaLoc, nil
}

func (c *Catalog) ioProps() iceberg.Properties {
	props := iceberg.Properties{"warehouse": c.warehouse}
	maps.Copy(props, c.props) // s3.* settings of an object-store warehouse
	return props
}

// removeFile removes a metadata file no catalog row names (best effort).
func (c *Catalog) removeFile(ctx context.Context, loc string) {
	if fs, err := iceio.LoadFS(ctx, c.ioProps(), loc); err == nil {
		_ = fs.Remove(loc)
	}
}

// LoadView reads the view's current version: its SQL in ViewDialect (a
// view another engine stored without one is refused with
// ErrNotSupported) and the schema of its result.
func (c *Catalog) LoadView(ctx context.Context, id Ident) (*View, error) {
	loc, err := c.ViewMetadataLocation(ctx, id)
	if err != nil {
		return nil, err
	}
	// The metadata at the location just read (the SQL catalog's LoadView
	// would read the row again and not say which location it loaded).
	v, err := c.viewAt(ctx, id, loc)
	if err != nil {
		return nil, fmt.Errorf("loading view %s: %w", id, err)
	}
	cur := v.CurrentVersion()
	if cur == nil {
		return nil, fmt.Errorf("loading view %s: %w: no current version", id, ErrInvalidArgument)
	}
	out := &View{Ident: id, Schema: v.CurrentSchema(), MetadataLocation: loc, VersionID: cur.VersionID, Location: v.Location()}
	var dialects []string
	for _, r := range cur.Representations {
		if strings.EqualFold(strings.TrimSpace(r.Dialect), ViewDialect) {
			out.SQL = r.Sql
			return out, nil
		}
		dialects = append(dialects, r.Dialect)
	}
	return nil, fmt.Errorf("%w: view %s has no %s SQL (its dialects: %s)", ErrNotSupported, id, ViewDialect, strings.Join(dialects, ", "))
}

// ListViews lists the views of every namespace, sorted by namespace then name.
func (c *Catalog) ListViews(ctx context.Context) ([]Ident, error) {
	namespaces, err := c.Namespaces(ctx)
	if err != nil {
		return nil, err
	}
	var out []Ident
	for _, ns := range namespaces {
		for vid, err := range c.ice.ListViews(ctx, table.Identifier{ns}) {
			if err != nil {
				return nil, fmt.Errorf("listing views of %s: %w", ns, err)
			}
			if len(vid) < 2 {
				continue
			}
			out = append(out, Ident{Namespace: ns, Name: vid[len(vid)-1]})
		}
	}
	slices.SortFunc(out, func(a, b Ident) int { return strings.Compare(a.String(), b.String()) })
	return out, nil
}

// ViewExists reports whether id names a view.
func (c *Catalog) ViewExists(ctx context.Context, id Ident) (bool, error) {
	if err := id.validate(); err != nil {
		return false, err
	}
	ok, err := c.ice.CheckViewExists(ctx, id.iceberg())
	if err != nil {
		return false, fmt.Errorf("checking view %s: %w", id, err)
	}
	return ok, nil
}

// DropView removes the view from the catalog, then the directory of its
// metadata files when lakeflight made it (ErrNoSuchView when there is no
// such view, a table of that name included).
func (c *Catalog) DropView(ctx context.Context, id Ident) error {
	if err := id.validate(); err != nil {
		return err
	}
	mu := c.tableLock(id)
	mu.Lock()
	defer mu.Unlock()
	var dir string
	if v, err := c.LoadView(ctx, id); err == nil {
		dir = v.Location
	}
	if err := c.ice.DropView(ctx, id.iceberg()); err != nil {
		return fmt.Errorf("dropping view %s: %w", id, err)
	}
	c.log.Info("view dropped", "view", id.String())
	c.purgeView(id, dir)
	return nil
}

// purgeView removes a view's metadata directory: only one of the shape
// createView gives (<warehouse>/<x>.db/<y>.view-<hex>), which is the view's
// own.
func (c *Catalog) purgeView(id Ident, loc string) {
	dir := LocalPath(loc)
	if name, ok := c.ownDir(dir); ok && strings.Contains(name, ".view-") {
		c.purge(id, dir)
	}
}

// ViewMetadataLocation is the view's current metadata file, read straight
// from the catalog database: callers compare it with what they bound last
// to notice views replaced or dropped by other processes.
func (c *Catalog) ViewMetadataLocation(ctx context.Context, id Ident) (string, error) {
	kind, loc, err := c.objectAt(ctx, id)
	if err != nil {
		return "", err
	}
	if kind != objView || loc == "" {
		return "", fmt.Errorf("reading view metadata location: %w: %s", ErrNoSuchView, id)
	}
	return loc, nil
}

// Kinds of catalog objects (the SQL catalog's iceberg_type).
const (
	objTable = "TABLE"
	objView  = "VIEW"
)

// objectAt is what the catalog has under id ("" for nothing; a row of a
// catalog made before views had a type is a table) and its metadata
// location.
func (c *Catalog) objectAt(ctx context.Context, id Ident) (kind, loc string, err error) {
	if c.remote() {
		return c.remoteObjectAt(ctx, id)
	}
	var typ, ml sql.NullString
	err = c.db.QueryRowContext(ctx, c.sqlText("SELECT iceberg_type, metadata_location FROM iceberg_tables "+
		"WHERE catalog_name = ? AND table_namespace = ? AND table_name = ?"), c.name, id.Namespace, id.Name).Scan(&typ, &ml)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", "", nil
	case err != nil:
		return "", "", fmt.Errorf("looking up %s: %w", id, err)
	case typ.Valid && strings.EqualFold(typ.String, objView):
		return objView, ml.String, nil
	}
	return objTable, ml.String, nil
}

// nameFree fails with ErrTableAlreadyExists or ErrViewAlreadyExists when
// id is taken.
func (c *Catalog) nameFree(ctx context.Context, id Ident) error {
	kind, _, err := c.objectAt(ctx, id)
	switch {
	case err != nil:
		return err
	case kind == objView:
		return fmt.Errorf("%w: %s", ErrViewAlreadyExists, id)
	case kind == objTable:
		return fmt.Errorf("%w: %s is a table", ErrTableAlreadyExists, id)
	}
	return nil
}

// sqlText writes q's ? placeholders as the catalog database wants them.
func (c *Catalog) sqlText(q string) string {
	if c.driver != driverPostgres {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// viewAt reads the view metadata file at loc. Writers may gzip it (Java's
// catalogs write <n>-<uuid>.gz.metadata.json), which iceberg-go's reader
// does not undo.
func (c *Catalog) viewAt(ctx context.Context, id Ident, loc string) (*view.View, error) {
	fsys, err := iceio.LoadFS(ctx, c.ioProps(), loc)
	if err != nil {
		return nil, err
	}
	f, err := fsys.Open(loc)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	br := bufio.NewReader(f)
	var r io.Reader = br
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", loc, err)
		}
		defer func() { _ = zr.Close() }()
		r = zr
	}
	md, err := view.ParseMetadata(io.LimitReader(r, maxViewMetadataBytes))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", loc, err)
	}
	return view.New(id.iceberg(), md, loc), nil
}

// maxViewMetadataBytes bounds a view's metadata file once decompressed.
const maxViewMetadataBytes = 64 << 20
