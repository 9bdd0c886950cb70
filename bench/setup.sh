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
STAMP="$VENV/.requirements.sha256"

note() { echo "bench/setup.sh: $*" >&2; }

find_python312() {
  for candidate in "${BENCH_PYTHON:-}" python3.12 "$REPO/.venv/bin/python"; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null; then
      # the base interpreter, not a venv's (a venv made from a venv shares its site-packages)
      "$candidate" -c 'import sys; print(sys._base_executable)'
      return 0
    fi
  done
  return 1
}

wanted="$(sha256sum "$REQUIREMENTS" "${BASH_SOURCE[0]}" | sha256sum | cut -d' ' -f1)"
if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$wanted" ]; then
  echo "$VENV/bin/python"
  exit 0
fi

PY="$(find_python312)" || { note "error: Python 3.12 is needed (the Lambda runtime's version)"; exit 1; }
note "creating $VENV with $PY"
rm -rf "$VENV"
"$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip >&2

pyvips_pin="$(grep -E '^pyvips==' "$REQUIREMENTS" | head -n1)"
mkdir -p "$WHEELS"
if ! ls "$WHEELS"/pyvips-"${pyvips_pin#pyvips==}"-*.whl >/dev/null 2>&1; then
  note "building a wheel of $pyvips_pin (sdist only on PyPI)"
  "$VENV/bin/python" -m pip wheel --quiet --no-deps --wheel-dir "$WHEELS" "$pyvips_pin" >&2
fi
"$VENV/bin/python" -m pip install --quiet --find-links "$WHEELS" -r "$REQUIREMENTS" >&2
"$VENV/bin/python" -c 'import PIL, numpy, matplotlib, pyvips; print("pyvips", pyvips.__version__, "libvips", pyvips.version(0), pyvips.version(1), pyvips.version(2))' >&2
echo "$wanted" >"$STAMP"
echo "$VENV/bin/python"
