# Sourced by the benches' scripts: bench_venv DIR REQUIREMENTS makes or updates
# the virtualenv DIR from a pinned requirements file, reinstalling only when
# the file changed (its hash is kept in DIR/.requirements.sha256). Uses
# $PYTHON (default python3.11, else python3) to create it.
bench_venv() {
  local dir="$1" req="$2" want python="${PYTHON:-python3.11}"
  command -v "$python" >/dev/null || python=python3
  want="$(sha256sum "$req" | cut -d' ' -f1)"
  if [[ ! -x "$dir/bin/python" ]]; then
    echo "bench: creating $dir" >&2
    "$python" -m venv "$dir"
  fi
  if [[ "$(cat "$dir/.requirements.sha256" 2>/dev/null)" != "$want" ]]; then
    echo "bench: installing $req into $dir" >&2
    "$dir/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
    echo "$want" >"$dir/.requirements.sha256"
  fi
}
