package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// ByteSize is a size in bytes, written as a number of bytes or with a unit:
// 500MB, 1GiB, 64KiB (kB/MB/GB/TB are powers of 1000, KiB/MiB/GiB/TiB of
// 1024).
type ByteSize int64

var byteUnits = []struct {
	suffix string
	mult   int64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12},
	{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"t", 1 << 40},
	{"b", 1},
}

// ParseByteSize reads a size such as 1073741824, 1GiB or 500MB.
func ParseByteSize(s string) (ByteSize, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range byteUnits {
		if num, ok := strings.CutSuffix(t, u.suffix); ok {
			t, mult = strings.TrimSpace(num), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, fmt.Errorf("%q is not a size (want bytes, or a number with kB, MB, GB, KiB, MiB or GiB)", s)
	}
	n := f * float64(mult)
	if n > math.MaxInt64 {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return ByteSize(n), nil
}

// UnmarshalYAML reads a size from the config file.
func (b *ByteSize) UnmarshalYAML(node *yaml.Node) error {
	n, err := ParseByteSize(node.Value)
	if err != nil {
		return err
	}
	*b = n
	return nil
}

// String prints the size in bytes.
func (b ByteSize) String() string { return strconv.FormatInt(int64(b), 10) }
