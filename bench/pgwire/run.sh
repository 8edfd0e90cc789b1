#!/usr/bin/env bash
# The PostgreSQL wire-protocol bench (make bench-pgwire): the same rows read from lakeflight over
# Flight SQL and from PostgreSQL by its usual Python clients. Installs Debian's postgresql when its
# server binaries are missing, makes the pinned virtualenv bench/pgwire/.venv if it is missing or
# its requirements changed, then runs the driver in a work directory of its own. Whatever happens
# to the driver, the trap stops what is left of its PostgreSQL cluster and lakeflight server and
# removes the work directory. The binary is not built here (make bench-pgwire builds it).
# Arguments go to the driver (--rows, --runs, --readers, --bin, --out; --help lists them).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

if ! compgen -G '/usr/lib/postgresql/*/bin/pg_ctl' >/dev/null || ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
  echo "pgwire: installing Debian's postgresql" >&2
  sudo=""
  [[ "$(id -u)" == 0 ]] || sudo=sudo
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends postgresql
fi

# shellcheck source=../venv.sh
source "$here/../venv.sh"

bench_venv "$here/.venv" "$here/requirements.txt"

work="$(mktemp -d "${TMPDIR:-/tmp}/lakeflight-pgwire.XXXXXX")"
cleanup() {
  local data="$work/pg/data" pid ctl
  if [[ -f "$data/postmaster.pid" ]]; then
    ctl="/usr/lib/postgresql/$(cat "$data/PG_VERSION")/bin/pg_ctl"
    if [[ "$(id -u)" == 0 ]]; then
      runuser -u postgres -- "$ctl" stop -D "$data" -m immediate -w >/dev/null 2>&1 || true
    else
      "$ctl" stop -D "$data" -m immediate -w >/dev/null 2>&1 || true
    fi
  fi
  # The driver's lakeflight server, if the driver died without stopping it: the pid it wrote, and
  # only while that process is still the one serving this work directory.
  if [[ -f "$work/lakeflight.pid" ]]; then
    pid="$(cat "$work/lakeflight.pid")"
    if tr '\0' '\n' 2>/dev/null <"/proc/$pid/cmdline" | grep -qxF "$work/lakeflight-data"; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
      if tr '\0' '\n' 2>/dev/null <"/proc/$pid/cmdline" | grep -qxF "$work/lakeflight-data"; then
        kill -9 "$pid" 2>/dev/null || true
      fi
    fi
  fi
  rm -rf "$work"
}
trap cleanup EXIT

cd "$repo"
# The driver runs in the background so that a signal to this script reaches it now (bash runs a
# trap only once its foreground command has ended); it stops its servers on SIGTERM.
"$here/.venv/bin/python" "$here/main.py" --work "$work" "$@" &
driver=$!
trap 'kill -TERM "$driver" 2>/dev/null || true' INT TERM
status=0
wait "$driver" || status=$?
while kill -0 "$driver" 2>/dev/null; do # wait returned early for a signal: wait for the driver itself
  wait "$driver" || status=$?
done
exit "$status"
