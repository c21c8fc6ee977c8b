#!/usr/bin/env bash
# Installs what Netclode needs and is missing: the system packages listed in
# scripts/system-packages.txt, a Python 3.12 virtual environment at .venv, the locked
# Python dependencies, the Copilot CLI (scripts/install-copilot-cli.sh) and the OpenCode server
# (npm package opencode-ai, version pinned in scripts/opencode-version, under .tools/opencode);
# each skipped with a hint when npm is missing. Idempotent: a second run changes nothing.
#   scripts/setup.sh          runtime dependencies
#   scripts/setup.sh --dev    also the test and lint tools
set -euo pipefail
cd "$(dirname "$0")/.."

want_dev=""
[ "${1:-}" = "--dev" ] && want_dev=1

say() { printf '==> %s\n' "$*" >&2; }

install_system_packages() {
  local missing=()
  while read -r pkg; do
    [ -z "$pkg" ] || [ "${pkg#\#}" != "$pkg" ] && continue
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done < scripts/system-packages.txt
  [ ${#missing[@]} -eq 0 ] && return
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  say "installing system packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

find_python() {
  local version
  version=$(cat .python-version)
  for candidate in "python$version" "$HOME/.pyenv/versions/$version"*/bin/python3 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c "import sys; sys.exit(sys.version_info[:2] != tuple(map(int, '$version'.split('.'))))" 2>/dev/null; then
      command -v "$candidate"
      return
    fi
  done
  echo "Python $version not found: install it (e.g. 'pyenv install $version') and re-run" >&2
  exit 1
}

install_python_env() {
  if [ ! -x .venv/bin/python ]; then
    say "creating .venv"
    "$(find_python)" -m venv .venv
  fi
  local uv_version
  uv_version=$(awk '/^name = "uv"$/ {getline; gsub(/[^0-9.]/, "", $0); print; exit}' uv.lock)
  if [ ! -x .venv/bin/uv ] || [ "$(.venv/bin/uv --version | cut -d' ' -f2)" != "$uv_version" ]; then
    say "installing uv $uv_version"
    .venv/bin/python -m pip install -q --disable-pip-version-check "uv==$uv_version"
  fi
  local groups=(--no-dev)
  [ -n "$want_dev" ] && groups=()
  say "syncing Python dependencies (uv.lock)"
  UV_PYTHON=.venv/bin/python .venv/bin/uv sync --frozen --inexact -q "${groups[@]}"
}

install_opencode() {
  local version prefix=.tools/opencode
  version=$(cat scripts/opencode-version)
  if [ "$(cat "$prefix/installed-version" 2>/dev/null)" = "$version" ]; then
    return
  fi
  if ! command -v npm >/dev/null 2>&1; then
    say "npm not found: skipping OpenCode (sessions with --sdk opencode need it); install Node.js + npm and re-run"
    return
  fi
  say "installing OpenCode $version"
  # Its postinstall links the binary for this machine (CPU features, libc) to bin/opencode.exe.
  npm install --prefix "$prefix" --no-save --no-audit --no-fund --loglevel=error \
    "opencode-ai@$version" >/dev/null
  echo "$version" >"$prefix/installed-version"
}

install_system_packages
install_python_env
scripts/install-copilot-cli.sh
install_opencode
