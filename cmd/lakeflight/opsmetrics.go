//go:build duckdb_arrow

package main

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lakeflight/lakeflight/catalog"
)

// diskCollector reports the free and total bytes of the file systems the
// server writes to, by role: the alert on disk pressure reads these.
type diskCollector struct {
	dirs       [][2]string // role, path
	free, size *prometheus.Desc
}

func newDiskCollector(dirs ...[2]string) *diskCollector {
	return &diskCollector{dirs: dirs,
		free: prometheus.NewDesc("lakeflight_disk_free_bytes",
			"Bytes available to the server on the file system of each of its directories (data, temp, warehouse or object cache).",
			[]string{"dir", "path"}, nil),
		size: prometheus.NewDesc("lakeflight_disk_size_bytes",
			"Size of the file system of each of the server's directories.", []string{"dir", "path"}, nil),
	}
}

func (d *diskCollector) Describe(ch chan<- *prometheus.Desc) { ch <- d.free; ch <- d.size }

func (d *diskCollector) Collect(ch chan<- prometheus.Metric) {
	for _, dir := range d.dirs {
		var st syscall.Statfs_t
		if err := syscall.Statfs(dir[1], &st); err != nil {
			ch <- prometheus.NewInvalidMetric(d.free, err)
			continue
		}
		bsize := float64(st.Bsize)
		ch <- prometheus.MustNewConstMetric(d.free, prometheus.GaugeValue, float64(st.Bavail)*bsize, dir[0], dir[1])
		ch <- prometheus.MustNewConstMetric(d.size, prometheus.GaugeValue, float64(st.Blocks)*bsize, dir[0], dir[1])
	}
}

// tableStatsTTL is how long one walk of the catalog's tables is reported
// before the next scrape walks it again: loading every table's metadata
// at each 15 s scrape would cost an external catalog a call per table.
const tableStatsTTL = time.Minute

// tableStatsTimeout bounds one walk.
const tableStatsTimeout = 20 * time.Second

// tableStat is what the table gauges say of one table, from its metadata
// and its current snapshot's summary (no manifest is read).
type tableStat struct {
	ns, name                                string
	snapshots, dataFiles, deleteFiles, size float64
	oldest                                  float64 // unix seconds of the oldest snapshot kept
}

// tableCollector reports each table's snapshots and files, so that an
// alert sees maintenance fall behind: snapshots piling up (expiry not run)
// and many small files (compaction not run).
type tableCollector struct {
	cat *catalog.Catalog
	log *slog.Logger

	snapshots, dataFiles, deleteFiles, size, oldest, tables *prometheus.Desc
	failures                                                prometheus.Counter

	mu    sync.Mutex // one walk at a time; later scrapes wait for it
	at    time.Time
	stats []tableStat
}

func newTableCollector(cat *catalog.Catalog, log *slog.Logger) *tableCollector {
	labels := []string{"namespace", "table"}
	return &tableCollector{cat: cat, log: log,
		snapshots: prometheus.NewDesc("lakeflight_table_snapshots",
			"Snapshots a table's metadata keeps (expire-snapshots removes old ones).", labels, nil),
		dataFiles: prometheus.NewDesc("lakeflight_table_data_files",
			"Data files of a table's current snapshot (compaction merges small ones).", labels, nil),
		deleteFiles: prometheus.NewDesc("lakeflight_table_delete_files",
			"Delete files of a table's current snapshot (compaction applies them).", labels, nil),
		size: prometheus.NewDesc("lakeflight_table_size_bytes",
			"Bytes of the data and delete files of a table's current snapshot.", labels, nil),
		oldest: prometheus.NewDesc("lakeflight_table_oldest_snapshot_timestamp_seconds",
			"When a table's oldest kept snapshot was committed (unix seconds).", labels, nil),
		tables: prometheus.NewDesc("lakeflight_tables",
			"Tables in the catalog at the last walk.", nil, nil),
		failures: prometheus.NewCounter(prometheus.CounterOpts{Name: "lakeflight_table_stats_failures_total",
			Help: "Walks of the catalog for the table gauges that failed (the gauges then show the walk before)."}),
	}
}

func (c *tableCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.snapshots, c.dataFiles, c.deleteFiles, c.size, c.oldest, c.tables} {
		ch <- d
	}
	c.failures.Describe(ch)
}

func (c *tableCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.at) >= tableStatsTTL {
		if stats, err := c.walk(); err != nil {
			c.failures.Inc()
			c.log.Warn("walking the catalog for the table metrics", "err", err)
		} else {
			c.stats, c.at = stats, time.Now()
		}
	}
	if !c.at.IsZero() {
		ch <- prometheus.MustNewConstMetric(c.tables, prometheus.GaugeValue, float64(len(c.stats)))
	}
	for _, s := range c.stats {
		for _, m := range []struct {
			d *prometheus.Desc
			v float64
		}{{c.snapshots, s.snapshots}, {c.dataFiles, s.dataFiles}, {c.deleteFiles, s.deleteFiles}, {c.size, s.size}, {c.oldest, s.oldest}} {
			ch <- prometheus.MustNewConstMetric(m.d, prometheus.GaugeValue, m.v, s.ns, s.name)
		}
	}
	c.failures.Collect(ch)
}

// walk loads every table's metadata. A table dropped between the listing
// and its load is left out; any other failure fails the walk.
func (c *tableCollector) walk() ([]tableStat, error) {
	ctx, cancel := context.WithTimeout(context.Background(), tableStatsTimeout)
	defer cancel()
	ids, err := c.cat.ListTables(ctx)
	if err != nil {
		return nil, err
	}
	stats := make([]tableStat, 0, len(ids))
	for _, id := range ids {
		tbl, err := c.cat.LoadTable(ctx, id)
		if errors.Is(err, catalog.ErrNoSuchTable) {
			continue
		}
		if err != nil {
			return nil, err
		}
		md := tbl.Metadata()
		s := tableStat{ns: id.Namespace, name: id.Name, snapshots: float64(len(md.Snapshots()))}
		for _, snap := range md.Snapshots() {
			if t := float64(snap.TimestampMs) / 1000; s.oldest == 0 || t < s.oldest {
				s.oldest = t
			}
		}
		if cur := md.CurrentSnapshot(); cur != nil && cur.Summary != nil {
			num := func(k string) float64 { n, _ := strconv.ParseFloat(cur.Summary.Properties[k], 64); return n }
			s.dataFiles, s.deleteFiles, s.size = num("total-data-files"), num("total-delete-files"), num("total-files-size")
		}
		stats = append(stats, s)
	}
	return stats, nil
}
