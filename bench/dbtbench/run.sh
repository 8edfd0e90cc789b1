#!/usr/bin/env bash
# The dbt build benchmark (make bench): lakeflight against dbt-duckdb on the demo shop. Makes
# sure e2e/.venv is installed (e2e/setup.sh, which does nothing when nothing changed), then runs
# the driver with the venv's Python, which has dbt, dbt-duckdb, the lakeflight adapter, ADBC and
# duckdb. Arguments go to the driver (--scale, --runs, --bin, --out; --help lists them).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
bash e2e/setup.sh
exec e2e/.venv/bin/python bench/dbtbench/main.py "$@"
