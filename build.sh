#!/usr/bin/env bash
# Builds the Lambda artefacts Terraform deploys, deterministically (same input -> same bytes):
#   dist/api.zip                    packages api/ and common/ (handler api.handler.handler)
#   dist/processor.zip              packages processor/ and common/ (handler processor.handler.handler)
#   dist/pillow-layer-<arch>.zip    python/ with Pillow and pi-heif (lambda_src/requirements-pillow-layer.txt), processor only
#   dist/sdk-layer-<arch>.zip       python/ with the pinned AWS SDK and PyJWT (lambda_src/requirements-sdk-layer.txt), both
#                                   (cryptography, PyJWT's RS256, is compiled: one architecture per zip, like Pillow's)
#
# Usage: ./build.sh [--arch x86_64|arm64] [--out DIR]   (or ARCH=..., DIST_DIR=... in the env)
# Runs from any folder. Layers are vendored from wheels for CPython 3.12 on the chosen
# architecture and cached in .local/build-cache (keyed by requirements + architecture).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ARCH="${ARCH:-x86_64}"
DIST_DIR="${DIST_DIR:-$REPO/dist}"
CACHE_DIR="${BUILD_CACHE_DIR:-$REPO/.local/build-cache}"

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

# --- layers ------------------------------------------------------------------------------
# A layer is python/ vendored by pip from manylinux wheels for CPython 3.12 on the chosen
# architecture (pure-Python wheels too), cached in .local/build-cache keyed by requirements and
# architecture, so a second run does not call pip at all.
# manylinux_2_28 as well as manylinux2014: with only the latter pip silently picks an older Pillow.
PIP_ARGS=(
  install --quiet --no-compile --upgrade --no-deps
  --platform "manylinux_2_28_$WHEEL_ARCH" --platform "manylinux2014_$WHEEL_ARCH"
  --implementation cp --python-version 3.12 --only-binary=:all:
)

vendor_layer() { # vendor_layer NAME REQUIREMENTS -> prints the cached layer folder
  local name="$1" requirements="$2" key dir
  [ -f "$requirements" ] || die "missing $requirements (the $name layer's pinned requirements)"
  key="$( { echo "$ARCH"; printf '%s\n' "${PIP_ARGS[@]}"; cat "$requirements"; } | sha256sum | cut -c1-16)"
  dir="$CACHE_DIR/$name-layer-$ARCH-$key"
  if [ -f "$dir.complete" ] && [ -d "$dir/python" ]; then
    note "$name layer ($ARCH): reusing $dir" >&2
  else
    note "$name layer ($ARCH): vendoring $(grep -v '^\s*#' "$requirements" | xargs) for CPython 3.12" >&2
    rm -rf "$dir" "$dir.complete"
    mkdir -p "$dir/python"
    # --no-deps: the requirements files pin every package, dependencies included.
    "$PY" -m pip "${PIP_ARGS[@]}" --target "$dir/python" -r "$requirements" >&2 \
      || die "pip could not vendor the $name layer for $ARCH (are wheels for cp312 on $WHEEL_ARCH available?)"
    # pip --target leaves a bin/ folder for console scripts: not importable, not needed.
    rm -rf "$dir/python/bin"
    touch "$dir.complete"
  fi
  echo "$dir"
}

python312() {
  if command -v pyenv >/dev/null 2>&1 && pyenv prefix 3.12.1 >/dev/null 2>&1; then
    echo "$(pyenv prefix 3.12.1)/bin/python3.12"
  else
    command -v python3.12 || true
  fi
}

check_wheel_tags() { # check_wheel_tags DIR: every vendored wheel is pure or built for $WHEEL_ARCH
  local dir="$1"
  "$PY" - "$dir/python" "$WHEEL_ARCH" <<'PYCHECK' || die "the layer in $dir holds binaries for another architecture"
import pathlib, sys
root, arch = pathlib.Path(sys.argv[1]), sys.argv[2]
machines = {"x86_64": 62, "aarch64": 183}  # ELF e_machine: EM_X86_64, EM_AARCH64
bad = []
for wheel in root.glob("*.dist-info/WHEEL"):
    tags = [line.split(":", 1)[1].strip() for line in wheel.read_text().splitlines() if line.startswith("Tag:")]
    if not all(tag.endswith("-any") or tag.endswith(arch) for tag in tags):
        bad.append(f"{wheel.parent.name}: {tags}")
shared = [p for p in root.rglob("*.so*") if p.is_file()]
for path in shared:
    head = path.read_bytes()[:20]
    if head[:4] == b"\x7fELF" and int.from_bytes(head[18:20], "little") != machines[arch]:
        bad.append(f"{path.relative_to(root)}: ELF machine {int.from_bytes(head[18:20], 'little')}")
if bad:
    print("\n".join(bad), file=sys.stderr)
    sys.exit(1)
print(f"build.sh: wheel tags and {len(shared)} shared libraries are {arch}")
PYCHECK
}

smoke_test_layer() { # smoke_test_layer DIR SCRIPT: import the layer alone under Python 3.12
  local dir="$1" script="$2" py312
  check_wheel_tags "$dir"
  if [ "$ARCH" != "x86_64" ] || [ "$(uname -m)" != "x86_64" ]; then
    note "layer import smoke test skipped: $ARCH binaries cannot be loaded on this $(uname -m) machine (wheel tags and ELF headers checked instead)"
    return
  fi
  py312="$(python312)"
  [ -n "$py312" ] && [ -x "$py312" ] || die "no Python 3.12 interpreter found for the layer smoke test"
  # -S: no site-packages, so only the layer can provide the packages.
  LAYER_PYTHON="$dir/python" PYTHONPATH="$dir/python" "$py312" -S -c "$script" \
    || die "the layer in $dir does not import under Python 3.12 ($py312)"
}

PILLOW_SMOKE='
import io, os, sys
from PIL import Image, ImageCms, features
import PIL
assert PIL.__file__.startswith(os.environ["LAYER_PYTHON"]), PIL.__file__
missing = [f for f in ("jpg", "webp", "zlib", "littlecms2", "avif") if not features.check(f)]
assert not missing, f"Pillow in the layer lacks: {missing}"
import pi_heif
assert pi_heif.__file__.startswith(os.environ["LAYER_PYTHON"]), pi_heif.__file__
assert "libde265" in str(pi_heif.libheif_info()["decoders"]), pi_heif.libheif_info()
pi_heif.register_heif_opener()
img = Image.new("RGB", (64, 48), "red").resize((32, 24), Image.Resampling.LANCZOS)
for fmt in ("JPEG", "WEBP", "PNG", "AVIF"):
    img.save(io.BytesIO(), fmt)
buffer = io.BytesIO()
img.save(buffer, "AVIF")
assert Image.open(io.BytesIO(buffer.getvalue())).size == (32, 24)
ImageCms.createProfile("sRGB")
print(f"build.sh: pillow layer smoke test passed: Pillow {PIL.__version__} (AVIF {features.version("avif")}), pi-heif {pi_heif.__version__} (libheif {pi_heif.libheif_version()}) under Python {sys.version.split()[0]}")
'
SDK_SMOKE='
import os, sys
import boto3, botocore
from botocore.config import Config
assert botocore.__file__.startswith(os.environ["LAYER_PYTHON"]), botocore.__file__
client = boto3.client("s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y",
                      config=Config(signature_version="s3v4"))
url = client.generate_presigned_url("put_object", Params={"Bucket": "b", "Key": "k",
      "ContentType": "image/png", "ContentLength": 1, "IfNoneMatch": "*"}, ExpiresIn=60)
assert "if-none-match" in url, url
# Sign-in: PyJWT verifies RS256 with cryptography (its compiled part must load under 3.12).
import jwt, cryptography
from cryptography.hazmat.primitives.asymmetric import rsa
assert jwt.__file__.startswith(os.environ["LAYER_PYTHON"]), jwt.__file__
assert cryptography.__file__.startswith(os.environ["LAYER_PYTHON"]), cryptography.__file__
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
token = jwt.encode({"sub": "s"}, key, algorithm="RS256", headers={"kid": "k"})
assert jwt.decode(token, key.public_key(), algorithms=["RS256"])["sub"] == "s"
print(f"build.sh: sdk layer smoke test passed: boto3 {boto3.__version__}, botocore {botocore.__version__}, PyJWT {jwt.__version__}, cryptography {cryptography.__version__}")
'

build_layer() { # build_layer NAME REQUIREMENTS ZIP SMOKE: vendor, smoke-test, zip; sets LAYER_UNZIPPED
  local dir out entries zipped
  dir="$(vendor_layer "$1" "$2")"
  smoke_test_layer "$dir" "$4"
  out="$("${ZIP[@]}" "$3" "$dir")" || die "zipping the $1 layer failed"
  read -r entries LAYER_UNZIPPED zipped <<<"$out"
  report "$(basename "$3")" "$entries" "$LAYER_UNZIPPED" "$zipped"
}

note "building into $DIST_DIR (architecture $ARCH)"
build_function api
build_function processor

PILLOW_ZIP="$DIST_DIR/pillow-layer-$ARCH.zip"
SDK_ZIP="$DIST_DIR/sdk-layer-$ARCH.zip"
build_layer pillow "$REPO/lambda_src/requirements-pillow-layer.txt" "$PILLOW_ZIP" "$PILLOW_SMOKE"
pillow_unzipped=$LAYER_UNZIPPED
build_layer sdk "$REPO/lambda_src/requirements-sdk-layer.txt" "$SDK_ZIP" "$SDK_SMOKE"
sdk_unzipped=$LAYER_UNZIPPED

# --- Lambda limits -----------------------------------------------------------------------
for f in "$DIST_DIR/api.zip" "$DIST_DIR/processor.zip" "$PILLOW_ZIP" "$SDK_ZIP"; do
  size=$(stat -c %s "$f")
  [ "$size" -le "$MAX_DIRECT_ZIP" ] \
    || die "$(basename "$f") is $(human "$size") zipped; Lambda accepts at most 50 MiB for a direct upload"
done
for fn in api processor; do
  total=$((UNZIPPED[$fn] + sdk_unzipped))
  [ "$fn" = processor ] && total=$((total + pillow_unzipped))
  [ "$total" -le "$MAX_UNZIPPED_TOTAL" ] \
    || die "$fn + its layers are $(human "$total") unzipped; Lambda allows at most 250 MiB"
  note "$fn + layers unzipped: $(human "$total") of 250 MiB allowed"
done
note "done"
