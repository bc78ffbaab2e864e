#!/usr/bin/env bash
# Jex: build, run the demo job, run every test tier, benchmark.
#   ./demo.sh build   runtime -> out/runtime, samples -> out/samples (and out/samples-v2), CLI -> out/cli
#   ./demo.sh run     build what is missing, then run jobs/dotnet-process-grpc.yml
#   ./demo.sh test    install what the tests need, then run every tier; last line "N passed, N failed"
#   ./demo.sh bench   the full benchmark matrix (jex bench), report in out/bench.json
#   ./demo.sh pack    the NuGet packages (Jex.UserCode, Jex.Testing, Jex.Templates, Jex.Cli) -> out/packages
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD
OUT=$ROOT/out
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

log() { printf '[demo] %s\n' "$*" >&2; }

# Condenses dotnet build's output to one line per project built (with the seconds since start)
# plus errors and warnings, so a long build shows where it is.
build_progress() {
  local start=$1 line name
  while IFS= read -r line; do
    case "$line" in
      *" -> "*) name=${line%% -> *}; log "  built ${name##* } ($((SECONDS - start)) s)" ;;
      *error*|*warn*) printf '%s\n' "$line" ;;
    esac
  done
}

build() {
  local start=$SECONDS
  log "building Jex.sln (Release): one line per project"
  dotnet build Jex.sln -c Release -nologo -tl:off -clp:NoSummary -warnaserror | build_progress "$start"
  # PIPESTATUS: the filter above must not hide a failed build.
  [ "${PIPESTATUS[0]}" -eq 0 ] || { log "build failed"; exit 1; }
  rm -rf "$OUT/runtime" "$OUT/cli" "$OUT/samples" "$OUT/samples-v2"
  log "publishing to $OUT"
  dotnet publish src/Jex.Runtime -c Release --no-build -o "$OUT/runtime" -nologo >/dev/null
  dotnet publish src/Jex.Cli -c Release --no-build -o "$OUT/cli" -nologo >/dev/null
  for p in jobs/samples/*/; do
    name=$(basename "$p")
    dotnet publish "$p" -c Release --no-build -o "$OUT/samples/$name" -nologo >/dev/null
  done
  # The live-code demo's second version (doThingDotnet appends "v2"): only Jex.Samples, compiled
  # on its own (--no-dependencies: Jex.UserCode is already built) into its own obj/ and bin/.
  dotnet publish jobs/samples/Jex.Samples -c Release --no-dependencies -p:JexSampleVersion=2 \
    -o "$OUT/samples-v2/Jex.Samples" -nologo -tl:off -clp:NoSummary -v:q -warnaserror >/dev/null \
    || { log "publishing samples-v2 failed"; exit 1; }
  log "built in $((SECONDS - start)) s: $OUT/runtime/jex-runtime, $OUT/cli/jex, $OUT/samples/, $OUT/samples-v2/"
}

# The shipped packages, in dependency order (docs/packages.md). Jex.Testing is packed when its
# project exists. ContinuousIntegrationBuild makes the packages byte-identical for one commit.
PACKAGES=(src/Jex.UserCode/Jex.UserCode.csproj src/Jex.Testing/Jex.Testing.csproj
  templates/Jex.Templates.csproj src/Jex.Cli/Jex.Cli.csproj)

pack() {
  local start=$SECONDS proj name t0 logf
  rm -rf "$OUT/packages"; mkdir -p "$OUT/packages"
  # NuGet stamps every zip entry with this time instead of now: the commit's time, so that two
  # packs of one commit are byte-identical (1980-01-01, the zip format's first date, outside git).
  export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 315532800)}
  log "packing into $OUT/packages: one line per package"
  for proj in "${PACKAGES[@]}"; do
    [ -f "$proj" ] || continue
    name=$(basename "$proj" .csproj); t0=$SECONDS; logf="$OUT/pack-$name.log"
    if ! dotnet pack "$proj" -c Release -nologo -tl:off -warnaserror -p:ContinuousIntegrationBuild=true \
        -o "$OUT/packages" >"$logf" 2>&1; then
      grep -E ': (error|warning) ' "$logf" | sort -u | head -20 >&2 || tail -20 "$logf" >&2
      log "pack $name failed (full log: $logf)"; exit 1
    fi
    local pkg; pkg=$(ls "$OUT/packages/$name".[0-9]*.nupkg 2>/dev/null | head -1 || true)
    [ -n "$pkg" ] || { log "pack $name wrote no $name.*.nupkg (see $logf)"; exit 1; }
    log "  $(basename "$pkg") ($(( $(stat -c %s "$pkg") / 1024 )) KiB, $((SECONDS - t0)) s)"
  done
  log "packed in $((SECONDS - start)) s: $OUT/packages"
}

ensure_built() {
  [ -x "$OUT/runtime/jex-runtime" ] && [ -x "$OUT/cli/jex" ] && [ -d "$OUT/samples" ] || build
}

run() {
  # A first run builds everything (a few minutes on a small machine): say so, then one line per project.
  [ -x "$OUT/runtime/jex-runtime" ] && [ -x "$OUT/cli/jex" ] && [ -d "$OUT/samples" ] \
    || log "out/ has no runtime, CLI or samples yet: building them first"
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
  if [ "$rc" -ne 0 ] || [ "$f" -gt 0 ]; then
    # Kept for the end of the run, so the last lines of a long log say what failed.
    { echo "tier $name: $f failed, exit $rc (log: $logf)"
      grep -E '^\s*(FAIL\b|Failed [A-Za-z])|: FAILED |produced no TRX|printed no count' "$logf" | head -20 | sed 's/^\s*/  /'
    } >>"$OUT/failures.txt"
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
  rm -f "$OUT/failures.txt"
  deps
  build
  [ -x tests/interop/hazelcast-node/run.sh ] && tier vectors tests/interop/hazelcast-node/run.sh
  tier xunit xunit_tier
  [ -x tests/interop/run.sh ] && tier interop tests/interop/run.sh
  [ -x tests/containers/run.sh ] && tier containers tests/containers/run.sh
  [ -x tests/smoke.sh ] && tier smoke tests/smoke.sh
  [ -x tests/soak.sh ] && tier soak tests/soak.sh
  # Last: the packages. Packing rebuilds src/ with the packages' deterministic settings, so it
  # runs once here and both package tiers use its output.
  local pack_log="$OUT/pack.log"
  if pack >"$pack_log" 2>&1; then
    sed 's/^/  /' "$pack_log"
  else
    cat "$pack_log"; log "./demo.sh pack failed: the package tiers will report it"
  fi
  [ -x tests/testing-package.sh ] && tier testing-package tests/testing-package.sh
  [ -x tests/quickstart.sh ] && tier quickstart tests/quickstart.sh
  if [ -s "$OUT/failures.txt" ]; then log "what failed:"; cat "$OUT/failures.txt"; fi
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
  pack) pack ;;
  deps) deps ;;
  *) echo "usage: $0 build|run|test|bench|pack" >&2; exit 2 ;;
esac
