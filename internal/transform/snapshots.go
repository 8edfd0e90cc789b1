package transform

import (
	"context"
	"strings"
	"time"
)

// Each model's build commits Iceberg snapshots tagged with the dbt node
// that ran it (the adapter's query comment, kept by lakeflight as the
// snapshot's query tag). After a run, the runner looks them up so a run's
// status says which snapshot each model made: the one time travel reaches.

// SnapshotFinder lists the snapshots of a table ("ns.name") whose query tag
// is tag, committed at or after since, oldest first.
type SnapshotFinder interface {
	TaggedSnapshots(ctx context.Context, table, tag string, since time.Time) ([]int64, error)
}

// findTimeout bounds the lookups after a run (they read table metadata).
const findTimeout = 10 * time.Second

// attachSnapshots fills each built node's Snapshots. A lookup that fails
// leaves the node without them and says so in its SnapshotsError: the run's
// outcome is dbt's, not the lookup's.
func attachSnapshots(find SnapshotFinder, nodes []Node, since time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), findTimeout)
	defer cancel()
	for i := range nodes {
		n := &nodes[i]
		if n.Relation == "" || !builds(n.UniqueID) {
			continue
		}
		ids, err := find.TaggedSnapshots(ctx, n.Relation, n.UniqueID, since)
		if err != nil {
			n.SnapshotsError = err.Error()
			continue
		}
		n.Snapshots = ids
	}
}

// builds reports whether a node of this id writes a relation: models,
// seeds and snapshots do, tests do not.
func builds(uniqueID string) bool {
	kind, _, _ := strings.Cut(uniqueID, ".")
	return kind == "model" || kind == "seed" || kind == "snapshot"
}

// relationTable turns dbt's relation_name ("lakehouse"."gold"."orders",
// quoted or not) into "gold.orders"; "" when it has fewer than two parts.
func relationTable(name string) string {
	var parts []string
	var cur strings.Builder
	quoted := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '"' && quoted && i+1 < len(name) && name[i+1] == '"':
			cur.WriteByte('"')
			i++
		case c == '"':
			quoted = !quoted
		case c == '.' && !quoted:
			parts = append(parts, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	parts = append(parts, cur.String())
	if len(parts) < 2 || quoted {
		return ""
	}
	schema, table := parts[len(parts)-2], parts[len(parts)-1]
	if schema == "" || table == "" {
		return ""
	}
	return schema + "." + table
}
