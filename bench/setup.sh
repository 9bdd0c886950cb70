#!/usr/bin/env bash
# Creates (or refreshes) the benchmark virtualenv .local/venvs/bench from bench/requirements.txt
# and prints the path of its python. Idempotent: a second run with unchanged requirements does
# not call pip. The project venv (.venv) is never touched: pyvips, numpy and matplotlib are
# benchmark-only dependencies.
#
# pyvips 3.x is published as a source distribution only (pip would pick pyvips 2.1 under
# --only-binary, which fails with pyvips-binary 8.18); `pip wheel --no-deps` builds it into a
# pure-Python wheel without a compiler, cached in .local/build-cache/bench-wheels.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${BENCH_VENV:-$REPO/.local/venvs/bench}"
REQUIREMENTS="$REPO/bench/requirements.txt"
WHEELS="$REPO/.local/build-cache/bench-wheels"

note() { echo "bench/setup.sh: $*" >&2; }

# shellcheck source=local/venv.sh
. "$REPO/local/venv.sh" # find_python, venv_is_current, make_venv, hash_of

wanted="$(hash_of "$REQUIREMENTS" "${BASH_SOURCE[0]}")"
if venv_is_current "$VENV" "$wanted"; then
  echo "$VENV/bin/python"
  exit 0
fi

PY="${BENCH_PYTHON:-$(find_python 3.12)}"
[ -n "$PY" ] || { note "error: Python 3.12 is needed (the Lambda runtime's version)"; exit 1; }
note "creating $VENV with $PY"

pyvips_pin="$(grep -E '^pyvips==' "$REQUIREMENTS" | head -n1)"
mkdir -p "$WHEELS"
if ! ls "$WHEELS"/pyvips-"${pyvips_pin#pyvips==}"-*.whl >/dev/null 2>&1; then
  note "building a wheel of $pyvips_pin (sdist only on PyPI)"
  "$PY" -m pip wheel --quiet --no-deps --wheel-dir "$WHEELS" "$pyvips_pin" >&2
fi
make_venv "$VENV" "$PY" "$wanted" --find-links "$WHEELS" -r "$REQUIREMENTS" ||
  { note "error: pip could not install $REQUIREMENTS"; exit 1; }
if ! "$VENV/bin/python" -c 'import PIL, numpy, matplotlib, pyvips; print("pyvips", pyvips.__version__, "libvips", pyvips.version(0), pyvips.version(1), pyvips.version(2))' >&2; then
  rm -f "$VENV/.stamp" # not usable: rebuilt on the next run
  note "error: the benchmark virtualenv does not import its packages"
  exit 1
fi
echo "$VENV/bin/python"
