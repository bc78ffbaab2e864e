#!/usr/bin/env bash
# Jex: build, run the demo job, run every test tier, benchmark.
#   ./demo.sh build   runtime -> out/runtime, samples -> out/samples, CLI -> out/cli
#   ./demo.sh run     build what is missing, then run jobs/dotnet-process-grpc.yml
#   ./demo.sh test    install what the tests need, then run every tier; last line "N passed, N failed"
#   ./demo.sh bench   the full benchmark matrix (jex bench), report in out/bench.json
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD
OUT=$ROOT/out
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

log() { printf '[demo] %s\n' "$*" >&2; }

build() {
  log "building (Release)"
  dotnet build Jex.sln -c Release -nologo -clp:NoSummary -warnaserror | { grep -E 'error|warn' || true; }
  # PIPESTATUS: the grep above must not hide a failed build.
  [ "${PIPESTATUS[0]}" -eq 0 ] || { log "build failed"; exit 1; }
  rm -rf "$OUT/runtime" "$OUT/cli" "$OUT/samples"
  dotnet publish src/Jex.Runtime -c Release --no-build -o "$OUT/runtime" -nologo >/dev/null
  dotnet publish src/Jex.Cli -c Release --no-build -o "$OUT/cli" -nologo >/dev/null
  for p in jobs/samples/*/; do
    name=$(basename "$p")
    dotnet publish "$p" -c Release --no-build -o "$OUT/samples/$name" -nologo >/dev/null
  done
  log "built: $OUT/runtime/jex-runtime, $OUT/cli/jex, $OUT/samples/"
}

ensure_built() {
  [ -x "$OUT/runtime/jex-runtime" ] && [ -x "$OUT/cli/jex" ] && [ -d "$OUT/samples" ] || build
}

run() {
  ensure_built
  "$OUT/cli/jex" run jobs/dotnet-process-grpc.yml "$@"
}

# Everything the test tiers need on a fresh Debian machine (CI runs as root).
deps() {
  local need=()
  for pkg in $(cat tests/apt-packages.txt); do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
  done
  if [ ${#need[@]} -gt 0 ]; then
    log "installing: ${need[*]}"
    if [ "$(id -u)" = 0 ]; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
    else
      log "not root: install them by hand: apt-get install ${need[*]}"; exit 1
    fi
  fi
}

# Runs one tier; its last line that reads "N passed, N failed" is added to the totals.
PASSED=0 FAILED=0
tier() {
  local name=$1; shift
  local logf="$OUT/test-$name.log"
  log "tier $name: $*"
  local rc=0
  "$@" 2>&1 | tee "$logf" || rc=$?
  local line
  line=$(grep -E '^([a-z-]+: )?[0-9]+ passed, [0-9]+ failed' "$logf" | tail -1 || true)
  if [ -z "$line" ]; then
    log "tier $name printed no count (exit $rc): counted as 1 failure"
    FAILED=$((FAILED + 1)); return
  fi
  local p f
  p=$(grep -oE '[0-9]+ passed' <<<"$line" | grep -oE '[0-9]+')
  f=$(grep -oE '[0-9]+ failed' <<<"$line" | grep -oE '[0-9]+')
  PASSED=$((PASSED + p)); FAILED=$((FAILED + f))
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    log "tier $name exited $rc with no failed test: counted as 1 failure"
    FAILED=$((FAILED + 1))
  fi
}

# dotnet test over every test project; counts come from each run's TRX file (console summaries
# change shape with loggers and --blame). Prints "xunit: N passed, N failed".
xunit_tier() {
  local p=0 f=0 rc=0 results="$OUT/test-results"
  rm -rf "$results"; mkdir -p "$results"
  for proj in $(find tests -name '*Tests.csproj' | sort); do
    local name; name=$(basename "$proj" .csproj)
    dotnet test "$proj" -c Release --no-build -nologo --blame-hang-timeout 5m \
      --logger "console;verbosity=normal" --logger "trx;LogFileName=$name.trx" --results-directory "$results" \
      > "$results/$name.log" 2>&1 || rc=1
    grep -E '^\s+Failed |Error Message|^\s+at |Assert\.|Test Run|Total tests|^\s+(Passed|Failed|Skipped):' "$results/$name.log" \
      | grep -vE '^\s+Passed ' | head -200 || true
    local trx="$results/$name.trx" counters
    counters=$(grep -o '<Counters [^>]*>' "$trx" 2>/dev/null | head -1 || true)
    if [ -z "$counters" ]; then
      echo "xunit: $name produced no TRX report (see $results/$name.log)"; tail -20 "$results/$name.log"; f=$((f + 1)); continue
    fi
    local cp cf ce
    cp=$(sed -E 's/.* passed="([0-9]+)".*/\1/' <<<"$counters")
    cf=$(sed -E 's/.* failed="([0-9]+)".*/\1/' <<<"$counters")
    ce=$(sed -E 's/.* error="([0-9]+)".*/\1/' <<<"$counters")
    echo "xunit: $name: $cp passed, $cf failed"
    p=$((p + cp)); f=$((f + cf + ce))
  done
  echo "xunit: $p passed, $f failed"
  return $rc
}

test_all() {
  mkdir -p "$OUT"
  deps
  build
  [ -x tests/interop/hazelcast-node/run.sh ] && tier vectors tests/interop/hazelcast-node/run.sh
  tier xunit xunit_tier
  [ -x tests/interop/run.sh ] && tier interop tests/interop/run.sh
  [ -x tests/containers/run.sh ] && tier containers tests/containers/run.sh
  [ -x tests/smoke.sh ] && tier smoke tests/smoke.sh
  [ -x tests/soak.sh ] && tier soak tests/soak.sh
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
}

bench() {
  ensure_built
  "$OUT/cli/jex" bench --runtime "$OUT/runtime/jex-runtime" --samples "$OUT/samples" --json "$OUT/bench.json" "$@"
}

case "${1:-}" in
  build) build ;;
  run) shift; run "$@" ;;
  test) test_all ;;
  bench) shift; bench "$@" ;;
  deps) deps ;;
  *) echo "usage: $0 build|run|test|bench" >&2; exit 2 ;;
esac
