#!/usr/bin/env bash
# Installs checkov (pinned in tools/requirements-checkov.txt) into its own virtualenv,
# .local/venvs/checkov, and prints the path of the checkov executable. Idempotent: a second run
# only compares a stamp. checkov pins many libraries, so it never goes into .venv.
#
#   bash tools/setup_checkov.sh          # -> .local/venvs/checkov/bin/checkov
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO/.local/venvs/checkov"
REQUIREMENTS="$REPO/tools/requirements-checkov.txt"

# shellcheck source=local/venv.sh
. "$REPO/local/venv.sh" # find_python, venv_is_current, make_venv, hash_of

PYTHON="$(find_python 3.12)"
[ -n "$PYTHON" ] || PYTHON="$(command -v python3 2>/dev/null || true)"
[ -n "$PYTHON" ] || { echo "[checkov] no Python 3 interpreter found" >&2; exit 1; }
STAMP="$("$PYTHON" -V 2>&1) $(hash_of "$REQUIREMENTS")"

if ! venv_is_current "$VENV" "$STAMP" || [ ! -x "$VENV/bin/checkov" ]; then
  echo "[checkov] installing into $VENV (about a minute)" >&2
  rm -f "$VENV/.stamp" # a venv without its checkov is rebuilt
  make_venv "$VENV" "$PYTHON" "$STAMP" -r "$REQUIREMENTS" ||
    { echo "[checkov] pip could not install $REQUIREMENTS" >&2; exit 1; }
fi
echo "$VENV/bin/checkov"
