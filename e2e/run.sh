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

python="${PYTHON:-python3.11}"
command -v "$python" >/dev/null || python=python3
venv="$here/.venv"
stamp="$venv/.requirements.sha256"
adapter="$repo/dbt/adapter"
# The stamp covers the requirements and every source file of the adapter (its pyproject,
# Python and macros): the adapter is installed as a copy, so any change needs a reinstall.
want="$(
  {
    sha256sum "$here/requirements.txt"
    (cd "$adapter" && find . \( -name build -o -name '*.egg-info' -o -name __pycache__ -o -name .ruff_cache \) -prune -o -type f -print |
      LC_ALL=C sort | xargs -d '\n' sha256sum)
  } | sha256sum | cut -d' ' -f1
)"
if [[ ! -x "$venv/bin/python" ]]; then
  echo "e2e: creating $venv" >&2
  "$python" -m venv "$venv"
fi
if [[ "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
  echo "e2e: installing $here/requirements.txt" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"
  echo "e2e: installing the dbt adapter from $adapter" >&2
  # --no-build-isolation: built with the pinned setuptools above, nothing fetched to build it.
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation \
    --force-reinstall "$adapter"
  rm -rf "$adapter/build" "$adapter"/*.egg-info
  echo "$want" >"$stamp"
fi

status=0

echo "e2e: pytest (ADBC Python) against $LAKEFLIGHT_BIN" >&2
(cd "$here" && "$venv/bin/python" -m pytest -v "$@") || status=1

if [[ "${E2E_SKIP_JDBC:-0}" != 1 ]]; then
  echo "e2e: JUnit (Flight SQL JDBC driver) against $LAKEFLIGHT_BIN" >&2
  (cd "$here/jdbc" && mvn -B -ntp test) || status=1
fi

exit "$status"
