// Package ingest turns raw files — CSV/TSV, JSON (newline-delimited or one
// top-level array) and Parquet, optionally gzip or zstd compressed — into
// Arrow record batches, streaming with bounded memory and parsing pieces of
// the input in parallel. It sits between the sources of data (the
// `lakeflight ingest` client, the sidecar's POST /ingest, Flight DoPut) and
// the catalog: Writer validates and evolves the target table's schema and
// commits each ingest as one Iceberg snapshot, with rejected rows beside it.
package ingest
