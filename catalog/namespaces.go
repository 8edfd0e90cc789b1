package catalog

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	icecat "github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"
)

// EnsureNamespace creates namespace ns unless it exists already.
func (c *Catalog) EnsureNamespace(ctx context.Context, ns string) error {
	if err := validName("namespace", ns); err != nil {
		return err
	}
	if err := c.checkRemoteNamespace(ns); err != nil {
		return err
	}
	err := c.ice.CreateNamespace(ctx, table.Identifier{ns}, nil)
	if err != nil && !errors.Is(err, icecat.ErrNamespaceAlreadyExists) {
		return fmt.Errorf("creating namespace %s: %w", ns, err)
	}
	return nil
}

// Namespaces lists the catalog's namespaces, sorted.
func (c *Catalog) Namespaces(ctx context.Context) ([]string, error) {
	idents, err := c.ice.ListNamespaces(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("listing namespaces: %w", err)
	}
	out := make([]string, 0, len(idents))
	for _, id := range idents {
		out = append(out, strings.Join(id, "."))
	}
	slices.Sort(out)
	return out, nil
}

// ListTables lists the tables of every namespace, sorted by namespace then name.
func (c *Catalog) ListTables(ctx context.Context) ([]Ident, error) {
	namespaces, err := c.Namespaces(ctx)
	if err != nil {
		return nil, err
	}
	var out []Ident
	for _, ns := range namespaces {
		for id, err := range c.ice.ListTables(ctx, table.Identifier{ns}) {
			if err != nil {
				return nil, fmt.Errorf("listing tables of %s: %w", ns, err)
			}
			if len(id) < 2 {
				continue
			}
			out = append(out, Ident{Namespace: ns, Name: id[len(id)-1]})
		}
	}
	slices.SortFunc(out, func(a, b Ident) int {
		return strings.Compare(a.String(), b.String())
	})
	return out, nil
}

// maxNameBytes bounds namespace and table names: each is a directory name
// in the warehouse (file systems take 255 bytes), with room for the suffix
// a table created over an old one's files gets.
const maxNameBytes = 200

// validName refuses names the catalog cannot store unambiguously or that
// could never be queried once created: empty ones, ones with dots (the SQL
// catalog joins namespace levels with dots) or path separators, invalid
// UTF-8 (DuckDB cannot bind it), control characters, and names longer than
// maxNameBytes.
func validName(what, name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty %s name", ErrInvalidArgument, what)
	case strings.ContainsAny(name, "./\\\x00"):
		return fmt.Errorf("%w: %s name %q contains '.', '/', '\\' or NUL", ErrInvalidArgument, what, name)
	case !utf8.ValidString(name):
		return fmt.Errorf("%w: %s name %q is not valid UTF-8", ErrInvalidArgument, what, name)
	case strings.ContainsFunc(name, unicode.IsControl):
		return fmt.Errorf("%w: %s name %q contains a control character", ErrInvalidArgument, what, name)
	case len(name) > maxNameBytes:
		return fmt.Errorf("%w: %s name of %d bytes is longer than %d", ErrInvalidArgument, what, len(name), maxNameBytes)
	}
	return nil
}

func (id Ident) validate() error {
	if err := validName("namespace", id.Namespace); err != nil {
		return err
	}
	return validName("table", id.Name)
}

func (id Ident) iceberg() table.Identifier { return table.Identifier{id.Namespace, id.Name} }

// DropNamespace drops an empty namespace: ErrNoSuchNamespace when there is
// none, ErrNamespaceNotEmpty when it still holds tables.
func (c *Catalog) DropNamespace(ctx context.Context, ns string) error {
	if err := c.ice.DropNamespace(ctx, table.Identifier{ns}); err != nil {
		return fmt.Errorf("dropping namespace %s: %w", ns, err)
	}
	return nil
}

// ErrNamespaceNotEmpty: DropNamespace of a namespace that still has tables.
var ErrNamespaceNotEmpty = icecat.ErrNamespaceNotEmpty
