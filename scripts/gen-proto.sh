#!/usr/bin/env bash
# Regenerates the Python protobuf and Connect code from protocol/proto into
# protocol/netclode_protocol/v1 (or <out>/netclode_protocol/v1).
# The schema's package stays `netclode.v1` (its wire names: message types, Connect paths);
# only the Python modules live in netclode_protocol, so their module names are rewritten.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-protocol}"
export PATH="$PWD/.venv/bin:$PATH"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python -m grpc_tools.protoc -Iprotocol/proto \
  --python_out="$tmp" --mypy_out="$tmp" --connectrpc_out=protobuf=google:"$tmp" \
  protocol/proto/netclode/v1/*.proto
perl -pi -e 's/\bnetclode\.v1(?= import|\.\w+_(?:pb2|connect)\b)/netclode_protocol.v1/g' "$tmp"/netclode/v1/*
mkdir -p "$out/netclode_protocol/v1"
cp "$tmp"/netclode/v1/* "$out/netclode_protocol/v1/"
touch "$out/netclode_protocol/v1/__init__.py"
