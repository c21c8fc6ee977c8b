#!/usr/bin/env bash
# Regenerates the Python protobuf and Connect code from protocol/proto into protocol/netclode_protocol/v1.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-functions}"
export PATH="$PWD/.venv/bin:$PATH"
mkdir -p "$out/netclode/v1"
python -m grpc_tools.protoc -Ifunctions/proto \
  --python_out="$out" --mypy_out="$out" --connectrpc_out=protobuf=google:"$out" \
  protocol/proto/netclode/v1/*.proto
touch "$out/netclode/v1/__init__.py"
