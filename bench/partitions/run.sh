#!/usr/bin/env bash
# Partition pruning (issue 13): a one-day query on a 100-day table, partitioned and not, and DuckDB's
# iceberg extension on the partitioned one. Uses the TPC-H bench's pinned virtualenv (DuckDB 1.5.5
# with its iceberg and avro extension wheels, ADBC). The binary is not built here (make bench builds
# it). Arguments go to the driver (--rows, --runs, --bin, --out).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

# shellcheck source=../venv.sh
source "$here/../venv.sh"

bench_venv "$repo/bench/tpch/.venv" "$repo/bench/tpch/requirements.txt"
cd "$repo"
exec "$repo/bench/tpch/.venv/bin/python" "$here/main.py" "$@"
