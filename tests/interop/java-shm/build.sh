#!/usr/bin/env bash
# Builds the JDK-only shared-memory client (no jars on the class path), then checks its
# hand-written protobuf code against python3-protobuf (needs python-grpc/gen.sh to have run).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
rm -rf "$HERE/build"; mkdir -p "$HERE/build/classes"
javac -encoding UTF-8 --release 17 -Xlint:all -Werror -d "$HERE/build/classes" "$HERE"/src/io/jex/interop/shm/*.java
[ -d "$HERE/../python-grpc/gen" ] || "$HERE/../python-grpc/gen.sh"
/usr/bin/python3 "$HERE/codec_check.py"
