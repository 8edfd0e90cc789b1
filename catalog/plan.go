package catalog

import (
	"cmp"
	"container/list"
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"

	"github.com/apache/iceberg-go"
	icebergio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"
)

// File planning: which data files a reader of one snapshot scans, and which
// position-delete files apply to them. iceberg-go's Scan.PlanFiles answers
// that too, but it decodes every column metric of every manifest entry
// (for a 10,000-file table most of the time goes there) and builds tasks,
// split offsets and residuals a reader of whole files does not use. TableState
// only needs paths, record counts and sizes, so planFiles reads the manifests
// itself, several at a time, without the column metrics of data files, and
// applies exactly the rules PlanFiles applies to an unfiltered scan:
//
//   - manifests known to hold no live (added or existing) entries are
//     skipped, and so are delete manifests older than every data manifest's
//     minimum sequence number;
//   - live entries only (ADDED and EXISTING); files of zero records are
//     left out;
//   - a position-delete file applies to the data file it references when
//     its data sequence number is at least the data file's; a data file
//     lists its deletes in sequence-number order.
//
// What lakeflight itself writes (position deletes naming their data file)
// takes that path. Anything else — equality deletes, deletion vectors,
// position deletes that cover a whole partition — is left to PlanFiles
// (errNeedsFullPlan), whose answer is then used unchanged.
//
// A snapshot never changes, so its plan is cached, keyed by the snapshot's
// manifest list (a fresh file per snapshot, whatever the table's name).

// errNeedsFullPlan says the snapshot holds deletes only PlanFiles matches.
var errNeedsFullPlan = errors.New("snapshot needs iceberg-go's full scan planning")

// plan is the files of one snapshot, as TableState lists them. Shared by
// the cache: never modified after planFiles returns it.
type plan struct {
	data    []DataFile
	deletes []DataFile
	// minSeq is at most the least data sequence number of the data files
	// (0 when unknown): no snapshot before it added one of them.
	minSeq int64
}

// files is the number of files the plan holds (its cache cost).
func (p *plan) files() int { return len(p.data) + len(p.deletes) }

// positionDeleteFieldID is the field id of a position-delete file's
// file_path column.
var positionDeleteFieldID = iceberg.PositionalDeleteSchema.Fields()[0].ID

// planOf is the plan of snap: cached, planned by planFiles, or (for deletes
// planFiles does not match) by iceberg-go's PlanFiles.
func (c *Catalog) planOf(ctx context.Context, tbl *table.Table, snap *table.Snapshot) (*plan, error) {
	key := snap.ManifestList
	if key != "" {
		if p, ok := c.plans.get(key); ok {
			return p, nil
		}
	}
	fs, err := tbl.FS(ctx)
	if err != nil {
		return nil, err
	}
	p, err := planFiles(ctx, fs, snap)
	if errors.Is(err, errNeedsFullPlan) {
		p, err = scanPlan(ctx, tbl, snap)
	}
	if err != nil {
		return nil, err
	}
	if key != "" {
		c.plans.put(key, p)
	}
	return p, nil
}

// liveEntry is one live manifest entry, reduced to what planning needs.
type liveEntry struct {
	file DataFile
	seq  int64  // data sequence number
	ref  string // a position-delete file's data file
}

// planFiles plans snap from its manifests (see the top of this file).
func planFiles(ctx context.Context, fs icebergio.IO, snap *table.Snapshot) (*plan, error) {
	manifests, err := snap.Manifests(fs)
	if err != nil {
		return nil, fmt.Errorf("reading manifest list: %w", err)
	}
	var dataManifests, deleteManifests []iceberg.ManifestFile
	minSeq := int64(math.MaxInt64) // the data manifests' least sequence number (as iceberg-go's minSequenceNum)
	for _, m := range manifests {
		if !m.HasAddedFiles() && !m.HasExistingFiles() {
			continue // known to hold no live entry
		}
		if m.ManifestContent() == iceberg.ManifestContentDeletes {
			deleteManifests = append(deleteManifests, m)
			continue
		}
		dataManifests = append(dataManifests, m)
		minSeq = min(minSeq, m.MinSequenceNum())
	}
	if minSeq == math.MaxInt64 {
		minSeq = 0
	}
	deleteManifests = slices.DeleteFunc(deleteManifests, func(m iceberg.ManifestFile) bool {
		return m.SequenceNum() < minSeq // older than every data file it could apply to
	})

	// Deletes first: data entries are matched against them.
	perDelete := make([][]liveEntry, len(deleteManifests))
	err = forEach(ctx, len(deleteManifests), runtime.GOMAXPROCS(0), func(i int) error {
		var err error
		perDelete[i], err = readDeleteManifest(ctx, fs, deleteManifests[i])
		return err
	})
	if err != nil {
		return nil, err
	}
	byPath := map[string][]liveEntry{}
	for _, entries := range perDelete {
		for _, e := range entries {
			byPath[e.ref] = append(byPath[e.ref], e)
		}
	}
	for _, list := range byPath {
		slices.SortStableFunc(list, func(a, b liveEntry) int { return cmp.Compare(a.seq, b.seq) })
	}

	perData := make([][]liveEntry, len(dataManifests))
	err = forEach(ctx, len(dataManifests), runtime.GOMAXPROCS(0), func(i int) error {
		var err error
		perData[i], err = readDataManifest(ctx, fs, dataManifests[i])
		return err
	})
	if err != nil {
		return nil, err
	}

	n := 0
	for _, entries := range perData {
		n += len(entries)
	}
	p := &plan{data: make([]DataFile, 0, n), minSeq: minSeq}
	seen := make(map[string]bool, n)
	for _, entries := range perData {
		for _, e := range entries {
			if !seen[e.file.Location] {
				seen[e.file.Location] = true
				p.data = append(p.data, e.file)
			}
			dels := byPath[e.file.Location]
			from, _ := slices.BinarySearchFunc(dels, e.seq, func(d liveEntry, seq int64) int { return cmp.Compare(d.seq, seq) })
			for _, d := range dels[from:] {
				if !seen[d.file.Location] {
					seen[d.file.Location] = true
					p.deletes = append(p.deletes, d.file)
				}
			}
		}
	}
	return p, nil
}

// readDataManifest reads the live data files of one data manifest.
func readDataManifest(ctx context.Context, fs icebergio.IO, m iceberg.ManifestFile) ([]liveEntry, error) {
	entries, err := scanManifest(fs, m, false)
	if errors.Is(err, errSlowPath) {
		entries, err = readManifestSlow(ctx, fs, m, false)
	}
	if err != nil {
		return nil, err
	}
	out := make([]liveEntry, 0, len(entries))
	for _, e := range entries {
		if e.content != iceberg.EntryContentData {
			return nil, fmt.Errorf("data manifest %s lists %s file %q: %w", m.FilePath(), contentName(e.content), e.path, table.ErrInvalidMetadata)
		}
		if e.count == 0 {
			continue // PlanFiles leaves out files without rows
		}
		out = append(out, liveEntry{file: e.dataFile(), seq: e.seq})
	}
	return out, nil
}

// readDeleteManifest reads the live position-delete files of one delete
// manifest, each with the data file it applies to. Any other kind of delete
// wraps errNeedsFullPlan.
func readDeleteManifest(ctx context.Context, fs icebergio.IO, m iceberg.ManifestFile) ([]liveEntry, error) {
	entries, err := scanManifest(fs, m, true)
	if errors.Is(err, errSlowPath) {
		entries, err = readManifestSlow(ctx, fs, m, true)
	}
	if err != nil {
		return nil, err
	}
	out := make([]liveEntry, 0, len(entries))
	for _, e := range entries {
		if e.content != iceberg.EntryContentPosDeletes || e.format != iceberg.ParquetFile {
			return nil, errNeedsFullPlan // equality deletes, deletion vectors
		}
		if e.count == 0 {
			continue
		}
		ref := e.referenced()
		if ref == "" {
			return nil, errNeedsFullPlan // partition-scoped: matched by partition and bounds
		}
		out = append(out, liveEntry{file: e.dataFile(), seq: e.seq, ref: ref})
	}
	return out, nil
}

// readManifestSlow is scanManifest done by iceberg-go's reader, for the
// manifests scanManifest does not read itself.
func readManifestSlow(ctx context.Context, fs icebergio.IO, m iceberg.ManifestFile, bounds bool) ([]scannedEntry, error) {
	var out []scannedEntry
	proj := iceberg.ManifestEntryProjection{IncludePruningStats: bounds}
	for entry, err := range iceberg.EntriesWithProjection(fs, m, true, proj) {
		if err != nil {
			return nil, fmt.Errorf("reading manifest %s: %w", m.FilePath(), err)
		}
		if err := ctx.Err(); err != nil {
			return nil, context.Cause(ctx)
		}
		out = append(out, scannedOf(entry, bounds))
	}
	return out, nil
}

// scannedOf is what scanManifest reads of an entry iceberg-go has read.
func scannedOf(entry iceberg.ManifestEntry, bounds bool) scannedEntry {
	df := entry.DataFile()
	e := scannedEntry{
		status: entry.Status(), seq: entry.SequenceNum(), content: df.ContentType(), path: df.FilePath(),
		format: df.FileFormat(), count: df.Count(), size: df.FileSizeBytes(),
	}
	if ref := df.ReferencedDataFile(); ref != nil {
		e.ref = *ref
	}
	if bounds {
		e.lower, e.hasLower = df.LowerBoundValues()[positionDeleteFieldID]
		e.upper, e.hasUpper = df.UpperBoundValues()[positionDeleteFieldID]
	}
	return e
}

// referenced is the one data file a position-delete file applies to: its
// referenced_data_file, else its file_path column when both bounds name the
// same file (as iceberg-go and Java read it), else "".
func (e *scannedEntry) referenced() string {
	if e.ref != "" {
		return e.ref
	}
	if !e.hasLower || len(e.lower) == 0 || !e.hasUpper || string(e.lower) != string(e.upper) {
		return ""
	}
	return string(e.lower) // a string bound is its UTF-8 bytes
}

func (e *scannedEntry) dataFile() DataFile {
	return DataFile{Path: LocalPath(e.path), Location: e.path, RecordCount: e.count, SizeBytes: e.size}
}

func dataFileOf(df iceberg.DataFile) DataFile {
	p := df.FilePath()
	return DataFile{Path: LocalPath(p), Location: p, RecordCount: df.Count(), SizeBytes: df.FileSizeBytes()}
}

// scanPlan is the plan iceberg-go's PlanFiles makes of snap: a file split
// into several tasks, or a delete file attached to every task it touches,
// is listed once.
func scanPlan(ctx context.Context, tbl *table.Table, snap *table.Snapshot) (*plan, error) {
	scan := tbl.Scan(table.WithSnapshotID(snap.SnapshotID))
	defer func() { _ = scan.Close() }()
	tasks, err := scan.PlanFiles(ctx)
	if err != nil {
		return nil, err
	}
	p := &plan{data: make([]DataFile, 0, len(tasks))}
	seen := map[string]bool{}
	add := func(list []DataFile, f iceberg.DataFile) []DataFile {
		if seen[f.FilePath()] {
			return list
		}
		seen[f.FilePath()] = true
		return append(list, dataFileOf(f))
	}
	for _, task := range tasks {
		p.data = add(p.data, task.File)
		for _, del := range task.DeleteFiles {
			p.deletes = add(p.deletes, del)
		}
	}
	return p, nil
}

// planCacheFiles bounds the files the plan cache holds, over all snapshots
// (a file costs some 200 bytes: about 50 MiB).
const planCacheFiles = 1 << 18

// planCache keeps the plans of recently read snapshots, least recently used
// out first, up to planCacheFiles files. Safe for concurrent use.
type planCache struct {
	mu    sync.Mutex
	max   int
	files int
	order *list.List // of *planCacheEntry, most recently used first
	byKey map[string]*list.Element
}

type planCacheEntry struct {
	key string
	p   *plan
}

func newPlanCache(maxFiles int) *planCache {
	return &planCache{max: maxFiles, order: list.New(), byKey: map[string]*list.Element{}}
}

func (c *planCache) get(key string) (*plan, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[key]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*planCacheEntry).p, true
}

// put keeps p under key; a plan larger than the whole cache is not kept.
func (c *planCache) put(key string, p *plan) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p.files() > c.max {
		return
	}
	if el, ok := c.byKey[key]; ok { // planned twice meanwhile: same files
		c.order.MoveToFront(el)
		return
	}
	c.byKey[key] = c.order.PushFront(&planCacheEntry{key: key, p: p})
	c.files += p.files()
	for c.files > c.max {
		last := c.order.Back()
		e := last.Value.(*planCacheEntry)
		c.order.Remove(last)
		delete(c.byKey, e.key)
		c.files -= e.p.files()
	}
}
