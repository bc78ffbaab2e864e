#!/usr/bin/env bash
# Generates the Python protocol modules from protos/jex/v1 into gen/ (gitignored), or into the
# directory given as the first argument (client.py then reads it from $JEX_PY_GEN).
# Debian's grpc_tools.protoc is used when it can parse the file. It bundles protoc 3.5.1, which
# predates proto3 'optional' (protoc >= 3.12); for such a file the same modules come from
# Debian's protoc 3.21 with grpc_python_plugin 1.51 (protobuf-compiler-grpc), the versions that
# match python3-protobuf 4.21 and grpcio 1.51. Prints which generator it used on stderr.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
GEN=${1:-$HERE/gen}
PY=/usr/bin/python3
rm -rf "$GEN"; mkdir -p "$GEN"
if err=$("$PY" -m grpc_tools.protoc -I"$ROOT/protos" --python_out="$GEN" --grpc_python_out="$GEN" \
    "$ROOT/protos/jex/v1/usercode.proto" 2>&1); then
  echo "python-grpc: generated with grpc_tools.protoc" >&2
elif grep -q "Explicit 'optional' labels are disallowed" <<<"$err"; then
  echo "python-grpc: grpc_tools.protoc ($("$PY" -m grpc_tools.protoc --version)) cannot parse proto3 'optional'; using protoc $(protoc --version | cut -d' ' -f2) + grpc_python_plugin" >&2
  protoc -I"$ROOT/protos" --plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin \
    --python_out="$GEN" --grpc_python_out="$GEN" "$ROOT/protos/jex/v1/usercode.proto"
else
  printf '%s\n' "$err" >&2; exit 1
fi
touch "$GEN/jex/__init__.py" "$GEN/jex/v1/__init__.py"
