package web

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// idNameCSV is n rows of "id,name" CSV with a header, from id from.
func idNameCSV(from, n int) []byte {
	var b bytes.Buffer
	b.WriteString("id,name\n")
	for i := from; i < from+n; i++ {
		fmt.Fprintf(&b, "%d,name-%x\n", i, uint32(i)*2654435761)
	}
	return b.Bytes()
}

func gzipMembers(t *testing.T, parts ...[]byte) []byte {
	t.Helper()
	var out bytes.Buffer
	for _, p := range parts {
		w := gzip.NewWriter(&out)
		if _, err := w.Write(p); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return out.Bytes()
}

func zstdFrames(t *testing.T, parts ...[]byte) []byte {
	t.Helper()
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderCRC(true))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = enc.Close() }()
	var out []byte
	for _, p := range parts {
		out = enc.EncodeAll(p, out)
	}
	return out
}

// TestIngestTruncatedCompressed: a cut or damaged gzip or zstd upload is a
// 400 naming the file and the compressed byte where it broke, and commits
// nothing, to a new table or to an existing one.
func TestIngestTruncatedCompressed(t *testing.T) {
	h, cat := ingestServer(t, 0)
	if code, _, p := post(t, h, "/ingest?table=kept&filename=first.csv", "text/csv", bytes.NewReader(idNameCSV(0, 3))); code != http.StatusOK {
		t.Fatalf("setup: %d %+v", code, p)
	}
	data := idNameCSV(100, 30000)
	half := bytes.IndexByte(data[len(data)/2:], '\n') + len(data)/2 + 1
	gz := gzipMembers(t, data)
	zs := zstdFrames(t, data[:half], data[half:])
	frame1 := len(zstdFrames(t, data[:half]))
	badCRC := bytes.Clone(gz)
	badCRC[len(badCRC)-6] ^= 0xff

	cases := []struct {
		name, file string
		body       []byte
		detail     string
	}{
		{"gzip mid-deflate", "d.csv.gz", gz[:len(gz)/2], fmt.Sprintf("gzip stream cut short at compressed byte %d", len(gz)/2)},
		{"gzip inside trailer", "d.csv.gz", gz[:len(gz)-3], fmt.Sprintf("gzip stream cut short at compressed byte %d", len(gz)-3)},
		{"gzip bad CRC", "d.csv.gz", badCRC, "gzip stream corrupt at compressed byte"},
		{"zstd inside a frame", "d.csv.zst", zs[:len(zs)/3], fmt.Sprintf("zstd stream cut short at compressed byte %d", len(zs)/3)},
		{"zstd between frames", "d.csv.zst", zs[:frame1+2], fmt.Sprintf("zstd stream cut short at compressed byte %d", frame1+2)},
	}
	for _, tc := range cases {
		for _, table := range []string{"kept", "fresh"} {
			t.Run(tc.name+"/"+table, func(t *testing.T) {
				code, _, p := post(t, h, "/ingest?table="+table+"&filename="+tc.file, "text/csv", bytes.NewReader(tc.body))
				if code != http.StatusBadRequest || !strings.Contains(p.Detail, tc.detail) || !strings.Contains(p.Detail, tc.file) {
					t.Fatalf("%d %q; want 400 naming %s and %q", code, p.Detail, tc.file, tc.detail)
				}
				if n := snapshots(t, cat, "kept"); n != 1 {
					t.Fatalf("kept has %d snapshots, want 1", n)
				}
				if rows := tableRows(t, cat, "kept"); len(rows) != 3 {
					t.Fatalf("kept has %d rows, want 3", len(rows))
				}
				if n := snapshots(t, cat, "fresh"); n != 0 {
					t.Fatalf("fresh has %d snapshots, want none", n)
				}
			})
		}
	}
	// A whole stream of two frames, and of two gzip members, commits it all.
	for _, body := range [][]byte{zs, gzipMembers(t, data[:half], data[half:])} {
		code, res, p := post(t, h, "/ingest?table=whole", "text/csv", bytes.NewReader(body))
		if code != http.StatusOK || res.Rows != 30000 {
			t.Fatalf("%d %+v %+v; want 30000 rows", code, res, p)
		}
	}
}

// TestIngestDecompressionBombs: a small upload that decompresses to far more
// than the limits is a 413 naming the limit, found quickly.
func TestIngestDecompressionBombs(t *testing.T) {
	line := append(bytes.Repeat([]byte("0"), 1023), '\n')
	mib := bytes.Repeat(line, 1024)
	gzMember := gzipMembers(t, mib)
	gz := bytes.Repeat(gzMember, 1024) // 1 GiB in a few MB of gzip members
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	zs := enc.EncodeAll(bytes.Repeat(mib, 64), nil) // 64 MiB in a few KB
	_ = enc.Close()

	cases := []struct {
		name   string
		opts   Options
		body   []byte
		detail string
	}{
		{"gzip over the decompressed limit", Options{MaxIngestBytes: 8 << 20, MaxIngestDecompressedBytes: 64 << 20, MaxIngestRatio: -1}, gz,
			"decompresses to more than the limit of 67108864 bytes; nothing was committed; the server's max_ingest_decompressed_bytes (--max-ingest-decompressed-bytes) sets this limit"},
		{"zstd over the ratio", Options{}, zs,
			"more than 1000 times as many (the limit on the decompression ratio; a decompression bomb?); nothing was committed; the server's max_ingest_ratio (--max-ingest-ratio) sets this limit"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h, cat := ingestServerWith(t, tc.opts)
			start := time.Now()
			code, _, p := post(t, h, "/ingest?table=bomb&filename=b.csv", "text/csv", bytes.NewReader(tc.body))
			if code != http.StatusRequestEntityTooLarge || !strings.Contains(p.Detail, tc.detail) {
				t.Fatalf("%d %q; want 413 naming %q", code, p.Detail, tc.detail)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("took %s", d)
			}
			if n := snapshots(t, cat, "bomb"); n != 0 {
				t.Fatalf("%d snapshots, want none", n)
			}
			t.Logf("%d bytes refused in %s: %s", len(tc.body), time.Since(start), p.Detail)
		})
	}
}
