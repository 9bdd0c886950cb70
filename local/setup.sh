#!/usr/bin/env bash
# Creates everything the project needs on a fresh machine, idempotently:
#   .venv/                              tools and tests (Python 3.12, requirements/dev.txt)
#   .local/venvs/localstack/            LocalStack 2026.3.0 + the host Lambda executor (Python 3.13)
#   .local/venvs/lambda-python3.12/     the interpreter Lambda handlers run in (like the python3.12 runtime)
#   .local/venvs/moto/                  moto server, the sidecar for cognito-idp, cloudfront, wafv2 (Python 3.12)
#   .local/terraformrc                  Terraform CLI config (offline provider mirror when present)
#   node                                Debian's nodejs when missing (the page's JS unit tests)
#   .local/npm/                         axe-core for the accessibility checks (npm registry, pinned)
#   chromium                            only with --browser (end-to-end tests)
# A second run only checks stamps and takes a second or two.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCAL="$REPO/.local"
WITH_BROWSER=0
for arg in "$@"; do
  case "$arg" in
    --browser) WITH_BROWSER=1 ;;
    *) echo "usage: $0 [--browser]" >&2; exit 2 ;;
  esac
done

step() { printf '\n[setup] %s\n' "$*"; }
ok() { printf '[setup]   ok: %s\n' "$*"; }
die() {
  printf '\n[setup] FAILED at step "%s": %s\n' "$CURRENT_STEP" "$1" >&2
  printf '[setup] fix: %s\n' "$2" >&2
  exit 1
}
CURRENT_STEP="start"
trap 'die "command failed (line $LINENO)" "read the output above; re-run make setup once fixed"' ERR

# shellcheck source=local/venv.sh
. "$REPO/local/venv.sh" # find_python, venv_is_current, make_venv, hash_of

setup_venv() { # setup_venv <dir> <python> <stamp> <pip args...>: make_venv, saying what it did
  if venv_is_current "$1" "$3"; then
    ok "$1 is up to date"
  else
    make_venv "$@" || return 1
    ok "installed $1"
  fi
}

CURRENT_STEP="find Python 3.12 and 3.13"
step "$CURRENT_STEP"
PY312="$(find_python 3.12)"
PY313="$(find_python 3.13)"
[ -n "$PY312" ] || die "no Python 3.12 interpreter found" "install it: 'pyenv install 3.12' or 'apt-get install python3.12 python3.12-venv'"
[ -n "$PY313" ] || die "no Python 3.13 interpreter found (LocalStack 2026.3 needs it)" "install it: 'pyenv install 3.13' or 'apt-get install python3.13 python3.13-venv'"
ok "python3.12: $PY312"
ok "python3.13: $PY313"

CURRENT_STEP="project virtualenv (.venv)"
step "$CURRENT_STEP"
setup_venv "$REPO/.venv" "$PY312" "$("$PY312" -V 2>&1) $(hash_of "$REPO/requirements/dev.txt")" \
  -r "$REPO/requirements/dev.txt" ||
  die "pip could not install requirements/dev.txt" "check that PyPI is reachable, then re-run"

CURRENT_STEP="LocalStack virtualenv"
step "$CURRENT_STEP"
EXECUTOR_SRC="$REPO/local/host_lambda_executor"
setup_venv "$LOCAL/venvs/localstack" "$PY313" \
  "$("$PY313" -V 2>&1) $(hash_of "$REPO/local/requirements-localstack.txt" "$EXECUTOR_SRC/pyproject.toml")" \
  -r "$REPO/local/requirements-localstack.txt" ||
  die "pip could not install LocalStack" "check that PyPI is reachable, then re-run"
# Editable, so a change to the executor's code needs no reinstall; the stamp covers its metadata.
if ! "$LOCAL/venvs/localstack/bin/python" -c 'import host_lambda_executor' 2>/dev/null; then
  "$LOCAL/venvs/localstack/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -e "$EXECUTOR_SRC"
fi
ok "host Lambda executor plugin installed"

CURRENT_STEP="Lambda python3.12 interpreter"
step "$CURRENT_STEP"
setup_venv "$LOCAL/venvs/lambda-python3.12" "$PY312" \
  "$("$PY312" -V 2>&1) $(hash_of "$REPO/local/requirements-lambda-runtime.txt")" \
  -r "$REPO/local/requirements-lambda-runtime.txt" ||
  die "pip could not install the Lambda runtime's SDK" "check that PyPI is reachable, then re-run"

CURRENT_STEP="moto sidecar virtualenv"
step "$CURRENT_STEP"
setup_venv "$LOCAL/venvs/moto" "$PY312" \
  "$("$PY312" -V 2>&1) $(hash_of "$REPO/local/requirements-moto.txt")" \
  -r "$REPO/local/requirements-moto.txt" ||
  die "pip could not install the moto sidecar" "check that PyPI is reachable, then re-run"

CURRENT_STEP="Terraform"
step "$CURRENT_STEP"
command -v terraform >/dev/null 2>&1 ||
  die "terraform is not on the PATH" "install Terraform >= 1.5 (HashiCorp's apt repository, or a release binary on the PATH)"
"$REPO/local/terraformrc.sh" >"$LOCAL/terraformrc.new"
mv "$LOCAL/terraformrc.new" "$LOCAL/terraformrc"
ok "$(TF_CLI_CONFIG_FILE="$LOCAL/terraformrc" terraform version | head -1)"
ok "CLI config: $LOCAL/terraformrc ($(grep -q filesystem_mirror "$LOCAL/terraformrc" && echo 'offline provider mirror' || echo 'public registry'))"

CURRENT_STEP="Node.js and axe-core"
step "$CURRENT_STEP"
AXE_VERSION="4.10.3" # the accessibility engine of the browser tests (tests/e2e)
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || die "node or npm is missing and this is not root" "run: sudo apt-get install -y nodejs npm"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null ||
    die "apt-get could not install nodejs and npm" "run: apt-get update && apt-get install -y nodejs npm"
fi
ok "node $(node --version)"
AXE_DIR="$LOCAL/npm"
if [ "$(cat "$AXE_DIR/.stamp" 2>/dev/null)" != "axe-core@$AXE_VERSION" ]; then
  rm -rf "$AXE_DIR"
  mkdir -p "$AXE_DIR"
  npm install --silent --no-save --no-audit --no-fund --ignore-scripts --prefix "$AXE_DIR" \
    "axe-core@$AXE_VERSION" >/dev/null ||
    die "npm could not install axe-core@$AXE_VERSION" "check that the npm registry is reachable, then re-run"
  echo "axe-core@$AXE_VERSION" >"$AXE_DIR/.stamp"
fi
ok "axe-core $AXE_VERSION in $AXE_DIR"

if [ "$WITH_BROWSER" = 1 ]; then
  CURRENT_STEP="Chromium for the browser tests"
  step "$CURRENT_STEP"
  if ! command -v chromium >/dev/null 2>&1; then
    [ "$(id -u)" = 0 ] || die "chromium is missing and this is not root" "run: sudo apt-get install -y chromium"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null ||
      die "apt-get could not install chromium" "run: apt-get update && apt-get install -y chromium"
  fi
  ok "$(chromium --version 2>/dev/null | head -1)"
fi

step "done"
