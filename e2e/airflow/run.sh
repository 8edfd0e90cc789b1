#!/usr/bin/env bash
# The Airflow DAGs (dags/) tested with Apache Airflow 3 in its own virtualenv: their DagBag
# (imports, schedules, retries, timeouts, callbacks), then `airflow dags test` of each DAG against
# a real lakeflight server the tests start, with dbt from e2e/.venv.
#
#   make test-airflow                              # builds bin/lakeflight and e2e/.venv first
#   LAKEFLIGHT_BIN=/path/to/lakeflight e2e/airflow/run.sh [pytest args...]
#
# The binary is not built here, nor e2e/.venv (make setup); the Airflow virtualenv is made or
# updated by setup.sh from the pinned files.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
export LAKEFLIGHT_BIN="${LAKEFLIGHT_BIN:-$repo/bin/lakeflight}"
case "$LAKEFLIGHT_BIN" in /*) ;; *) LAKEFLIGHT_BIN="$PWD/$LAKEFLIGHT_BIN" ;; esac

if [[ ! -x "$LAKEFLIGHT_BIN" ]]; then
  echo "airflow: no lakeflight binary at $LAKEFLIGHT_BIN (run 'make build' or set LAKEFLIGHT_BIN)" >&2
  exit 1
fi
if [[ ! -x "$repo/e2e/.venv/bin/dbt" ]]; then
  echo "airflow: no dbt in e2e/.venv: the server's transforms need it (run 'make setup')" >&2
  exit 1
fi

bash "$here/setup.sh"
echo "airflow: pytest against $LAKEFLIGHT_BIN" >&2
cd "$here"
exec "$here/.venv/bin/python" -m pytest -v "$@"
