# Shared by the scripts that create a virtualenv: local/setup.sh, tools/setup_checkov.sh,
# bench/setup.sh. Source it; it defines functions only.

# find_python 3.12 -> the path of a python3.12 interpreter (pyenv's newest first), or nothing.
find_python() {
  local version="$1" candidate
  if command -v pyenv >/dev/null 2>&1; then
    for candidate in $(pyenv versions --bare 2>/dev/null | grep -E "^${version//./\\.}(\.[0-9]+)?$" | sort -V -r); do
      if [ -x "$(pyenv root)/versions/$candidate/bin/python$version" ]; then
        echo "$(pyenv root)/versions/$candidate/bin/python$version"
        return
      fi
    done
  fi
  command -v "python$version" 2>/dev/null || true
}

# venv_is_current DIR STAMP -> true when DIR holds a virtualenv made for exactly STAMP.
venv_is_current() {
  [ -x "$1/bin/python" ] && [ -f "$1/.stamp" ] && [ "$(cat "$1/.stamp")" = "$2" ]
}

# make_venv DIR PYTHON STAMP PIP_ARGS... -> (re)creates DIR with PYTHON and installs PIP_ARGS,
# unless it is current for STAMP. pip's output goes to stderr. The steps are chained with &&
# because callers use `make_venv ... || die`, where `set -e` does not apply inside the function:
# a failed step returns non-zero and the stamp (written last) is never written for it.
make_venv() {
  local dir="$1" python="$2" stamp="$3"
  shift 3
  venv_is_current "$dir" "$stamp" && return 0
  rm -rf "$dir" &&
    "$python" -m venv "$dir" &&
    "$dir/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2 &&
    "$dir/bin/python" -m pip install --quiet --disable-pip-version-check "$@" >&2 &&
    echo "$stamp" >"$dir/.stamp"
}

# hash_of FILE... -> a short hash of the files' contents, for stamps.
hash_of() { cat "$@" | sha256sum | cut -c1-16; }
