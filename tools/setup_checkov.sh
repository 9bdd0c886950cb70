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

find_python() {
  local candidate
  if command -v pyenv >/dev/null 2>&1; then
    for candidate in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.12(\.[0-9]+)?$' | sort -V -r); do
      if [ -x "$(pyenv root)/versions/$candidate/bin/python3.12" ]; then
        echo "$(pyenv root)/versions/$candidate/bin/python3.12"
        return
      fi
    done
  fi
  command -v python3.12 2>/dev/null || command -v python3 2>/dev/null || true
}

PYTHON="$(find_python)"
[ -n "$PYTHON" ] || { echo "[checkov] no Python 3 interpreter found" >&2; exit 1; }
STAMP="$("$PYTHON" -V 2>&1) $(sha256sum "$REQUIREMENTS" | cut -c1-16)"

if [ -f "$VENV/.stamp" ] && [ "$(cat "$VENV/.stamp")" = "$STAMP" ] && [ -x "$VENV/bin/checkov" ]; then
  echo "$VENV/bin/checkov"
  exit 0
fi

echo "[checkov] installing into $VENV (about a minute)" >&2
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQUIREMENTS" >&2
echo "$STAMP" >"$VENV/.stamp"
echo "$VENV/bin/checkov"
