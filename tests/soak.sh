#!/usr/bin/env bash
# Soak tier: `jex soak` drives each transport (grpc-tcp, grpc-uds, shm) at saturation against a
# real forked runtime for 60 s after its warm-up, sampling the runtime's RSS every second.
# Checks, per transport, from the JSON report: every item sent came back exactly once and equal to
# its input (lost, wrong and duplicated all 0), one RSS sample a second, and the final RSS within
# 10% of the RSS 10 s into the window. Last line: "soak: N passed, N failed".
# JEX_SOAK_SECONDS and JEX_SOAK_PATHS override the length and the transports.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${JEX_OUT:-$PWD/out}
SECONDS_PER_PATH=${JEX_SOAK_SECONDS:-60}
PATHS=${JEX_SOAK_PATHS:-grpc-tcp,grpc-uds,shm}
REPORT=$OUT/soak.json
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

rm -f "$REPORT"
rc=0
# Each path: up to 40 s warm-up, the window, start and drain; the timeout only stops a hang.
timeout $(( (SECONDS_PER_PATH + 120) * 3 )) "$OUT/cli/jex" soak --runtime "$OUT/runtime/jex-runtime" --samples "$OUT/samples" \
  --paths "$PATHS" --seconds "$SECONDS_PER_PATH" --json "$REPORT" || rc=$?
echo "soak: jex soak exited $rc"

"$PY" - "$REPORT" "$rc" "$SECONDS_PER_PATH" "$PATHS" <<'PYEOF'
import json, sys
path, rc, seconds, paths = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4].split(",")
passed = failed = 0
def check(name, ok, why=""):
    global passed, failed
    if ok:
        passed += 1; print(f"  PASS {name}")
    else:
        failed += 1; print(f"  FAIL {name}{': ' + why if why else ''}")
try:
    report = json.load(open(path))
except Exception as e:
    check("report is readable JSON", False, str(e)); report = None
if report is not None:
    check("jex soak exited 0", rc == 0, f"exit code {rc}")
    by = {t["transport"]: t for t in report.get("transports", [])}
    for p in paths:
        t = by.get(p)
        if t is None:
            check(f"{p}: ran", False, "not in the report"); continue
        why = "; ".join(t.get("reasons", []))
        check(f"{p}: verdict pass", t.get("verdict") == "pass", why)
        sent, ok = t.get("items_sent", 0), t.get("items_ok", -1)
        check(f"{p}: nothing lost, wrong or duplicated ({sent:,} items)",
              sent > 0 and ok == sent and t.get("lost") == 0 and t.get("items_wrong") == 0
              and t.get("duplicates") == 0 and t.get("unknown") == 0,
              f"sent {sent}, right {ok}, lost {t.get('lost')}, wrong {t.get('items_wrong')}, duplicated {t.get('duplicates')}, unknown {t.get('unknown')}; {t.get('first_wrong') or t.get('error') or ''}")
        samples = t.get("samples", [])
        # One a second; a busy machine may delay ticks (the timer then skips them), so the floor is
        # half: enough to show the sampler ran the whole window, without depending on the load.
        check(f"{p}: an RSS sample every second ({len(samples)} in {seconds:.0f} s)",
              seconds * 0.5 <= len(samples) <= seconds + 2, f"{len(samples)} samples")
        ref, final = t.get("rss_reference_kib"), t.get("rss_final_kib")
        check(f"{p}: final RSS within 10% of the RSS at {t.get('rss_reference_at_s')} s ({ref} -> {final} KiB)",
              isinstance(ref, int) and isinstance(final, int) and ref > 0 and final <= ref * 1.10, why)
print(f"soak: {passed} passed, {failed} failed")
PYEOF
