#!/usr/bin/env bash
# Builds the Lambda artefacts Terraform deploys, deterministically (same input -> same bytes):
#   dist/api.zip                    packages api/ and common/ (handler api.handler.handler)
#   dist/processor.zip              packages processor/ and common/ (handler processor.handler.handler)
#   dist/pillow-layer-<arch>.zip    python/ with the pinned runtime dependencies (Pillow)
#
# Usage: ./build.sh [--arch x86_64|arm64] [--out DIR]   (or ARCH=..., DIST_DIR=... in the env)
# Runs from any folder. The layer is vendored from manylinux wheels for CPython 3.12 on the
# chosen architecture and cached in .local/build-cache (keyed by requirements + architecture),
# so a second run does not call pip at all.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ARCH="${ARCH:-x86_64}"
DIST_DIR="${DIST_DIR:-$REPO/dist}"
CACHE_DIR="${BUILD_CACHE_DIR:-$REPO/.local/build-cache}"
DEFAULT_REQUIREMENT="Pillow==13.0.0"

# Lambda quotas (bytes).
MAX_DIRECT_ZIP=$((50 * 1024 * 1024))      # zipped deployment package / layer, direct upload
MAX_UNZIPPED_TOTAL=$((250 * 1024 * 1024)) # function + all its layers, unzipped

die() { echo "build.sh: error: $*" >&2; exit 1; }
note() { echo "build.sh: $*"; }

while [ $# -gt 0 ]; do
  case "$1" in
    --arch) [ $# -ge 2 ] || die "--arch needs a value"; ARCH="$2"; shift 2 ;;
    --arch=*) ARCH="${1#--arch=}"; shift ;;
    --out) [ $# -ge 2 ] || die "--out needs a value"; DIST_DIR="$2"; shift 2 ;;
    --out=*) DIST_DIR="${1#--out=}"; shift ;;
    -h|--help) sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done

case "$ARCH" in
  x86_64|arm64) ;;
  *) die "architecture must be x86_64 or arm64, got '$ARCH'" ;;
esac
case "$ARCH" in
  x86_64) WHEEL_ARCH=x86_64 ;;
  arm64) WHEEL_ARCH=aarch64 ;;
esac

mkdir -p "$DIST_DIR"
DIST_DIR="$(cd "$DIST_DIR" && pwd)"

# Python that runs pip and the zip writer: the project venv when present.
if [ -x "$REPO/.venv/bin/python" ]; then
  PY="$REPO/.venv/bin/python"
else
  PY="$(command -v python3)" || die "no python3 found"
fi
ZIP=("$PY" "$REPO/scripts/deterministic_zip.py")

human() {
  awk -v b="$1" 'BEGIN { if (b < 1048576) printf "%.1f KiB", b / 1024; else printf "%.1f MiB", b / 1048576 }'
}

declare -A UNZIPPED=()
report() { # name entries unzipped zipped
  printf '  %-28s %6s files  %12s unzipped  %12s zipped\n' "$1" "$2" "$(human "$3")" "$(human "$4")"
}

# --- function packages -------------------------------------------------------------------
build_function() {
  # A function's zip holds its own package and the shared `common` package, as importable
  # folders at the zip root (handler `<name>.handler.handler`). `common` goes into each zip,
  # not a layer: it is a few KiB, and a function then always deploys with exactly the contract
  # it was tested with (no layer version to keep in step).
  local name="$1" src="$REPO/lambda_src/$1"
  [ -f "$src/handler.py" ] || die "missing $src/handler.py (the function's entry point)"
  [ -f "$src/__init__.py" ] || die "missing $src/__init__.py ($name must be a package)"
  local args=("$DIST_DIR/$name.zip" --include-glob "$name/*:$REPO/lambda_src" --include-glob "common/*:$REPO/lambda_src")
  local out entries unzipped zipped
  out="$("${ZIP[@]}" "${args[@]}")" || die "zipping $name failed"
  read -r entries unzipped zipped <<<"$out"
  UNZIPPED[$name]=$unzipped
  report "$name.zip" "$entries" "$unzipped" "$zipped"
}

# --- Pillow layer ------------------------------------------------------------------------
REQUIREMENTS="$REPO/lambda_src/requirements-layer.txt"
REQ_TMP=""
cleanup() { [ -z "$REQ_TMP" ] || rm -f "$REQ_TMP"; }
trap cleanup EXIT
if [ ! -f "$REQUIREMENTS" ]; then
  REQ_TMP="$(mktemp)"
  echo "$DEFAULT_REQUIREMENT" >"$REQ_TMP"
  REQUIREMENTS="$REQ_TMP"
  note "lambda_src/requirements-layer.txt not found: using $DEFAULT_REQUIREMENT"
fi

# manylinux_2_28 as well as manylinux2014: with only the latter pip silently picks an older Pillow.
PIP_ARGS=(
  install --quiet --no-compile --upgrade
  --platform "manylinux_2_28_$WHEEL_ARCH" --platform "manylinux2014_$WHEEL_ARCH"
  --implementation cp --python-version 3.12 --only-binary=:all:
)
LAYER_KEY="$( { echo "$ARCH"; printf '%s\n' "${PIP_ARGS[@]}"; cat "$REQUIREMENTS"; } | sha256sum | cut -c1-16)"
LAYER_DIR="$CACHE_DIR/layer-$ARCH-$LAYER_KEY"
LAYER_STAMP="$LAYER_DIR.complete"

vendor_layer() {
  if [ -f "$LAYER_STAMP" ] && [ -d "$LAYER_DIR/python" ]; then
    note "layer ($ARCH): reusing $LAYER_DIR"
    return
  fi
  note "layer ($ARCH): vendoring $(grep -v '^\s*#' "$REQUIREMENTS" | xargs) from manylinux wheels for CPython 3.12"
  rm -rf "$LAYER_DIR" "$LAYER_STAMP"
  mkdir -p "$LAYER_DIR/python"
  "$PY" -m pip "${PIP_ARGS[@]}" --target "$LAYER_DIR/python" -r "$REQUIREMENTS" \
    || die "pip could not vendor the layer for $ARCH (are manylinux wheels for cp312 available?)"
  # pip --target leaves a bin/ folder for console scripts: not importable, not needed.
  rm -rf "$LAYER_DIR/python/bin"
  touch "$LAYER_STAMP"
}

smoke_test_layer() {
  if [ "$ARCH" != "x86_64" ]; then
    note "layer smoke test skipped: $ARCH wheels cannot be imported on this $(uname -m) machine"
    return
  fi
  if [ "$(uname -m)" != "x86_64" ]; then
    note "layer smoke test skipped: this machine is $(uname -m)"
    return
  fi
  local py312=""
  if command -v pyenv >/dev/null 2>&1 && pyenv prefix 3.12.1 >/dev/null 2>&1; then
    py312="$(pyenv prefix 3.12.1)/bin/python3.12"
  fi
  if [ -z "$py312" ] || [ ! -x "$py312" ]; then
    py312="$(command -v python3.12 || true)"
  fi
  if [ -z "$py312" ]; then
    note "layer smoke test skipped: no Python 3.12 interpreter found"
    return
  fi
  # -S: no site-packages, so only the layer can provide PIL.
  LAYER_PYTHON="$LAYER_DIR/python" PYTHONPATH="$LAYER_DIR/python" "$py312" -S -c '
import os, sys
from PIL import Image, ImageCms, features
import PIL
assert PIL.__file__.startswith(os.environ["LAYER_PYTHON"]), PIL.__file__
missing = [f for f in ("jpg", "webp", "zlib", "littlecms2") if not features.check(f)]
assert not missing, f"Pillow in the layer lacks: {missing}"
img = Image.new("RGB", (64, 48), "red").resize((32, 24), Image.Resampling.LANCZOS)
import io
for fmt in ("JPEG", "WEBP", "PNG"):
    img.save(io.BytesIO(), fmt)
ImageCms.createProfile("sRGB")
print(f"build.sh: layer smoke test passed: Pillow {PIL.__version__} under Python {sys.version.split()[0]}")
' || die "the layer does not import under Python 3.12 ($py312)"
}

note "building into $DIST_DIR (architecture $ARCH)"
build_function api
build_function processor

vendor_layer
smoke_test_layer
LAYER_ZIP="$DIST_DIR/pillow-layer-$ARCH.zip"
out="$("${ZIP[@]}" "$LAYER_ZIP" "$LAYER_DIR")" || die "zipping the layer failed"
read -r entries layer_unzipped layer_zipped <<<"$out"
report "pillow-layer-$ARCH.zip" "$entries" "$layer_unzipped" "$layer_zipped"

# --- Lambda limits -----------------------------------------------------------------------
for f in "$DIST_DIR/api.zip" "$DIST_DIR/processor.zip" "$LAYER_ZIP"; do
  size=$(stat -c %s "$f")
  [ "$size" -le "$MAX_DIRECT_ZIP" ] \
    || die "$(basename "$f") is $(human "$size") zipped; Lambda accepts at most 50 MiB for a direct upload"
done
total=$((UNZIPPED[processor] + layer_unzipped))
[ "$total" -le "$MAX_UNZIPPED_TOTAL" ] \
  || die "processor + layer are $(human "$total") unzipped; Lambda allows at most 250 MiB"
note "processor + layer unzipped: $(human "$total") of 250 MiB allowed"
note "done"
