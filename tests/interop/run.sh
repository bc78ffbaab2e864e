#!/usr/bin/env bash
# Interop tier: Java (grpc-java 1.41, netty), Python (grpcio 1.51) and a JDK-only shared-memory
# client each run full sessions against their own real jex-runtime (one runtime per client, which
# serves all of that client's sessions and must still be running, then exit 0 on SIGTERM).
#
# Prints one line per client, "interop <name>: ok (<n> items)" or "interop <name>: FAILED <reason>",
# then "interop: N passed, N failed"; exits non-zero when any client failed.
#
# Environment (all optional):
#   JEX_RUNTIME   runtime executable (default out/runtime/jex-runtime)
#   JEX_SAMPLES   user code to load (default out/samples)
#   JEX_INTEROP   space-separated clients to run (default "java-grpc python-grpc java-shm")
#   JEX_INTEROP_LOGS  where runtime and client logs go (default out/interop)
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
RUNTIME=${JEX_RUNTIME:-$ROOT/out/runtime/jex-runtime}
SAMPLES=${JEX_SAMPLES:-$ROOT/out/samples}
CLIENTS=${JEX_INTEROP:-java-grpc python-grpc java-shm}
LOGS=${JEX_INTEROP_LOGS:-$ROOT/out/interop}
PY=/usr/bin/python3
READY_TIMEOUT=30   # seconds for a runtime to print its ready line
CLIENT_TIMEOUT=100 # seconds for one client's whole plan
mkdir -p "$LOGS"

PASSED=0 FAILED=0
RT_PIDS=()      # the current client's runtime; stop_runtimes (and the exit trap) stops it
MUST_BE_GONE=() # files those runtimes must have removed once they have stopped

note() { printf '[interop] %s\n' "$*" >&2; }
result() { # name, "ok (...)" | "FAILED ..."
  echo "interop $1: $2"
  case $2 in ok*) PASSED=$((PASSED + 1)) ;; *) FAILED=$((FAILED + 1)) ;; esac
}

# Stops the current runtimes: SIGTERM, 30 s to drain and clean up, then SIGKILL. RT_EXIT is the
# first non-zero exit status, else 0; a runtime that already ended by itself reports its status.
# (It was 5 s: a loaded machine can take longer to drain and exit, and the SIGKILL then failed the
# client for what was only slowness; a runtime that exits at once still costs nothing extra.)
stop_runtimes() {
  local pid i rc
  RT_EXIT=0
  for pid in "${RT_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${RT_PIDS[@]}"; do
    for i in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null; rc=$?
    [ "$RT_EXIT" = 0 ] && RT_EXIT=$rc
  done
  RT_PIDS=()
}
trap stop_runtimes EXIT
trap 'exit 130' INT TERM

# Installs what tests/apt-packages.txt lists and is missing (root only, as in CI).
install_deps() {
  local need=() pkg
  for pkg in $(grep -v '^\s*#' "$ROOT/tests/apt-packages.txt"); do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
  done
  [ ${#need[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then
    echo "missing packages (not root, cannot install): ${need[*]}"; return 1
  fi
  note "installing: ${need[*]}"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      -o DPkg::Lock::Timeout=300 "${need[@]}"; } >"$LOGS/apt.log" 2>&1 \
    || { echo "apt-get install failed (see $LOGS/apt.log)"; return 1; }
}

new_token() { RT_TOKEN=$(head -c 18 /dev/urandom | base64 | tr '+/' '-_'); }

# Starts a runtime expecting RT_TOKEN, waits for its ready line and sets RT_ADDRESS; or returns 1
# with the reason in RT_ERROR. Extra configuration switches are passed through.
start_runtime() {
  local name=$1; shift
  local log="$LOGS/runtime-$name.log" i line pid
  RT_ADDRESS="" RT_ERROR=""
  if [ ! -x "$RUNTIME" ]; then RT_ERROR="no runtime at $RUNTIME (run ./demo.sh build)"; return 1; fi
  UserCode__Token=$RT_TOKEN "$RUNTIME" --UserCode:Path="$SAMPLES" "$@" >"$log" 2>&1 &
  pid=$!
  RT_PIDS+=("$pid")
  for i in $(seq $((READY_TIMEOUT * 10))); do
    line=$(grep -m1 '^JEX-READY ' "$log" 2>/dev/null || true)
    if [ -n "$line" ]; then
      RT_ADDRESS=$("$PY" -c 'import json,sys; print(json.loads(sys.argv[1][len("JEX-READY "):])["address"])' "$line" 2>/dev/null) \
        || { RT_ERROR="unreadable ready line: $line"; return 1; }
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      RT_ERROR="runtime exited before its ready line: $(tail -1 "$log")"; return 1
    fi
    sleep 0.1
  done
  RT_ERROR="no JEX-READY line within ${READY_TIMEOUT}s (see $log)"; return 1
}

# Runs one client command against the current runtimes, then stops them. The client's last
# stdout line is "ok (...)" or "FAILED ...". The runtimes must then shut down cleanly (exit 0 on
# SIGTERM, docs/design.md) and leave no file behind, or the client's line becomes a failure.
run_client() {
  local name=$1; shift
  local out="$LOGS/client-$name.out" err="$LOGS/client-$name.err" rc last line f pid left=()
  JEX_TOKEN=$RT_TOKEN timeout "$CLIENT_TIMEOUT" "$@" >"$out" 2>"$err"; rc=$?
  last=$(tail -1 "$out")
  if [ "$rc" -eq 0 ] && [[ $last == ok* ]]; then line=$last
  elif [ "$rc" -eq 124 ]; then line="FAILED timed out after ${CLIENT_TIMEOUT}s (see $err)"
  elif [[ $last == FAILED* ]]; then line=$last
  else line="FAILED exit $rc: $(tail -1 "$err")"
  fi
  for pid in "${RT_PIDS[@]}"; do
    if [[ $line == ok* ]] && ! kill -0 "$pid" 2>/dev/null; then
      line="FAILED runtime $pid ended by itself before SIGTERM (see $LOGS/runtime-$name.log)"
    fi
  done
  stop_runtimes
  if [[ $line == ok* ]] && [ "$RT_EXIT" != 0 ]; then
    line="FAILED runtime exited $RT_EXIT after the client passed (see $LOGS/runtime-$name*.log)"
  fi
  for f in "${MUST_BE_GONE[@]}"; do [ -e "$f" ] && left+=("$f") && rm -f "$f"; done
  MUST_BE_GONE=()
  if [[ $line == ok* ]] && [ ${#left[@]} -gt 0 ]; then
    line="FAILED runtime left ${left[*]} behind"
  fi
  result "$name" "$line"
}

client_java_grpc() {
  local cp
  "$HERE/java-grpc/build.sh" >"$LOGS/build-java-grpc.log" 2>&1 \
    || { result java-grpc "FAILED build: $(grep -m1 -E 'error|missing' "$LOGS/build-java-grpc.log")"; return; }
  cp=$(cat "$HERE/java-grpc/build/classpath.txt")
  new_token
  start_runtime java-grpc --UserCode:Grpc:Port=0 \
    || { stop_runtimes; result java-grpc "FAILED $RT_ERROR"; return; }
  run_client java-grpc java -cp "$cp" io.jex.interop.GrpcInteropClient --address "$RT_ADDRESS"
}

client_python_grpc() {
  "$HERE/python-grpc/gen.sh" >"$LOGS/build-python-grpc.log" 2>&1 \
    || { result python-grpc "FAILED codegen: $(tail -1 "$LOGS/build-python-grpc.log")"; return; }
  new_token
  start_runtime python-grpc --UserCode:Grpc:Port=0 \
    || { stop_runtimes; result python-grpc "FAILED $RT_ERROR"; return; }
  run_client python-grpc "$PY" "$HERE/python-grpc/client.py" --address "$RT_ADDRESS"
}

# One shared-memory runtime with 2 session slots serves the whole plan, one session after another:
# the client holds slot 0 idle, so every session claims slot 1 after the runtime recycled it.
client_java_shm() {
  local uid
  "$HERE/java-shm/build.sh" >"$LOGS/build-java-shm.log" 2>&1 \
    || { result java-shm "FAILED build: $(grep -m1 -E 'error|codec' "$LOGS/build-java-shm.log")"; return; }
  new_token
  uid="interop-$$-shm-$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  start_runtime java-shm --UserCode:Transport=shared-memory --UserCode:Uid="$uid" \
    --UserCode:SharedMemory:Sessions=2 \
    || { stop_runtimes; result java-shm "FAILED $RT_ERROR"; return; }
  MUST_BE_GONE+=("$RT_ADDRESS" "$RT_ADDRESS".{0,1}.r{0,1}-{data,space})
  run_client java-shm java -cp "$HERE/java-shm/build/classes" io.jex.interop.shm.ShmInteropClient \
    --address "$RT_ADDRESS" --sessions wrong-token,throw,log,bench
  grep -h '^java-shm identity' "$LOGS/client-java-shm.err" >&2 || true
}

if ! why=$(install_deps); then
  for c in $CLIENTS; do result "$c" "FAILED $why"; done
else
  for c in $CLIENTS; do
    case $c in
      java-grpc) client_java_grpc ;;
      python-grpc) client_python_grpc ;;
      java-shm) client_java_shm ;;
      *) result "$c" "FAILED unknown client" ;;
    esac
  done
fi
echo "interop: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
