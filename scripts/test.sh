#!/usr/bin/env bash
# Runs the whole test suite (lint, import contracts and type check included). pytest's "no
# tests collected" (exit 5) counts as a failure: a suite that tests nothing must not pass.
# mypy runs alongside the tests (most of them wait on processes and sockets) and fails the
# run afterwards when it found errors.
#
# The whole suite runs on two pytest-xdist workers, one test file at a time per worker
# (--dist loadfile: a file's module and session fixtures, its stack or sandbox host, stay in
# one process), the longest files first (tests/conftest.py, from tests/durations.json; xdist's
# own order, by number of tests, left a long file to run alone at the end). Arguments that pick tests (paths, node ids, -k, -m) or the worker count
# (-n, -p no:xdist) run as given.
set -uo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff format --check . >/dev/null || { echo "ruff format: files need formatting (make format)"; exit 1; }
.venv/bin/ruff check . || exit 1
# The layers and who may import whom: the contracts in pyproject.toml ([tool.importlinter]).
imports=$(.venv/bin/lint-imports --no-cache 2>&1) || { sed -n '/Broken contracts/,$p' <<<"$imports"; exit 1; }
mkdir -p test-artifacts
.venv/bin/mypy >test-artifacts/mypy.log 2>&1 &
mypy_pid=$!

# Whether the arguments choose tests or workers themselves.
selects() {
  for arg in "$@"; do
    case "$arg" in
      -k | -k* | -m | -m* | -n | -n* | --numprocesses* | no:xdist | -pno:xdist | *::*) return 0 ;;
      -*) ;;
      *) [ -e "$arg" ] && return 0 ;;
    esac
  done
  return 1
}

parallel=(-n 2 --dist loadfile --no-loadscope-reorder)
if selects "$@"; then parallel=(); fi
.venv/bin/pytest "${parallel[@]}" --durations=15 "$@"
status=$?
if ! wait "$mypy_pid"; then
  cat test-artifacts/mypy.log
  echo "mypy: type errors (make typecheck)"
  exit 1
fi
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests" >&2
  exit 1
fi
exit "$status"
