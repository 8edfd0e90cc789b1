#!/usr/bin/env bash
# TPC-H Parquet files for the load bench (make bench-load): tpchdata.sh DIR [SF].
# Uses the TPC-H bench's virtualenv (bench/tpch/.venv, made here from its pinned requirements
# when missing or stale, with the same stamp bench/tpch/run.sh keeps) and its generator
# (bench/tpch/gen.py: DuckDB's dbgen, one Parquet file a table), which reuses DIR when it
# already holds the files at SF.
set -euo pipefail

dir="${1:?usage: tpchdata.sh DIR [SF]}"
sf="${2:-1}"
tpch="$(cd "$(dirname "${BASH_SOURCE[0]}")/../tpch" && pwd)"

venv="$tpch/.venv"
# shellcheck source=../venv.sh
source "$(dirname "${BASH_SOURCE[0]}")/../venv.sh"
bench_venv "$venv" "$tpch/requirements.txt"
exec "$venv/bin/python" - "$tpch" "$dir" "$sf" <<'EOF'
import sys
from pathlib import Path

sys.path.insert(0, sys.argv[1])
import gen  # noqa: E402

data = gen.generate(Path(sys.argv[2]), float(sys.argv[3]))
state = "reused" if data.reused else f"generated in {data.seconds:.1f} s"
print(f"tpchdata: SF {sys.argv[3]} in {data.dir} ({state})", file=sys.stderr)
EOF
