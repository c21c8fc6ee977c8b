#!/usr/bin/env bash
# Runs the whole test suite (lint included). pytest's "no tests collected" (exit 5) counts
# as a failure: a suite that tests nothing must not pass.
set -uo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff format --check . >/dev/null || { echo "ruff format: files need formatting (make format)"; exit 1; }
.venv/bin/ruff check . || exit 1
mkdir -p test-artifacts
.venv/bin/pytest "$@"
status=$?
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests" >&2
  exit 1
fi
exit "$status"
