#!/usr/bin/env bash
# Benchmark smoke test: `jex bench --quick --json` must run every path, raw and Hazelcast Compact,
# and write a complete report.
# It checks that the benchmark runs, never a number. Last line: "smoke: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${JEX_OUT:-$PWD/out}
REPORT=$OUT/smoke-bench.json
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

rm -f "$REPORT"
rc=0
# The timeout only stops a hang (quick takes ~90 s idle, a few minutes under load).
timeout 900 "$OUT/cli/jex" bench --quick --runtime "$OUT/runtime/jex-runtime" --samples "$OUT/samples" --json "$REPORT" || rc=$?
echo "smoke: jex bench --quick exited $rc"

"$PY" - "$REPORT" "$rc" <<'PYEOF'
import json, sys
path, rc = sys.argv[1], int(sys.argv[2])
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
    check("jex bench exited 0", rc == 0, f"exit code {rc}")
    check("report has a machine line", bool(report.get("machine", {}).get("cpu")))
    check("report has startup_ms_p50", isinstance(report.get("startup_ms_p50"), (int, float)))
    results = report.get("results", [])
    for p in ["direct", "shm", "grpc-tcp", "grpc-uds"]:
        cells = [r for r in results if r.get("transport") == p]
        errors = [r.get("error") for r in cells if r.get("error")]
        why = report.get("unavailable", {}).get(p) or (errors[0] if errors else "no results")
        ok = len(cells) > 0 and not errors and all(
            isinstance(r.get(k), (int, float)) for r in cells
            for k in ("events_per_s", "p50_us", "p99_us", "alloc_b_per_event", "cpu_us_per_event"))
        check(f"path {p} ran every quick cell with every metric", ok, why)
        for b in (1, 256):
            check(f"path {p} has a 64 B batch-{b} cell", any(r.get("payload") == 64 and r.get("batch") == b and r.get("format") == "raw" for r in cells), why)
        # The Compact cell: Hazelcast Data through compactEcho; the bench itself checks that the
        # output decodes to the record sent, so a result here means the format ran end to end.
        compact = [r for r in cells if r.get("format") == "compact"]
        check(f"path {p} ran a Compact cell (compactEcho) with events_per_s > 0",
              len(compact) > 0 and all(r.get("user_function") == "compactEcho" and not r.get("error")
                                       and (r.get("events_per_s") or 0) > 0 for r in compact),
              (compact[0].get("error") or why) if compact else "no compact cell in the report")
    check("no format is reported unavailable", not any(k.startswith("format") for k in report.get("unavailable", {})),
          str(report.get("unavailable")))
print(f"smoke: {passed} passed, {failed} failed")
PYEOF
