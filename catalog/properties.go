package catalog

import (
	"context"
	"fmt"
	"maps"
	"strings"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
)

// Table properties: Iceberg's string key/value settings of a table, such
// as write.delete.mode (cow.go).

// Properties is the table's current properties.
func (c *Catalog) Properties(ctx context.Context, id Ident) (map[string]string, error) {
	tbl, err := c.LoadTable(ctx, id)
	if err != nil {
		return nil, err
	}
	return withSortOrder(maps.Clone(map[string]string(tbl.Properties())), tbl.Metadata()), nil
}

// SetProperty sets one property of the table; an empty value removes it.
// The write-mode properties take only copy-on-write or merge-on-read.
// Setting a property commits new metadata but no snapshot.
func (c *Catalog) SetProperty(ctx context.Context, id Ident, key, value string) error {
	if key == "" {
		return fmt.Errorf("%w: a table property needs a name", ErrInvalidArgument)
	}
	switch key {
	case PropPending:
		return fmt.Errorf("%w: %s is lakeflight's own mark of a table whose creating write has not committed; it cannot be set or removed by hand", ErrInvalidArgument, key)
	case PropSortOrder:
		if err := c.setSortOrder(ctx, id, value); err != nil {
			return fmt.Errorf("setting %s of %s: %w", key, id, err)
		}
		c.log.Info("table sort order set", "table", id.String(), "order", value)
		return nil
	case PropDeleteMode, PropUpdateMode, PropMergeMode:
		if value != "" && value != ModeCopyOnWrite && value != ModeMergeOnRead {
			return fmt.Errorf("%w: %s is %q or %q, not %q", ErrInvalidArgument, key, ModeCopyOnWrite, ModeMergeOnRead, value)
		}
	case PropCompressionCodec, PropCompressionLevel, PropRowGroupRows, PropTargetFileSize:
		if value != "" {
			cur, err := c.Properties(ctx, id)
			if err != nil {
				return err
			}
			cur[key] = value
			if _, err := layoutOf(cur); err != nil {
				return err
			}
		}
	case PropUpkeepCompactMinFiles, PropUpkeepExpireOlderThan, PropUpkeepRetainLast:
		if _, err := UpkeepOf(map[string]string{key: value}); value != "" && err != nil {
			return err
		}
	default:
		if strings.HasPrefix(key, upkeepPrefix) && value != "" {
			return fmt.Errorf("%w: %s is not an upkeep property: want %s, %s or %s", ErrInvalidArgument, key,
				PropUpkeepCompactMinFiles, PropUpkeepExpireOlderThan, PropUpkeepRetainLast)
		}
	}
	err := c.commitMetadata(ctx, id, func(md table.Metadata) ([]table.Update, []table.Requirement, error) {
		old, had := md.Properties()[key]
		switch {
		case value == "" && !had, value != "" && had && old == value:
			return nil, nil, nil
		case value == "":
			return []table.Update{table.NewRemovePropertiesUpdate([]string{key})}, nil, nil
		}
		return []table.Update{table.NewSetPropertiesUpdate(iceberg.Properties{key: value})}, nil, nil
	})
	if err != nil {
		return fmt.Errorf("setting property %s of %s: %w", key, id, err)
	}
	c.log.Info("table property set", "table", id.String(), "key", key, "value", value)
	return nil
}
