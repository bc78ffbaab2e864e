#!/usr/bin/env bash
# Builds the grpc-java interop client with Debian's jars: protoc + grpc_java_plugin generate the
# protocol classes from protos/jex/v1, javac compiles them with the client into build/classes.
# No Maven: every jar comes from /usr/share/java (packages in tests/apt-packages.txt).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
BUILD=$HERE/build
JARS=/usr/share/java

# Unversioned names: Debian keeps them as the stable symlinks to the versioned jars.
CP_JARS=(grpc-api grpc-context grpc-core grpc-netty grpc-protobuf grpc-protobuf-lite grpc-stub
  protobuf guava perfmark-api gson jsr305 error_prone_annotations geronimo-annotation-1.3-spec
  netty-buffer netty-codec netty-codec-http netty-codec-http2 netty-common netty-handler
  netty-resolver netty-transport)

classpath() {
  local cp="" j
  for j in "${CP_JARS[@]}"; do
    [ -f "$JARS/$j.jar" ] || { echo "java-grpc: missing $JARS/$j.jar (see tests/apt-packages.txt)" >&2; exit 1; }
    cp+="${cp:+:}$JARS/$j.jar"
  done
  printf '%s' "$cp"
}

case "${1:-build}" in
  classpath) classpath; echo; exit 0 ;;
esac

CP=$(classpath)
rm -rf "$BUILD"
mkdir -p "$BUILD/gen" "$BUILD/classes"
# The outer-class-name warning is about case-insensitive file systems only; keep stderr quiet
# unless protoc fails.
if ! out=$(protoc -I"$ROOT/protos" \
    --plugin=protoc-gen-grpc-java=/usr/bin/grpc_java_plugin \
    --grpc-java_out="$BUILD/gen" --java_out="$BUILD/gen" \
    "$ROOT/protos/jex/v1/usercode.proto" 2>&1); then
  printf '%s\n' "$out" >&2; exit 1
fi
find "$BUILD/gen" "$HERE/src" -name '*.java' > "$BUILD/sources.txt"
javac -nowarn -encoding UTF-8 --release 17 -cp "$CP" -d "$BUILD/classes" @"$BUILD/sources.txt"
printf '%s\n' "$BUILD/classes:$CP" > "$BUILD/classpath.txt"
