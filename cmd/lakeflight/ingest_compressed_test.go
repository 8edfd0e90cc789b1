package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// TestIngestCommandTruncatedCompressed: a cut gzip or zstd file fails
// `lakeflight ingest` naming the file and where it broke, and nothing is
// committed; a likely bomb is refused unless the ratio check is lifted.
func TestIngestCommandTruncatedCompressed(t *testing.T) {
	flightAddr, _, _ := startServe(t, filepath.Join(t.TempDir(), "data"))
	dir := t.TempDir()
	var data bytes.Buffer
	data.WriteString("id,name\n")
	for i := range 30000 {
		fmt.Fprintf(&data, "%d,name-%x\n", i, uint32(i)*2654435761)
	}
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	_, _ = w.Write(data.Bytes())
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderCRC(true))
	if err != nil {
		t.Fatal(err)
	}
	zs := enc.EncodeAll(data.Bytes(), nil)
	bomb := enc.EncodeAll(bytes.Repeat(append(bytes.Repeat([]byte("0"), 1023), '\n'), 64<<10), nil)
	_ = enc.Close()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.csv.gz", gz.Bytes())
	if code, _, errOut := cli(t, "ingest", "--server", flightAddr, "--table", "kept", "--progress", "none", good); code != 0 {
		t.Fatalf("setup: %s", errOut)
	}

	cases := []struct {
		name, file string
		body       []byte
		want       string
	}{
		{"gzip mid-deflate", "a.csv.gz", gz.Bytes()[:gz.Len()/2], fmt.Sprintf("gzip stream cut short at compressed byte %d", gz.Len()/2)},
		{"gzip inside trailer", "b.csv.gz", gz.Bytes()[:gz.Len()-2], fmt.Sprintf("gzip stream cut short at compressed byte %d", gz.Len()-2)},
		{"zstd inside the frame", "c.csv.zst", zs[:len(zs)-7], fmt.Sprintf("zstd stream cut short at compressed byte %d", len(zs)-7)},
		{"zstd bomb", "d.csv.zst", bomb, "more than 1000 times as many (the limit on the decompression ratio; a decompression bomb?) (--max-decompression-ratio 0 lifts this check)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := write(tc.file, tc.body)
			code, out, errOut := cli(t, "ingest", "--server", flightAddr, "--table", "kept", "--no-key", "--progress", "none", good, p)
			if code != 1 || out != "" {
				t.Fatalf("exit %d, %q", code, out)
			}
			for _, want := range []string{"nothing was committed", p, tc.want} {
				if !strings.Contains(errOut, want) {
					t.Errorf("error %q lacks %q", errOut, want)
				}
			}
			if got := count(t, flightAddr, "bronze.kept"); got != "30000" {
				t.Fatalf("kept has %s rows, want 30000", got)
			}
		})
	}
	if code, _, errOut := cli(t, "ingest", "--server", flightAddr, "--table", "kept", "--progress", "none", "--max-decompression-ratio", "-1", good); code != 2 || !strings.Contains(errOut, "max-decompression-ratio") {
		t.Fatalf("negative ratio: exit %d %q", code, errOut)
	}
}
