#!/usr/bin/env bash
# End-to-end tests with real clients against a real lakeflight binary:
# Python ADBC (pytest) and the Arrow Flight SQL JDBC driver (Maven/JUnit).
#
#   make build && e2e/run.sh            # uses bin/lakeflight
#   LAKEFLIGHT_BIN=/path/to/lakeflight e2e/run.sh [pytest args...]
#
# The binary is not built here. The virtualenv e2e/.venv is created or updated
# from e2e/requirements.txt, plus the dbt adapter in dbt/adapter, only when one of
# them changed. Set E2E_SKIP_JDBC=1 to run only the Python tests.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
export LAKEFLIGHT_BIN="${LAKEFLIGHT_BIN:-$repo/bin/lakeflight}"
case "$LAKEFLIGHT_BIN" in /*) ;; *) LAKEFLIGHT_BIN="$PWD/$LAKEFLIGHT_BIN" ;; esac

if [[ ! -x "$LAKEFLIGHT_BIN" ]]; then
  echo "e2e: no lakeflight binary at $LAKEFLIGHT_BIN (run 'make build' or set LAKEFLIGHT_BIN)" >&2
  exit 1
fi

bash "$here/setup.sh"
venv="$here/.venv"

status=0

echo "e2e: pytest (ADBC Python) against $LAKEFLIGHT_BIN" >&2
(cd "$here" && "$venv/bin/python" -m pytest -v "$@") || status=1

if [[ "${E2E_SKIP_JDBC:-0}" != 1 ]]; then
  echo "e2e: JUnit (Flight SQL JDBC driver) against $LAKEFLIGHT_BIN" >&2
  (cd "$here/jdbc" && mvn -B -ntp test) || status=1
fi

exit "$status"
