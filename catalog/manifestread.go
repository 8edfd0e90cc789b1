package catalog

import (
	"bytes"
	"compress/flate"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"

	"github.com/apache/iceberg-go"
	icebergio "github.com/apache/iceberg-go/io"
)

// Reading manifests fast. A manifest is an Avro object container file of
// manifest entries, and most of each entry is column metrics (six maps per
// column) that planning does not use. iceberg-go's readers decode or skip
// them through a general Avro library, parsing the writer schema again for
// every manifest: some 10 µs an entry. scanManifest walks the file with a
// reader compiled once per writer schema, which copies out the few fields
// planning needs (status, sequence number, content, path, format, record
// count, size, referenced data file, and for delete files the file_path
// bounds) and steps over the rest without allocating.
//
// It reads only what it fully understands: the null and deflate codecs and
// the field shapes the Iceberg spec gives these fields. Anything else
// (another codec, a malformed file, a manifest whose header disagrees with
// the manifest list) returns errSlowPath, and the caller reads that manifest
// with iceberg-go instead, which then also reports any error exactly as
// PlanFiles would.

// errSlowPath says a manifest must be read by iceberg-go.
var errSlowPath = errors.New("manifest needs iceberg-go's reader")

// scannedEntry is what planning needs of one manifest entry, with the
// manifest's values inherited as iceberg-go inherits them.
type scannedEntry struct {
	status  iceberg.ManifestEntryStatus
	seq     int64 // data sequence number, -1 for none
	content iceberg.ManifestEntryContent
	path    string
	format  iceberg.FileFormat
	count   int64
	size    int64
	ref     string // referenced_data_file, "" for none
	// file_path bounds of a position-delete file (only read when asked).
	lower, upper []byte
	hasLower     bool
	hasUpper     bool
}

// avroKind is an Avro type, as far as stepping over it goes.
type avroKind uint8

const (
	avroNull avroKind = iota
	avroBoolean
	avroInt // int, long and enum: one zig-zag varint
	avroFloat
	avroDouble
	avroBytes // bytes and string
	avroFixed
	avroRecord
	avroArray
	avroMap
	avroUnion
)

type avroNode struct {
	kind     avroKind
	str      bool // avroBytes: a string
	size     int  // avroFixed
	fields   []avroField
	elem     *avroNode   // array items, map values
	branches []*avroNode // union
	// flat lists the kinds of a record whose fields are all ints and
	// bytes (the key/value records of column metrics), stepped over in
	// one loop.
	flat []avroKind
}

type avroField struct {
	name string
	node *avroNode
}

// compileSchema turns an Avro schema (JSON) into avroNodes.
func compileSchema(text []byte) (*avroNode, error) {
	var v any
	if err := json.Unmarshal(text, &v); err != nil {
		return nil, err
	}
	c := &schemaCompiler{named: map[string]*avroNode{}, open: map[*avroNode]bool{}}
	return c.compile(v, "")
}

type schemaCompiler struct {
	named map[string]*avroNode
	open  map[*avroNode]bool // records being compiled
}

// errRecursive refuses recursive types: no manifest has them, and a
// reader of one would recurse as deep as the data says.
var errRecursive = errors.New("recursive avro type")

func (c *schemaCompiler) compile(v any, ns string) (*avroNode, error) {
	switch v := v.(type) {
	case string:
		if n := primitive(v); n != nil {
			return n, nil
		}
		n, ok := c.named[fullName(v, ns)]
		if !ok {
			n, ok = c.named[v]
		}
		if ok && c.open[n] {
			return nil, errRecursive
		}
		if ok {
			return n, nil
		}
		return nil, fmt.Errorf("unknown avro type %q", v)
	case []any:
		n := &avroNode{kind: avroUnion}
		for _, b := range v {
			bn, err := c.compile(b, ns)
			if err != nil {
				return nil, err
			}
			n.branches = append(n.branches, bn)
		}
		return n, nil
	case map[string]any:
		typ := v["type"]
		name, _ := typ.(string)
		switch name {
		case "record", "error":
			n := &avroNode{kind: avroRecord}
			c.open[n] = true
			defer delete(c.open, n)
			rns := ns
			if s, ok := v["namespace"].(string); ok {
				rns = s
			}
			if s, ok := v["name"].(string); ok {
				full := fullName(s, rns)
				c.named[full] = n
				if i := lastDot(full); i >= 0 {
					rns = full[:i]
				}
			}
			fields, _ := v["fields"].([]any)
			for _, f := range fields {
				fm, ok := f.(map[string]any)
				if !ok {
					return nil, errors.New("avro record field is not an object")
				}
				fname, _ := fm["name"].(string)
				fn, err := c.compile(fm["type"], rns)
				if err != nil {
					return nil, err
				}
				n.fields = append(n.fields, avroField{name: fname, node: fn})
			}
			n.flat = flatKinds(n.fields)
			return n, nil
		case "enum", "fixed":
			n := &avroNode{kind: avroInt}
			if name == "fixed" {
				size, ok := v["size"].(float64)
				if !ok || size < 0 {
					return nil, errors.New("avro fixed without a size")
				}
				n = &avroNode{kind: avroFixed, size: int(size)}
			}
			if s, ok := v["name"].(string); ok {
				rns := ns
				if s2, ok := v["namespace"].(string); ok {
					rns = s2
				}
				c.named[fullName(s, rns)] = n
			}
			return n, nil
		case "array", "map":
			key := "items"
			n := &avroNode{kind: avroArray}
			if name == "map" {
				key, n.kind = "values", avroMap
			}
			elem, err := c.compile(v[key], ns)
			if err != nil {
				return nil, err
			}
			if n.kind == avroArray && zeroWidth(elem) {
				// Items that take no bytes would let a count drive a loop
				// unbounded by the file's size.
				return nil, errors.New("avro array of items without bytes")
			}
			n.elem = elem
			return n, nil
		}
		return c.compile(typ, ns) // {"type": "long", "logicalType": …} and nested types
	}
	return nil, fmt.Errorf("unexpected avro schema %v", v)
}

// zeroWidth reports whether a value of type n may take no bytes.
func zeroWidth(n *avroNode) bool {
	switch n.kind {
	case avroNull:
		return true
	case avroFixed:
		return n.size == 0
	case avroRecord:
		for _, f := range n.fields {
			if !zeroWidth(f.node) {
				return false
			}
		}
		return true
	}
	return false
}

func flatKinds(fields []avroField) []avroKind {
	kinds := make([]avroKind, len(fields))
	for i, f := range fields {
		if f.node.kind != avroInt && f.node.kind != avroBytes {
			return nil
		}
		kinds[i] = f.node.kind
	}
	return kinds
}

func primitive(name string) *avroNode {
	switch name {
	case "null":
		return &avroNode{kind: avroNull}
	case "boolean":
		return &avroNode{kind: avroBoolean}
	case "int", "long":
		return &avroNode{kind: avroInt}
	case "float":
		return &avroNode{kind: avroFloat}
	case "double":
		return &avroNode{kind: avroDouble}
	case "bytes":
		return &avroNode{kind: avroBytes}
	case "string":
		return &avroNode{kind: avroBytes, str: true}
	}
	return nil
}

func fullName(name, ns string) string {
	if lastDot(name) >= 0 || ns == "" {
		return name
	}
	return ns + "." + name
}

func lastDot(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '.' {
			return i
		}
	}
	return -1
}

// entryLayout is a manifest entry schema compiled for scanManifest: for
// each field of the entry and of its data_file, what to do with it.
type entryLayout struct {
	root *avroNode
	top  []fieldAction // per field of the entry record
	file []fieldAction // per field of data_file
}

type fieldAction uint8

const (
	actSkip fieldAction = iota
	actStatus
	actSeq
	actDataFile
	actContent
	actPath
	actFormat
	actCount
	actSize
	actRef
	actLower
	actUpper
)

var layouts sync.Map // writer schema text → *entryLayout or error

// layoutFor compiles (once per schema text) the layout of a manifest's
// entries.
func layoutFor(schema []byte) (*entryLayout, error) {
	if l, ok := layouts.Load(string(schema)); ok {
		if err, bad := l.(error); bad {
			return nil, err
		}
		return l.(*entryLayout), nil
	}
	l, err := compileLayout(schema)
	if err != nil {
		layouts.Store(string(schema), err)
		return nil, err
	}
	layouts.Store(string(schema), l)
	return l, nil
}

func compileLayout(schema []byte) (*entryLayout, error) {
	root, err := compileSchema(schema)
	if err != nil {
		return nil, err
	}
	if root.kind != avroRecord {
		return nil, errors.New("manifest entry is not a record")
	}
	l := &entryLayout{root: root, top: make([]fieldAction, len(root.fields))}
	var dataFile *avroNode
	for i, f := range root.fields {
		switch f.name {
		case "status":
			l.top[i] = actStatus
		case "sequence_number":
			l.top[i] = actSeq
		case "data_file":
			if f.node.kind != avroRecord {
				return nil, errors.New("data_file is not a record")
			}
			l.top[i], dataFile = actDataFile, f.node
		}
	}
	if dataFile == nil {
		return nil, errors.New("manifest entry has no data_file")
	}
	l.file = make([]fieldAction, len(dataFile.fields))
	for i, f := range dataFile.fields {
		switch f.name {
		case "content":
			l.file[i] = actContent
		case "file_path":
			l.file[i] = actPath
		case "file_format":
			l.file[i] = actFormat
		case "record_count":
			l.file[i] = actCount
		case "file_size_in_bytes":
			l.file[i] = actSize
		case "referenced_data_file":
			l.file[i] = actRef
		case "lower_bounds":
			l.file[i] = actLower
		case "upper_bounds":
			l.file[i] = actUpper
		}
	}
	return l, nil
}

// avroReader reads Avro binary data from a byte slice. A read past the end
// or a malformed value sets bad, after which every read returns zero.
type avroReader struct {
	b   []byte
	off int
	bad bool
}

func (r *avroReader) long() int64 {
	var u uint64
	var shift uint
	for {
		if r.off >= len(r.b) || shift > 63 {
			r.bad = true
			return 0
		}
		c := r.b[r.off]
		r.off++
		u |= uint64(c&0x7f) << shift
		if c < 0x80 {
			break
		}
		shift += 7
	}
	return int64(u>>1) ^ -int64(u&1)
}

func (r *avroReader) bytes() []byte {
	n := r.long()
	if n < 0 || int64(len(r.b)-r.off) < n {
		r.bad = true
		return nil
	}
	b := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	return b
}

func (r *avroReader) advance(n int64) {
	if n < 0 || int64(len(r.b)-r.off) < n {
		r.bad = true
		return
	}
	r.off += int(n)
}

// skip steps over one value of type n.
func (r *avroReader) skip(n *avroNode) {
	switch n.kind {
	case avroNull:
	case avroBoolean:
		r.advance(1)
	case avroInt:
		r.long()
	case avroFloat:
		r.advance(4)
	case avroDouble:
		r.advance(8)
	case avroBytes:
		r.advance(r.long())
	case avroFixed:
		r.advance(int64(n.size))
	case avroRecord:
		if n.flat != nil {
			r.skipFlat(n.flat)
			return
		}
		for _, f := range n.fields {
			r.skip(f.node)
		}
	case avroUnion:
		if b := r.branch(n); b != nil {
			r.skip(b)
		}
	case avroArray, avroMap:
		for !r.bad {
			count := r.long()
			if count == 0 {
				return
			}
			if count < 0 { // a block with its size in bytes: jump over it
				r.advance(r.long())
				continue
			}
			if count > int64(len(r.b)-r.off) { // every item takes a byte at least
				r.bad = true
				return
			}
			for ; count > 0 && !r.bad; count-- {
				if n.kind == avroMap {
					r.advance(r.long())
				}
				r.skip(n.elem)
			}
		}
	}
}

// skipFlat steps over a record of ints and bytes.
func (r *avroReader) skipFlat(kinds []avroKind) {
	for _, k := range kinds {
		v := r.long()
		if k == avroBytes {
			r.advance(v)
		}
	}
}

// branch reads a union's branch index and returns that branch.
func (r *avroReader) branch(n *avroNode) *avroNode {
	i := r.long()
	if r.bad || i < 0 || i >= int64(len(n.branches)) {
		r.bad = true
		return nil
	}
	return n.branches[i]
}

// optional resolves a nullable field: the type of its value, or nil for
// null.
func (r *avroReader) optional(n *avroNode) *avroNode {
	for n != nil && n.kind == avroUnion {
		n = r.branch(n)
	}
	if n != nil && n.kind == avroNull {
		return nil
	}
	return n
}

// intValue reads an int or long field (nullable or not).
func (r *avroReader) intValue(n *avroNode) (int64, bool) {
	n = r.optional(n)
	if n == nil {
		return 0, false
	}
	if n.kind != avroInt {
		r.bad = true
		return 0, false
	}
	return r.long(), true
}

// stringValue reads a string field (nullable or not).
func (r *avroReader) stringValue(n *avroNode) (string, bool) {
	n = r.optional(n)
	if n == nil {
		return "", false
	}
	if n.kind != avroBytes {
		r.bad = true
		return "", false
	}
	return string(r.bytes()), true
}

// boundOf reads a bounds map (an array of {key: int, value: bytes}
// records) and returns the value of field id, if present.
func (r *avroReader) boundOf(n *avroNode, id int64) (value []byte, found bool) {
	n = r.optional(n)
	if n == nil {
		return nil, false
	}
	if n.kind != avroArray || n.elem.kind != avroRecord {
		r.bad = true
		return nil, false
	}
	for !r.bad {
		count := r.long()
		if count == 0 {
			break
		}
		if count < 0 {
			count = -count
			r.long() // the block's size in bytes
		}
		if count > int64(len(r.b)-r.off) {
			r.bad = true
			break
		}
		for ; count > 0 && !r.bad; count-- {
			var key int64
			var val []byte
			var hasKey, hasVal bool
			for _, f := range n.elem.fields {
				switch f.name {
				case "key":
					key, hasKey = r.intValue(f.node)
				case "value":
					fn := r.optional(f.node)
					if fn == nil {
						continue
					}
					if fn.kind != avroBytes {
						r.bad = true
						return nil, false
					}
					val, hasVal = r.bytes(), true
				default:
					r.skip(f.node)
				}
			}
			if hasKey && key == id && hasVal {
				value, found = bytes.Clone(val), true // the block's buffer is reused
			}
		}
	}
	return value, found
}

// scanManifest reads the entries of manifest m (deleted ones left out),
// with the file_path bounds of delete files when bounds is set.
func scanManifest(fs icebergio.IO, m iceberg.ManifestFile, bounds bool) ([]scannedEntry, error) {
	f, err := fs.Open(m.FilePath())
	if err != nil {
		return nil, errSlowPath
	}
	data, err := io.ReadAll(f)
	_ = f.Close()
	if err != nil {
		return nil, errSlowPath
	}
	return parseManifest(data, m, bounds)
}

// parseManifest is scanManifest of the manifest's bytes.
func parseManifest(data []byte, m iceberg.ManifestFile, bounds bool) ([]scannedEntry, error) {
	r := &avroReader{b: data}
	meta, marker, ok := r.header()
	if !ok {
		return nil, errSlowPath
	}
	deflate := false
	switch string(meta["avro.codec"]) {
	case "", "null":
	case "deflate":
		deflate = true
	default:
		return nil, errSlowPath
	}
	version := 1
	if raw := meta["format-version"]; len(raw) > 0 {
		v, err := strconv.Atoi(string(raw))
		if err != nil || v < 1 || v > 3 || v > m.Version() {
			return nil, errSlowPath
		}
		version = v
	}
	content := iceberg.ManifestContentData
	switch string(meta["content"]) {
	case "", "data":
		if len(meta["content"]) == 0 && version != 1 {
			return nil, errSlowPath
		}
	case "deletes":
		content = iceberg.ManifestContentDeletes
	default:
		return nil, errSlowPath
	}
	if content != m.ManifestContent() {
		return nil, errSlowPath
	}
	l, err := layoutFor(meta["avro.schema"])
	if err != nil {
		return nil, errSlowPath
	}

	out := make([]scannedEntry, 0, max(0, int(m.AddedDataFiles())+int(m.ExistingDataFiles())))
	buf := blockBufs.Get().(*bytes.Buffer)
	defer blockBufs.Put(buf)
	for r.off < len(r.b) {
		count := r.long()
		size := r.long()
		if r.bad || count < 0 || size < 0 || int64(len(r.b)-r.off) < size+16 || (!deflate && count > size) {
			return nil, errSlowPath
		}
		block := r.b[r.off : r.off+int(size)]
		r.off += int(size)
		if !bytes.Equal(r.b[r.off:r.off+16], marker[:]) {
			return nil, errSlowPath
		}
		r.off += 16
		if deflate {
			buf.Reset()
			if err := inflate(buf, block); err != nil {
				return nil, errSlowPath
			}
			block = buf.Bytes()
			if int64(len(block)) < count { // every entry takes a byte at least
				return nil, errSlowPath
			}
		}
		br := &avroReader{b: block}
		for ; count > 0; count-- {
			e, ok := br.entry(l, bounds)
			if !ok {
				return nil, errSlowPath
			}
			if e.status == iceberg.EntryStatusDELETED {
				continue
			}
			if !validEntry(e, content) {
				return nil, errSlowPath
			}
			inherit(&e, m)
			out = append(out, e)
		}
		if br.off != len(br.b) {
			return nil, errSlowPath
		}
	}
	return out, nil
}

// header reads an object container file's header: its metadata and sync
// marker.
func (r *avroReader) header() (map[string][]byte, [16]byte, bool) {
	var marker [16]byte
	if len(r.b) < 4 || string(r.b[:4]) != "Obj\x01" {
		return nil, marker, false
	}
	r.off = 4
	meta := map[string][]byte{}
	for !r.bad {
		count := r.long()
		if count == 0 {
			break
		}
		if count < 0 {
			count = -count
			r.long()
		}
		if count > int64(len(r.b)-r.off) {
			r.bad = true
			break
		}
		for ; count > 0 && !r.bad; count-- {
			k := string(r.bytes())
			meta[k] = r.bytes()
		}
	}
	if r.bad || len(r.b)-r.off < 16 {
		return nil, marker, false
	}
	copy(marker[:], r.b[r.off:])
	r.off += 16
	return meta, marker, true
}

// entry reads one manifest entry.
func (r *avroReader) entry(l *entryLayout, bounds bool) (scannedEntry, bool) {
	e := scannedEntry{seq: -1, content: iceberg.EntryContentData}
	var hasStatus, hasPath bool
	for i, f := range l.root.fields {
		switch l.top[i] {
		case actStatus:
			var v int64
			v, hasStatus = r.intValue(f.node)
			e.status = iceberg.ManifestEntryStatus(v)
		case actSeq:
			if v, ok := r.intValue(f.node); ok {
				e.seq = v
			}
		case actDataFile:
			for j, g := range f.node.fields {
				switch l.file[j] {
				case actContent:
					v, _ := r.intValue(g.node)
					e.content = iceberg.ManifestEntryContent(v)
				case actPath:
					e.path, hasPath = r.stringValue(g.node)
				case actFormat:
					s, _ := r.stringValue(g.node)
					e.format = iceberg.FileFormat(s)
				case actCount:
					e.count, _ = r.intValue(g.node)
				case actSize:
					e.size, _ = r.intValue(g.node)
				case actRef:
					e.ref, _ = r.stringValue(g.node)
				case actLower:
					if bounds {
						e.lower, e.hasLower = r.boundOf(g.node, int64(positionDeleteFieldID))
					} else {
						r.skip(g.node)
					}
				case actUpper:
					if bounds {
						e.upper, e.hasUpper = r.boundOf(g.node, int64(positionDeleteFieldID))
					} else {
						r.skip(g.node)
					}
				default:
					r.skip(g.node)
				}
			}
		default:
			r.skip(f.node)
		}
	}
	return e, !r.bad && hasStatus && hasPath
}

// validEntry checks what iceberg-go's reader checks of an entry.
func validEntry(e scannedEntry, content iceberg.ManifestContent) bool {
	switch e.status {
	case iceberg.EntryStatusEXISTING, iceberg.EntryStatusADDED:
	default:
		return false
	}
	switch e.content {
	case iceberg.EntryContentData:
		return content == iceberg.ManifestContentData
	case iceberg.EntryContentPosDeletes, iceberg.EntryContentEqDeletes:
		return content == iceberg.ManifestContentDeletes
	}
	return false
}

// inherit gives an entry without a data sequence number the manifest's, as
// iceberg-go does: for added files, and for every file of a manifest
// written at the initial sequence number (v1).
func inherit(e *scannedEntry, m iceberg.ManifestFile) {
	seq := m.SequenceNum()
	if e.seq == -1 && seq != -1 && (seq == 0 || e.status == iceberg.EntryStatusADDED) {
		e.seq = seq
	}
}

// blockBufs hold decompressed blocks; nothing read from one outlives it
// (strings and bounds are copied out).
var blockBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

var inflaters = sync.Pool{New: func() any { return flate.NewReader(bytes.NewReader(nil)) }}

// maxBlockBytes bounds a decompressed block; a larger one is left to
// iceberg-go's reader.
const maxBlockBytes = 64 << 20

// inflate decompresses a raw deflate block into buf.
func inflate(buf *bytes.Buffer, block []byte) error {
	fr := inflaters.Get().(io.ReadCloser)
	defer inflaters.Put(fr)
	if err := fr.(flate.Resetter).Reset(bytes.NewReader(block), nil); err != nil {
		return err
	}
	n, err := buf.ReadFrom(io.LimitReader(fr, maxBlockBytes+1))
	if err == nil && n > maxBlockBytes {
		err = errSlowPath
	}
	return err
}
