#!/usr/bin/env bash
# Container tier: proves the container path for real under podman (or docker) on this host.
#   1. builds the offline base images (docker/build-base-image.sh; cached) and the runtime image
#      from out/ (docker/Dockerfile, target "prebuilt"), timing both;
#   2. checks the image: non-root user, ready line on 0.0.0.0:5252, clean exit 0 on `stop`;
#   3. runs jobs/dotnet-container-grpc.yml through `jex run` (ContainerLauncher) and compares its
#      sink with jobs/dotnet-process-grpc.yml's, on the demo data and on generated data;
#   4. kills the runtime's container mid-job: the job still ends with every key exactly once;
#      then live code: jex run --watch into a container with no code mounted, jex deploy into one;
#   5. a missing image fails the job with the engine's error;
#   6. the sidecar of docker/compose.yml: a driver container and a runtime container in one pod;
#   7. leaves no container behind.
# Last line: "containers: N passed, N failed". Needs root (debootstrap) the first time, podman + runc.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
export CONTAINERS_CONF=${CONTAINERS_CONF:-$ROOT/docker/containers.conf}
IMAGE=${JEX_IMAGE:-localhost/jex-runtime:latest}
ASPNET_IMAGE=${JEX_ASPNET_IMAGE:-localhost/jex-aspnet:10.0}
CLI=${JEX_CONTAINER_CLI:-podman}
JEX=$ROOT/out/cli/jex
WORK=$(mktemp -d "${TMPDIR:-/tmp}/jex-containers.XXXXXX")
PASSED=0 FAILED=0
STANDALONE=jex-tier-standalone-$$
POD=jex-tier-pod-$$
DRIVER_IMAGE=${JEX_DRIVER_IMAGE:-localhost/jex-driver:latest}

log() { printf '[containers] %s\n' "$*" >&2; }
pass() { PASSED=$((PASSED + 1)); echo "PASS $1"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $1${2:+: $2}"; }
finish() {
  "$CLI" rm -f "$STANDALONE" >/dev/null 2>&1 || true
  "$CLI" pod rm -f "$POD" >/dev/null 2>&1 || true
  rm -rf "$WORK"
  echo "containers: $PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
}
trap 'finish; exit $?' EXIT

# Whatever cannot run is a failure with its reason, never a silent pass.
if ! command -v "$CLI" >/dev/null; then
  fail "container CLI" "$CLI is not installed (tests/apt-packages.txt lists podman and runc)"; exit 1
fi
[ -x "$JEX" ] && [ -x "$ROOT/out/runtime/jex-runtime" ] && [ -d "$ROOT/out/samples/Jex.Samples" ] || ./demo.sh build >&2

# --- 1. images ------------------------------------------------------------------------------------
start=$SECONDS
if docker/build-base-image.sh >"$WORK/base.log" 2>&1; then
  pass "base images ($((SECONDS - start))s; cached when they exist)"
else
  cat "$WORK/base.log"; fail "base images" "docker/build-base-image.sh failed"; exit 1
fi
start=$SECONDS
if "$CLI" build -q -f docker/Dockerfile --target prebuilt --build-arg RUNTIME_IMAGE="$ASPNET_IMAGE" -t "$IMAGE" . >"$WORK/build.log" 2>&1; then
  pass "runtime image $IMAGE from out/ ($((SECONDS - start))s)"
else
  cat "$WORK/build.log"; fail "runtime image" "podman build failed"; exit 1
fi

start=$SECONDS
if "$CLI" build -q -f docker/Dockerfile --target driver-prebuilt --build-arg RUNTIME_IMAGE="$ASPNET_IMAGE" -t "$DRIVER_IMAGE" . >"$WORK/build-driver.log" 2>&1; then
  pass "driver image $DRIVER_IMAGE from out/ ($((SECONDS - start))s)"
else
  cat "$WORK/build-driver.log"; fail "driver image" "podman build failed"
fi

# --- 2. the image on its own ----------------------------------------------------------------------
uid=$("$CLI" run --rm --entrypoint id "$IMAGE" -u 2>&1)
[ "$uid" = 10001 ] && pass "image runs as non-root uid 10001" || fail "image user" "id -u printed '$uid'"

UserCode__Token=tier-token "$CLI" run -d --name "$STANDALONE" -e UserCode__Token -p 127.0.0.1::5252 "$IMAGE" >/dev/null 2>"$WORK/standalone.err"
ready=""
for _ in $(seq 1 240); do
  ready=$("$CLI" logs "$STANDALONE" 2>/dev/null | grep '^JEX-READY ' || true)
  [ -n "$ready" ] && break
  sleep 0.5
done
if [[ "$ready" == *'"address":"http://0.0.0.0:5252"'* && "$ready" == *'"doThingDotnet"'* ]]; then
  pass "image prints its ready line on 0.0.0.0:5252 with the baked-in samples"
else
  fail "image ready line" "got '${ready:-nothing}' $(cat "$WORK/standalone.err")"
fi
"$CLI" stop -t 10 "$STANDALONE" >/dev/null 2>&1
code=$("$CLI" inspect "$STANDALONE" --format '{{.State.ExitCode}}' 2>&1)
[ "$code" = 0 ] && pass "runtime exits 0 on docker stop (SIGTERM)" || fail "stop exit code" "exit code '$code'; logs: $("$CLI" logs "$STANDALONE" 2>&1 | tail -3)"
"$CLI" rm -f "$STANDALONE" >/dev/null 2>&1

# --- 3. the container job against the process job -------------------------------------------------
# run NAME JOB ARGS...: runs `jex run`, keeps its stdout+stderr in $WORK/NAME.log, sorted sink in NAME.sorted
run_job() {
  local name=$1 job=$2; shift 2
  local start=$SECONDS rc=0
  "$JEX" run "$job" --output "$WORK/$name.jsonl" --show 0 "$@" >"$WORK/$name.log" 2>&1 || rc=$?
  sort "$WORK/$name.jsonl" >"$WORK/$name.sorted" 2>/dev/null || : >"$WORK/$name.sorted"
  log "$name: exit $rc in $((SECONDS - start))s: $(grep '^job ' "$WORK/$name.log" | tail -1)"
  return $rc
}
summary() { grep '^job .* completed: ' "$WORK/$1.log" | tail -1; }

compare() {
  local label=$1 a=$2 b=$3 expected=$4
  local n
  n=$(wc -l <"$WORK/$a.sorted")
  if [ "$n" -eq "$expected" ] && cmp -s "$WORK/$a.sorted" "$WORK/$b.sorted"; then
    pass "$label: $n identical sink entries"
  else
    fail "$label" "$a has $n entries (want $expected), differs from $b: $(diff "$WORK/$a.sorted" "$WORK/$b.sorted" | head -3 | tr '\n' ' ')"
  fi
}

demo_entries=$(grep -c '^{' jobs/data/streamed-map.jsonl)
if run_job process-demo jobs/dotnet-process-grpc.yml && run_job container-demo jobs/dotnet-container-grpc.yml JEX_IMAGE="$IMAGE"; then
  [[ "$(summary container-demo)" == *"in=$demo_entries out=$demo_entries errors=0 "*"transport=grpc service=container"* ]] \
    && pass "container job completes: $(summary container-demo)" \
    || fail "container job summary" "$(summary container-demo)"
  compare "demo data, container vs process" container-demo process-demo "$demo_entries"
else
  fail "demo jobs" "$(tail -5 "$WORK/container-demo.log" "$WORK/process-demo.log" 2>/dev/null | tr '\n' ' ')"
fi

if run_job process-gen jobs/dotnet-process-grpc.yml --generate 20000 && run_job container-gen jobs/dotnet-container-grpc.yml JEX_IMAGE="$IMAGE" --generate 20000; then
  compare "20000 generated entries, container vs process" container-gen process-gen 20000
else
  fail "generated jobs" "$(tail -5 "$WORK/container-gen.log" | tr '\n' ' ')"
fi

# --- 4. the runtime's container killed mid-job ----------------------------------------------------
"$JEX" run jobs/dotnet-container-grpc.yml JEX_IMAGE="$IMAGE" --generate 20000 --rate 4000 \
  --output "$WORK/container-kill.jsonl" --show 0 >"$WORK/container-kill.log" 2>&1 &
jex_pid=$!
killed=""
for _ in $(seq 1 480); do
  # Kill once results are flowing, so batches are in flight.
  if [ -s "$WORK/container-kill.jsonl" ]; then
    killed=$("$CLI" ps -q --filter "label=jex.owner-pid=$jex_pid" | head -1)
    if [ -n "$killed" ]; then
      "$CLI" inspect "$killed" >"$WORK/inspect.json" 2>&1 || true
      "$CLI" inspect "$killed" --format '{{.HostConfig.ReadonlyRootfs}} {{.HostConfig.CapDrop}} {{.HostConfig.SecurityOpt}} {{.HostConfig.PidsLimit}} {{.HostConfig.Memory}}' >"$WORK/locks.txt" 2>&1 || true
      # The token is the mounted file's content; the member keeps it in a 0700 directory.
      token_src=$(grep -o '"[^"]*/jex-token-[^"]*/token"' "$WORK/inspect.json" | head -1 | tr -d '"')
      token_value=$(cat "$token_src" 2>/dev/null || true)
      token_mode=$(stat -c %a "$token_src" 2>/dev/null || true)
      "$CLI" kill "$killed" >/dev/null 2>&1 && break
    fi
  fi
  sleep 0.25
done
rc=0; wait "$jex_pid" || rc=$?
sort "$WORK/container-kill.jsonl" >"$WORK/container-kill.sorted"
s=$(summary container-kill)
log "container-kill: exit $rc: $s"
if [ -z "$killed" ]; then
  fail "kill mid-job" "never saw a running container for jex pid $jex_pid: $(tail -3 "$WORK/container-kill.log" | tr '\n' ' ')"
elif [ "$rc" -eq 0 ] && [[ "$s" =~ in=20000\ out=20000\ errors=0\ restarts=[1-9] ]]; then
  pass "container killed mid-job: job recovers ($s)"
  compare "after the kill, each key exactly once" container-kill process-gen 20000
else
  fail "kill mid-job" "exit $rc, summary '$s': $(tail -3 "$WORK/container-kill.log" | tr '\n' ' ')"
fi

# --- 4b. the container as the member locked it down (issue #11 row 12) -----------------------------
locks=$(cat "$WORK/locks.txt" 2>/dev/null)
# podman lists under CapDrop the default capabilities it dropped: with --cap-drop=ALL, all of them.
if [[ "$locks" == true\ * && "$locks" == *CAP_CHOWN* && "$locks" == *CAP_DAC_OVERRIDE* && "$locks" == *CAP_NET_RAW* \
      && "$locks" == *CAP_SETUID* && "$locks" == *CAP_KILL* && "$locks" == *no-new-privileges* && "$locks" == *" 512 1073741824" ]]; then
  pass "container runs read-only, all capabilities dropped, no-new-privileges, pids 512, memory 1g ($locks)"
else
  fail "container lockdown" "podman inspect: '$locks'"
fi
if [ -z "$token_value" ]; then
  fail "token file" "no readable token file mounted from the member (source '${token_src:-none}')"
elif grep -qF "$token_value" "$WORK/inspect.json"; then
  fail "token in inspect" "podman inspect of the running container shows the token"
elif grep -q 'UserCode__Token' "$WORK/inspect.json"; then
  fail "token in inspect" "the container's environment names UserCode__Token"
elif [ "$token_mode" != 400 ]; then
  fail "token file mode" "mode $token_mode, want 400"
elif [ -e "$token_src" ]; then
  fail "token file" "$token_src outlived its container"
else
  pass "token: a 0400 file mount, not in podman inspect, removed with the container"
fi

# --- 4c. live code: new code into a container that has none mounted (issue #14) -------------------
# jex run --watch mounts no user code into the container: it deploys the job's code through
# jex.v1.Deploy once the runtime is up, then each change of the watched folder.
mkdir -p "$WORK/live/samples" && cp -r out/samples/Jex.Samples "$WORK/live/samples/"
"$JEX" run jobs/dotnet-container-grpc.yml JEX_IMAGE="$IMAGE" JEX_OUT="$WORK/live" --generate 200000 --rate 40000 --watch \
  --output "$WORK/live.jsonl" --show 0 >"$WORK/live.log" 2>&1 &
jex_pid=$!
for _ in $(seq 1 480); do grep -q '^jex run --watch: watching ' "$WORK/live.log" && break; sleep 0.25; done
# Copy v2 once v1 results are in the output (the sink writes it in blocks), not after a fixed pause:
# that could come before any v1 result or eat the time a busy machine needs for the deploy.
for _ in $(seq 1 480); do [ -s "$WORK/live.jsonl" ] && break; kill -0 "$jex_pid" 2>/dev/null || break; sleep 0.25; done
cp out/samples-v2/Jex.Samples/* "$WORK/live/samples/Jex.Samples/"
rc=0; wait "$jex_pid" || rc=$?
s=$(grep '^job .* completed: ' "$WORK/live.log" | tail -1)
# Every key once; every value __n__ or __n__v2 for its own n; all v1 before all v2 in sink order.
check=$(python3 - "$WORK/live.jsonl" <<'PY'
import json, sys
keys, switch, bad = set(), None, []
for i, line in enumerate(open(sys.argv[1])):
    e = json.loads(line); n = e["key"][4:]; v = e["value"]["value"]
    keys.add(e["key"])
    if v == f"__{n}__v2": switch = i if switch is None else switch
    elif v != f"__{n}__" or switch is not None: bad.append(f"line {i + 1}: {e['key']}={v}")
print(f"keys={len(keys)} switch={switch} bad={len(bad)} {' '.join(bad[:3])}")
PY
)
if [ "$rc" -eq 0 ] && [[ "$s" == *"in=200000 out=200000 errors=0 restarts=0 deploys=1 transport=grpc service=container"* ]] \
    && grep -q '^jex run --watch: deployed .* into container .* as v1 ' "$WORK/live.log" \
    && [[ "$check" == "keys=200000 switch="[1-9]*" bad=0 " ]]; then
  pass "live code into a container with no code mounted: $(grep '^deploy 1: ' "$WORK/live.log" | cut -c1-40)...; $check"
else
  fail "live code into a container" "exit $rc, '$s', $check: $(grep -E '^(jex run|deploy )' "$WORK/live.log" | tail -3 | tr '\n' ' ')"
fi

# jex deploy into a container started by hand with no code of its own (UserCode__Path emptied).
UserCode__Token=tier-token "$CLI" run -d --name "$STANDALONE" -e UserCode__Token -e UserCode__Path= -e UserCode__Deploy__Enabled=true \
  -p 127.0.0.1::5252 "$IMAGE" >/dev/null 2>"$WORK/standalone-deploy.err"
for _ in $(seq 1 240); do "$CLI" logs "$STANDALONE" 2>/dev/null | grep -q '^JEX-READY ' && break; sleep 0.5; done
port=$("$CLI" port "$STANDALONE" 5252/tcp 2>/dev/null | head -1 | sed 's/.*://')
rc=0
UserCode__Token=tier-token "$JEX" deploy --address "127.0.0.1:$port" out/samples-v2/Jex.Samples >"$WORK/deploy.log" 2>&1 || rc=$?
if [ "$rc" -eq 0 ] && grep -q '^jex deploy: v1 is current: switch took ' "$WORK/deploy.log"; then
  pass "jex deploy into an empty container runtime: $(tail -1 "$WORK/deploy.log" | cut -c1-70)..."
else
  fail "jex deploy into a container" "exit $rc: $(cat "$WORK/deploy.log" "$WORK/standalone-deploy.err" | tail -3 | tr '\n' ' ') $("$CLI" logs "$STANDALONE" 2>&1 | tail -3 | tr '\n' ' ')"
fi
"$CLI" rm -f "$STANDALONE" >/dev/null 2>&1

# --- 5. a missing image ---------------------------------------------------------------------------
start=$SECONDS
rc=0
timeout 180 "$JEX" run jobs/dotnet-container-grpc.yml JEX_IMAGE=localhost/jex-no-such-image:missing \
  --show 0 >"$WORK/missing.log" 2>&1 || rc=$?
if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && grep -qi 'jex-no-such-image' "$WORK/missing.log"; then
  pass "missing image: job fails in $((SECONDS - start))s naming the image"
else
  fail "missing image" "exit $rc after $((SECONDS - start))s: $(tail -3 "$WORK/missing.log" | tr '\n' ' ')"
fi

# --- 6. sidecar: docker/compose.yml's topology with podman alone ---------------------------------
# A pod is one network namespace, as `network_mode: service:runtime` makes in compose.
if [ "$CLI" = podman ]; then
  token=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
  "$CLI" pod create --name "$POD" >/dev/null
  UserCode__Token=$token "$CLI" run -d --pod "$POD" -e UserCode__Token "$IMAGE" >/dev/null
  rc=0
  UserCode__Token=$token timeout 120 "$CLI" run --rm --pod "$POD" -e UserCode__Token "$DRIVER_IMAGE" \
    run jobs/dotnet-passthru-grpc.yml --show 0 >"$WORK/sidecar.log" 2>&1 || rc=$?
  s=$(grep '^job .* completed: ' "$WORK/sidecar.log" | tail -1)
  if [ "$rc" -eq 0 ] && [[ "$s" == *"in=$demo_entries out=$demo_entries errors=0"*"service=passthru"* ]]; then
    pass "sidecar: driver container -> runtime container in one pod ($s)"
  else
    fail "sidecar" "exit $rc: $(tail -3 "$WORK/sidecar.log" | tr '\n' ' ')"
  fi
  "$CLI" pod rm -f "$POD" >/dev/null 2>&1
fi

# --- 7. nothing left behind -----------------------------------------------------------------------
left=$("$CLI" ps -a -q --filter label=jex.runtime=1 --filter "label=jex.owner-pid=$jex_pid")
left+=$("$CLI" ps -a -q --filter name="$STANDALONE")
left+=$("$CLI" pod ps -q --filter name="$POD" 2>/dev/null)
[ -z "$left" ] && pass "no container left behind" || fail "containers left behind" "$left"
