// Package profile lets the benchmark drivers run under a CPU profile.
package profile

import (
	"os"
	"runtime/pprof"
)

// Run runs f, under a CPU profile written to path when path is set.
func Run(path string, f func() error) error {
	if path == "" {
		return f()
	}
	file, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() { _ = file.Close() }()
	if err := pprof.StartCPUProfile(file); err != nil {
		return err
	}
	defer pprof.StopCPUProfile()
	return f()
}
