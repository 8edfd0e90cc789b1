#!/usr/bin/env bash
# The Airflow virtualenv (e2e/airflow/.venv): Apache Airflow and what the DAGs in dags/ import,
# from dags/requirements.txt with the committed full freeze dags/constraints.txt as constraints,
# plus the test runner (e2e/airflow/requirements.txt). It is apart from e2e/.venv (dbt), whose
# pins conflict with Airflow's. Reinstalls only when one of those three files changed.
#
#   e2e/airflow/setup.sh            # make or update the venv (run.sh and make test-airflow call it)
#   e2e/airflow/setup.sh --freeze   # after a version bump: a fresh venv without constraints,
#                                   # then its pip freeze written to dags/constraints.txt
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

python="${PYTHON:-python3.11}"
command -v "$python" >/dev/null || python=python3
venv="$here/.venv"
stamp="$venv/.requirements.sha256"
constraints="$repo/dags/constraints.txt"
pip=("$venv/bin/python" -m pip install --quiet --disable-pip-version-check)

if [[ "${1:-}" == --freeze ]]; then
  rm -rf "$venv"
  echo "airflow: creating $venv without constraints" >&2
  "$python" -m venv "$venv"
  "${pip[@]}" -r "$here/requirements.txt"
  {
    echo "# Full freeze of the Airflow virtualenv (e2e/airflow/setup.sh --freeze): the constraints"
    echo "# dags/requirements.txt installs with, since Airflow's own constraints files cannot be fetched."
    "$venv/bin/python" -m pip freeze --disable-pip-version-check | LC_ALL=C sort -f
  } >"$constraints"
  echo "airflow: wrote $constraints" >&2
fi

want="$(cat "$repo/dags/requirements.txt" "$constraints" "$here/requirements.txt" | sha256sum | cut -d' ' -f1)"
if [[ ! -x "$venv/bin/python" ]]; then
  echo "airflow: creating $venv" >&2
  "$python" -m venv "$venv"
fi
if [[ "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
  echo "airflow: installing $here/requirements.txt with $constraints" >&2
  "${pip[@]}" -r "$here/requirements.txt" -c "$constraints"
  echo "$want" >"$stamp"
fi
