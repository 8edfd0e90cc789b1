package catalog

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"

	"github.com/apache/iceberg-go"
	icecat "github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/rest"
	"github.com/apache/iceberg-go/table"
	"github.com/apache/iceberg-go/view"
)

// backend is the Iceberg catalog that holds lakeflight's tables and views:
// iceberg-go's SQL catalog over the catalog database (SQLite, PostgreSQL),
// or an external catalog speaking the Iceberg REST protocol (Polaris,
// Lakekeeper, Nessie, Glue's REST endpoint, Apache Iceberg's own server).
type backend interface {
	icecat.Catalog
	ListViews(ctx context.Context, namespace table.Identifier) iter.Seq2[table.Identifier, error]
	CheckViewExists(ctx context.Context, id table.Identifier) (bool, error)
	DropView(ctx context.Context, id table.Identifier) error
	Close() error
}

// RESTConfig reaches an external Iceberg REST catalog (Config.Driver
// "rest", Config.URI its base URL, e.g. http://polaris:8181/api/catalog).
// Credentials are the catalog's: Token is sent as a bearer token;
// Credential ("client_id:client_secret") is exchanged for one by OAuth2's
// client-credentials flow at the catalog's token endpoint, with Scope.
type RESTConfig struct {
	Token      string
	Credential string
	Scope      string
	// Warehouse is the "warehouse" the client names to the catalog
	// (Polaris and Lakekeeper take a warehouse or catalog name there);
	// empty: Config.Warehouse, the location lakeflight gives new tables.
	Warehouse string
	// Prefix overrides the path prefix the catalog's /v1/config returns.
	Prefix string
	// SigV4 signs every request with AWS Signature Version 4 instead
	// (Glue's and S3 Tables' REST endpoints): credentials from the AWS
	// environment, SigningRegion (default the environment's) and
	// SigningName (default "execute-api"; "glue" for Glue).
	SigV4         bool
	SigningRegion string
	SigningName   string
}

const driverREST = "rest"

// openREST connects to the REST catalog at uri. New tables and views get
// locations under warehouse (lakeflight names the location of everything
// it creates), so DuckDB reads them from the local warehouse or the
// object cache as with the SQL catalog.
func openREST(ctx context.Context, name, uri, warehouse string, cfg RESTConfig, props iceberg.Properties) (*rest.Catalog, error) {
	if uri == "" {
		return nil, fmt.Errorf("opening catalog: %w: rest catalog needs a URI (http://host:port/…)", ErrInvalidArgument)
	}
	if !strings.HasPrefix(uri, "http://") && !strings.HasPrefix(uri, "https://") {
		return nil, fmt.Errorf("opening catalog: %w: rest catalog URI %q is not http:// or https://", ErrInvalidArgument, uri)
	}
	opts := []rest.Option{rest.WithAdditionalProps(props)}
	if cfg.Warehouse != "" {
		opts = append(opts, rest.WithWarehouseLocation(cfg.Warehouse))
	} else {
		opts = append(opts, rest.WithWarehouseLocation(warehouse))
	}
	if cfg.Token != "" {
		opts = append(opts, rest.WithOAuthToken(cfg.Token))
	}
	if cfg.Credential != "" {
		opts = append(opts, rest.WithCredential(cfg.Credential))
	}
	if cfg.Scope != "" {
		opts = append(opts, rest.WithScope(cfg.Scope))
	}
	if cfg.Prefix != "" {
		opts = append(opts, rest.WithPrefix(cfg.Prefix))
	}
	if cfg.SigV4 {
		opts = append(opts, rest.WithSigV4RegionSvc(cfg.SigningRegion, cfg.SigningName))
	}
	cat, err := rest.NewCatalog(ctx, name, uri, opts...)
	if err != nil {
		_, clientSecret, _ := strings.Cut(cfg.Credential, ":")
		return nil, fmt.Errorf("connecting to rest catalog %s: %w", withoutUserinfo(uri), redactSecrets(err, cfg.Token, cfg.Credential, clientSecret))
	}
	return cat, nil
}

// redactSecrets is err with every non-empty secret masked (the longest
// first, so a secret that holds another is masked whole).
func redactSecrets(err error, secrets ...string) error {
	msg := err.Error()
	masked := msg
	slices.SortFunc(secrets, func(a, b string) int { return len(b) - len(a) })
	for _, s := range secrets {
		if s != "" {
			masked = strings.ReplaceAll(masked, s, "xxxxx")
		}
	}
	if masked == msg {
		return err
	}
	return errors.New(masked)
}

// remote reports whether the catalog is an external one (REST, Glue,
// Hive): no catalog database of lakeflight's own.
func (c *Catalog) remote() bool { return c.db == nil }

// remoteObjectAt is objectAt for an external catalog: a table's or a view's
// current metadata location, read from the catalog on every call.
func (c *Catalog) remoteObjectAt(ctx context.Context, id Ident) (kind, loc string, err error) {
	tbl, err := c.ice.LoadTable(ctx, id.iceberg())
	if err == nil {
		return objTable, tbl.MetadataLocation(), nil
	}
	// Not a table: a view, or nothing (a Hive Metastore answers a view
	// loaded as a table "not an Iceberg table", not "no such table").
	if vl, ok := c.ice.(viewLoader); ok {
		v, verr := vl.LoadView(ctx, id.iceberg())
		switch {
		case verr == nil:
			return objView, v.MetadataLocation(), nil
		case !errors.Is(verr, icecat.ErrNoSuchView) && !errors.Is(verr, icecat.ErrNoSuchNamespace) &&
			!errors.Is(verr, rest.ErrEndpointNotSupported): // a REST catalog without views has none
			return "", "", fmt.Errorf("looking up %s: %w", id, errors.Join(err, verr))
		}
	}
	if errors.Is(err, icecat.ErrNoSuchTable) {
		return "", "", nil
	}
	return "", "", fmt.Errorf("looking up %s: %w", id, err)
}

// Views in catalogs other than the SQL one (views.go writes those itself):
// the REST catalog creates, loads and commits them; Hive's loads and drops
// them but cannot store lakeflight's (othercat.go, hiveViews); Glue's
// (iceberg-go v0.7.0) has none.
type (
	viewCreator interface {
		CreateView(ctx context.Context, id table.Identifier, version *view.Version, schema *iceberg.Schema, opts ...icecat.CreateViewOpt) (*view.View, error)
	}
	viewUpdater interface {
		UpdateView(ctx context.Context, id table.Identifier, reqs []view.Requirement, updates []view.Update) (*view.View, error)
	}
	viewLoader interface {
		LoadView(ctx context.Context, id table.Identifier) (*view.View, error)
	}
)

// createRemoteView creates a view through a REST catalog, its metadata at
// loc (the catalog writes the file).
func (c *Catalog) createRemoteView(ctx context.Context, id Ident, loc string, version *view.Version, sc *iceberg.Schema) error {
	vc, ok := c.ice.(viewCreator)
	if !ok {
		why := "has no views"
		if c.driver == driverHive {
			why = "cannot keep a view's SQL dialect (iceberg-go stores every view there as dialect \"default\")"
		}
		return fmt.Errorf("creating view %s: %w: the %s catalog %s", id, ErrNotSupported, c.driver, why)
	}
	if _, err := vc.CreateView(ctx, id.iceberg(), version, sc, icecat.WithViewLocation(loc)); err != nil {
		if errors.Is(err, rest.ErrEndpointNotSupported) {
			return fmt.Errorf("creating view %s: %w: the rest catalog offers no views", id, ErrNotSupported)
		}
		if errors.Is(err, icecat.ErrViewAlreadyExists) {
			if taken := c.nameFree(ctx, id); taken != nil {
				return taken
			}
		}
		return fmt.Errorf("creating view %s: %w", id, err)
	}
	c.log.Info("view created", "view", id.String(), "columns", len(sc.Fields()))
	return nil
}

// replaceRemoteView commits the changes that turn base into next through a
// REST catalog; swapped is false when the view was replaced by another
// writer (a new UUID) or dropped meanwhile.
func (c *Catalog) replaceRemoteView(ctx context.Context, id Ident, base view.Metadata, next *view.MetadataBuildResult) (swapped bool, err error) {
	vc, ok := c.ice.(viewUpdater)
	if !ok {
		return false, fmt.Errorf("replacing view %s: %w: the %s catalog cannot commit a view's new version (drop the view and create it again)",
			id, ErrNotSupported, c.driver)
	}
	_, err = vc.UpdateView(ctx, id.iceberg(), []view.Requirement{view.AssertViewUUID(base.ViewUUID())}, next.Changes)
	switch {
	case err == nil:
		c.log.Info("view replaced", "view", id.String(), "version", next.CurrentVersionID())
		return true, nil
	case errors.Is(err, table.ErrCommitFailed), errors.Is(err, icecat.ErrNoSuchView):
		return false, nil
	}
	return false, fmt.Errorf("replacing view %s: %w", id, err)
}

// remoteRenameChecks gives a rename through a REST catalog the errors the
// SQL catalog gives: the protocol answers a missing target namespace as a
// missing table, and a taken name as a bare conflict (the checks race a
// concurrent writer elsewhere only to report the wrong kind of error).
func (c *Catalog) remoteRenameChecks(ctx context.Context, from, to Ident) error {
	kind, _, err := c.objectAt(ctx, from)
	if err != nil {
		return err
	}
	if kind != objTable {
		return fmt.Errorf("%w: %s", ErrNoSuchTable, from)
	}
	ok, err := c.ice.CheckNamespaceExists(ctx, table.Identifier{to.Namespace})
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: %s", ErrNoSuchNamespace, to.Namespace)
	}
	return c.nameFree(ctx, to)
}

// checkRemoteName refuses, for a REST catalog, names the protocol's paths
// carry badly: a '%' travels as %25, which Apache Iceberg's own server
// cannot route (it creates the table from the request body, then answers
// every load "No route for request"). Refused before anything is created.
//
// A Hive Metastore takes names of ASCII letters, digits and '_' only, and
// folds them to lower case: any other name is refused up front too, so a
// table is never listed under a name other than its own.
func (c *Catalog) checkRemoteName(id Ident) error {
	if err := c.checkRemoteNamespace(id.Namespace); err != nil {
		return err
	}
	switch c.driver {
	case driverREST:
		if strings.Contains(id.Name, "%") {
			return fmt.Errorf("%w: %s: a name with '%%' cannot be used with a rest catalog (its URL paths carry it as %%25, which REST catalog servers do not all route)",
				ErrInvalidArgument, id)
		}
	case driverHive:
		if !hiveName(id.Name) {
			return fmt.Errorf("%w: %s: a Hive Metastore takes names of lower-case ASCII letters, digits and '_' only, not %q",
				ErrInvalidArgument, id, id.Name)
		}
	}
	return nil
}

// checkRemoteNamespace is checkRemoteName for a namespace's name.
func (c *Catalog) checkRemoteNamespace(ns string) error {
	switch {
	case c.driver == driverREST && strings.Contains(ns, "%"):
		return fmt.Errorf("%w: namespace %s: a name with '%%' cannot be used with a rest catalog (its URL paths carry it as %%25, which REST catalog servers do not all route)",
			ErrInvalidArgument, ns)
	case c.driver == driverHive && !hiveName(ns):
		return fmt.Errorf("%w: namespace %s: a Hive Metastore takes names of lower-case ASCII letters, digits and '_' only", ErrInvalidArgument, ns)
	}
	return nil
}

// hiveName reports whether a Hive Metastore keeps name as it is.
func hiveName(name string) bool {
	for _, r := range name {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '_' {
			return false
		}
	}
	return name != ""
}
