package catalog

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Automatic upkeep: table properties, unset by default, that make the
// server maintain a table after its commits (the engine's upkeep worker):
// compaction once a partition has PropUpkeepCompactMinFiles small files,
// snapshot expiry past PropUpkeepExpireOlderThan.
const (
	PropUpkeepCompactMinFiles = "lakeflight.upkeep.compact-min-files"  // at least 2
	PropUpkeepExpireOlderThan = "lakeflight.upkeep.expire-older-than"  // a duration: 36h, 7d
	PropUpkeepRetainLast      = "lakeflight.upkeep.expire-retain-last" // default 1
)

// upkeepPrefix starts every upkeep property: a key under it that is not
// one of them (a typo) is refused when set, never stored and ignored.
const upkeepPrefix = "lakeflight.upkeep."

// Upkeep is what a table's upkeep properties ask for.
type Upkeep struct {
	CompactMinFiles int // 0: no compaction
	Expire          bool
	ExpireOptions   ExpireOptions
}

// UpkeepOf reads the upkeep properties; a value that cannot be read is an
// ErrInvalidArgument naming it.
func UpkeepOf(props map[string]string) (Upkeep, error) {
	u := Upkeep{ExpireOptions: ExpireOptions{RetainLast: 1}}
	if v, ok := props[PropUpkeepCompactMinFiles]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 2 {
			return u, fmt.Errorf("%w: table property %s is %q: want a number of files, at least 2", ErrInvalidArgument, PropUpkeepCompactMinFiles, v)
		}
		u.CompactMinFiles = n
	}
	if v, ok := props[PropUpkeepExpireOlderThan]; ok {
		d, err := ParseAge(v)
		if err != nil {
			return u, fmt.Errorf("%w: table property %s: %w", ErrInvalidArgument, PropUpkeepExpireOlderThan, err)
		}
		u.Expire, u.ExpireOptions.OlderThan = true, d
	}
	if v, ok := props[PropUpkeepRetainLast]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return u, fmt.Errorf("%w: table property %s is %q: want a number of snapshots, at least 1", ErrInvalidArgument, PropUpkeepRetainLast, v)
		}
		u.ExpireOptions.RetainLast = n
	}
	return u, nil
}

// ParseAge reads a duration as Go writes them ("36h", "90m") or a whole
// number of days ("7d").
func ParseAge(v string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(v, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n >= 0 {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q: want a duration such as \"120h\" or \"7d\"", v)
	}
	return d, nil
}
