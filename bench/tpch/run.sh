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
python="${PYTHON:-python3.11}"
command -v "$python" >/dev/null || python=python3

venv() { # venv DIR REQUIREMENTS: create or update DIR from the pinned file
  local dir="$1" req="$2" want
  want="$(sha256sum "$req" | cut -d' ' -f1)"
  if [[ ! -x "$dir/bin/python" ]]; then
    echo "tpch: creating $dir" >&2
    "$python" -m venv "$dir"
  fi
  if [[ "$(cat "$dir/.requirements.sha256" 2>/dev/null)" != "$want" ]]; then
    echo "tpch: installing $req" >&2
    "$dir/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
    echo "$want" >"$dir/.requirements.sha256"
  fi
}

venv "$here/.venv" "$here/requirements.txt"
venv "$here/.venv-duckdb" "$here/requirements-duckdb.txt"
cd "$repo"
exec "$here/.venv/bin/python" "$here/main.py" --duckdb-python "$here/.venv-duckdb/bin/python" "$@"
