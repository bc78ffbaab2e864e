#!/usr/bin/env bash
# Quick-start tier: a function author's first steps, from the packages alone (issue #13).
#
# In an empty folder outside the repository, whose only addition is a nuget.config naming
# out/packages as an extra source (nuget.org, or the machine's mirror, stays), it runs:
#   dotnet new install out/packages/Jex.Templates.*.nupkg
#   dotnet new jex-function -n Acme.Functions -o $TMP/acme && cd $TMP/acme
#   dotnet test
#   dotnet tool install --tool-path .tools Jex.Cli
#   .tools/jex run job.yml --output out.jsonl
#   .tools/jex run job.yml --record rec.jsonl && .tools/jex replay rec.jsonl --project src/Acme.Functions/Acme.Functions.csproj
#   (change enrichOrder, then replay again: exit 1, naming the item that now differs)
# Each step is a check. Packs first (./demo.sh pack) when out/packages has no packages or a
# source file is newer than them.
# NuGet's package folder and the dotnet home (where templates and first-run state go) are private
# to the run: a package packed again at the same version must not be taken from an older cache.
# Prints the seconds from the empty folder to passing tests and to a completed jex run; the last
# line is "quickstart: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/packages.sh
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

PASSED=0 FAILED=0
pass() { PASSED=$((PASSED + 1)); echo "quickstart: PASS $1"; }
fail() { FAILED=$((FAILED + 1)); echo "quickstart: FAIL $1"; [ -n "${2:-}" ] && [ -f "$2" ] && tail -25 "$2" | sed 's/^/    /'; }
finish() { echo "quickstart: $PASSED passed, $FAILED failed"; exit $([ "$FAILED" -eq 0 ] && echo 0 || echo 1); }

ensure_packages quickstart Jex.UserCode Jex.Testing Jex.Templates Jex.Cli || true
missing=()
for id in Jex.UserCode Jex.Testing Jex.Templates Jex.Cli; do
  ls "$PACKAGES/$id".[0-9]*.nupkg >/dev/null 2>&1 || missing+=("$id")
done
if [ ${#missing[@]} -eq 0 ]; then
  pass "out/packages holds Jex.UserCode, Jex.Testing, Jex.Templates and Jex.Cli"
else
  fail "out/packages lacks ${missing[*]}: run ./demo.sh pack (Jex.Testing needs src/Jex.Testing)"
fi
ls "$PACKAGES"/Jex.Templates.[0-9]*.nupkg "$PACKAGES"/Jex.Cli.[0-9]*.nupkg >/dev/null 2>&1 || finish

TMP=$(mktemp -d /tmp/jex-quickstart.XXXXXX)
LOGS=$TMP/logs
mkdir -p "$LOGS"
export DOTNET_CLI_HOME=$TMP/home NUGET_PACKAGES=$TMP/nuget-packages
cleanup() {
  timeout 60 dotnet new uninstall Jex.Templates >/dev/null 2>&1 || true
  rm -rf "$TMP"
}
trap cleanup EXIT
write_nuget_config "$TMP"
cd "$TMP"
START=$SECONDS
elapsed() { echo $((SECONDS - START)); }

# step NAME TIMEOUT LOG CMD...: runs CMD with its output in LOG; true when it exits 0.
step() {
  local name=$1 limit=$2 logf=$3; shift 3
  timeout "$limit" "$@" >"$logf" 2>&1
  local rc=$?
  [ "$rc" -eq 0 ] && return 0
  [ "$rc" -eq 124 ] && echo "quickstart: $name timed out after ${limit}s" >>"$logf"
  echo "quickstart: $name exited $rc" >>"$logf"
  return 1
}

if step "template install" 300 "$LOGS/install.log" dotnet new install "$(ls "$PACKAGES"/Jex.Templates.*.nupkg | head -1)" \
    && grep -q "jex-function" "$LOGS/install.log"; then
  pass "dotnet new install Jex.Templates lists jex-function"
else
  fail "dotnet new install out/packages/Jex.Templates.*.nupkg" "$LOGS/install.log"; finish
fi

if step "dotnet new" 120 "$LOGS/new.log" dotnet new jex-function -n Acme.Functions -o "$TMP/acme" \
    && [ -f "$TMP/acme/src/Acme.Functions/Acme.Functions.csproj" ] \
    && [ -f "$TMP/acme/tests/Acme.Functions.Tests/Acme.Functions.Tests.csproj" ] \
    && [ -f "$TMP/acme/job.yml" ] && [ -f "$TMP/acme/data/input.jsonl" ] \
    && grep -q 'PackageReference Include="Jex.UserCode"' "$TMP/acme/src/Acme.Functions/Acme.Functions.csproj" \
    && grep -q 'namespace Acme.Functions;' "$TMP/acme/src/Acme.Functions/Functions.cs"; then
  pass "dotnet new jex-function -n Acme.Functions: projects, job.yml and data named after -n"
else
  fail "dotnet new jex-function -n Acme.Functions -o $TMP/acme" "$LOGS/new.log"; finish
fi
cd "$TMP/acme"

if step "dotnet test" 900 "$LOGS/test.log" dotnet test && grep -qE 'Passed:\s+[1-9]' "$LOGS/test.log"; then
  pass "dotnet test: the generated tests pass ($(grep -oE 'Passed:\s+[0-9]+' "$LOGS/test.log" | head -1 | tr -s ' ')) after $(elapsed) s from an empty folder"
else
  fail "dotnet test in the generated project" "$LOGS/test.log"
fi

if step "tool install" 300 "$LOGS/tool.log" dotnet tool install --tool-path .tools Jex.Cli \
    && step "jex --help" 60 "$LOGS/help.log" .tools/jex --help && grep -q "run" "$LOGS/help.log"; then
  pass "dotnet tool install --tool-path .tools Jex.Cli gives a working jex"
else
  fail "dotnet tool install --tool-path .tools Jex.Cli; .tools/jex --help" "$LOGS/tool.log"; finish
fi

# The runtime travels in the tool, beside jex.dll.
runtime=$(find .tools/.store -path '*/tools/net*/any/runtime/jex-runtime.dll' | head -1)
if [ -n "$runtime" ] && [ -f "$(dirname "$runtime")/jex-runtime" ]; then
  pass "the tool carries jex-runtime in runtime/ beside jex.dll ($( [ -x "$(dirname "$runtime")/jex-runtime" ] && echo "apphost executable" || echo "apphost NOT executable: jex run will ask for chmod u+x"))"
else
  fail "no runtime/jex-runtime.dll and apphost under .tools/.store"
fi

# A library built against the Jex.UserCode package (its own Jex.UserCode.dll in bin) loads in the
# bundled runtime, its functions bind, and items go through: a job that names every path itself,
# so this holds whatever jex run's own lookups do.
if [ -n "$runtime" ] && step "dotnet build" 600 "$LOGS/build.log" dotnet build src/Acme.Functions -c Release \
    && [ -f src/Acme.Functions/bin/Release/net10.0/Jex.UserCode.dll ]; then
  cat >"$TMP/explicit.yml" <<EOF
job:
  name: explicit-paths
  pipeline:
    - source: map-journal
      map-name: input
    - transform: user-code
      function: enrichOrder
      format: json
      runtime:
        service:
          process: { path: "$TMP/acme/$(dirname "$runtime")", name: jex-runtime }
        transport:
          grpc: { port: 0 }
        user-code: "$TMP/acme/src/Acme.Functions/bin/Release/net10.0"
    - sink: map
      map-name: output
EOF
  if step "jex run (explicit paths)" 120 "$LOGS/explicit.log" .tools/jex run "$TMP/explicit.yml" --input data/input.jsonl --output explicit.jsonl \
      && grep -qE 'completed: in=4 out=4 errors=0' "$LOGS/explicit.log" \
      && grep -qF '{"key":"o-1","value":{"id":"o-1","customer":"ACME","totalCents":2500,"bulk":false}}' explicit.jsonl; then
    pass "a library built on the Jex.UserCode package (Jex.UserCode.dll in its bin) runs in the bundled runtime: 4 items, expected output"
  else
    fail "the package-built library in the bundled runtime (job with explicit paths)" "$LOGS/explicit.log"
  fi
else
  fail "dotnet build src/Acme.Functions -c Release (with Jex.UserCode.dll copied to bin)" "$LOGS/build.log"
fi

if step "jex run" 600 "$LOGS/run.log" .tools/jex run job.yml --output out.jsonl \
    && grep -qE 'completed: .*errors=0' "$LOGS/run.log" && [ "$(grep -c . out.jsonl)" -eq 4 ]; then
  pass "jex run job.yml --output out.jsonl: exit 0, errors=0, 4 results, $(elapsed) s from an empty folder"
else
  fail "jex run job.yml --output out.jsonl" "$LOGS/run.log"
fi

if step "jex run --record" 300 "$LOGS/record.log" .tools/jex run job.yml --record rec.jsonl && [ -s rec.jsonl ] \
    && step "jex replay" 300 "$LOGS/replay.log" .tools/jex replay rec.jsonl --project src/Acme.Functions/Acme.Functions.csproj; then
  pass "jex run --record, then jex replay --project of the same code: exit 0"
else
  fail "jex run job.yml --record rec.jsonl && jex replay rec.jsonl --project ..." "$LOGS/replay.log"
fi

# A changed bulk threshold changes one recorded result: o-2 (quantity 12), not o-1, o-3 or o-4.
sed -i 's/order.Quantity >= 10/order.Quantity >= 20/' src/Acme.Functions/Functions.cs
timeout 300 .tools/jex replay rec.jsonl --project src/Acme.Functions/Acme.Functions.csproj >"$LOGS/replay-changed.log" 2>&1
rc=$?
if [ "$rc" -eq 1 ] && grep -q 'o-2' "$LOGS/replay-changed.log" && ! grep -q 'o-3' "$LOGS/replay-changed.log"; then
  pass "after changing enrichOrder, jex replay exits 1 and names the one item that differs (o-2)"
else
  echo "quickstart: jex replay exited $rc" >>"$LOGS/replay-changed.log"
  fail "jex replay of changed code: expected exit 1 naming o-2 only" "$LOGS/replay-changed.log"
fi

cd "$TMP"
if timeout 60 dotnet new uninstall Jex.Templates >"$LOGS/uninstall.log" 2>&1; then
  pass "dotnet new uninstall Jex.Templates"
else
  fail "dotnet new uninstall Jex.Templates" "$LOGS/uninstall.log"
fi
finish
