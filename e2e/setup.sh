#!/usr/bin/env bash
# The Python environment of the repository: e2e/.venv with the test clients, dbt and the
# lakeflight dbt adapter, from the pinned e2e/requirements.txt and dbt/adapter. `make setup`
# runs this; so do `make test` (through e2e/run.sh) and `make demo`. It reinstalls only when
# the requirements or the adapter's sources changed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"

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
