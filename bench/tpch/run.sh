#!/usr/bin/env bash
# The TPC-H benchmark (make bench-tpch): the 22 queries over lakeflight's Flight SQL against DuckDB
# in-process. Makes the two pinned virtualenvs if they are missing or their requirements changed
# (bench/tpch/.venv: the driver, DuckDB 1.5.5 with the tpch, iceberg and avro extension wheels,
# ADBC; bench/tpch/.venv-duckdb: DuckDB 1.5.6, the release lakeflight embeds, for the in-process
# yardstick), then runs the driver. The binary is not built here (make bench-tpch builds it).
# Arguments go to the driver (--sf, --runs, --queries, --bin, --out, --explain; --help lists them).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

# shellcheck source=../venv.sh
source "$here/../venv.sh"

bench_venv "$here/.venv" "$here/requirements.txt"
bench_venv "$here/.venv-duckdb" "$here/requirements-duckdb.txt"
cd "$repo"
exec "$here/.venv/bin/python" "$here/main.py" --duckdb-python "$here/.venv-duckdb/bin/python" "$@"
