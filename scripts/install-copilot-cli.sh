#!/usr/bin/env bash
# Installs the copilot backend's CLI into DIR (default .venv/opt/copilot): the self-contained
# binary of npm's platform package (no Node needed to run it), pinned here and nowhere else.
# Used by scripts/setup.sh (into the venv, which sandboxes already see read-only) and by the
# sandbox image (sandbox-runtime/Containerfile); netclode_sandbox.agent.copilot.cli_path is
# where the agent looks. Idempotent; without npm it says how to add it and changes nothing.
set -euo pipefail
COPILOT_CLI_VERSION=1.0.102
dir=${1:-.venv/opt/copilot}

say() { printf '==> %s\n' "$*" >&2; }

case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64) arch=arm64 ;;
  *) say "no Copilot CLI for $(uname -m): copilot sessions will not run"; exit 0 ;;
esac
package="@github/copilot-linux-$arch"
installed="$dir/node_modules/$package/package.json"
if [ -f "$installed" ] && grep -q "\"version\": \"$COPILOT_CLI_VERSION\"" "$installed"; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  say "npm not found, so copilot sessions cannot run: install npm (e.g. 'apt-get install npm') and re-run make setup"
  exit 0
fi
say "installing the Copilot CLI $COPILOT_CLI_VERSION"
mkdir -p "$dir"
npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error \
  "$package@$COPILOT_CLI_VERSION" >/dev/null
