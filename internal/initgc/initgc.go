// Package initgc keeps the garbage collector off while the binary's packages
// initialise. Linking iceberg-go's table package runs its Substrait set-up
// (table/substrait: ~32 MB in ~530k allocations) in every process, so every
// `lakeflight` command, the ingest client included, paid about 30 ms of CPU
// in collections of that start-up garbage (lakeflight version: 109 → 81 ms
// of CPU). main calls Restore first thing.
//
// It works because Go initialises packages in dependency order, breaking
// ties by import path: this package needs only runtime/debug, so it is
// initialised long before iceberg-go's (cmd/lakeflight's test checks the
// order).
package initgc

import "runtime/debug"

// percent is GOGC as the process started with it (-1 for off).
var percent = debug.SetGCPercent(-1)

// Restore turns the collector back on as GOGC set it.
func Restore() { debug.SetGCPercent(percent) }
