#!/usr/bin/env bash
# Hazelcast format vectors, both directions, against hazelcast-client 5.7.0 (npm, pinned):
#  1. installs the client (npm ci from package-lock.json) when missing;
#  2. regenerates out/vectors.json with the client's own serialization service, offline
#     (the .NET tests in tests/Jex.Hazelcast.Tests read that file);
#  3. has .NET (`jex data encode --batch`) encode every vector's value and checks the client
#     decodes those bytes to the same value; plus the CLI's single-value decode and encode.
# Last line: "vectors: N passed, N failed"; exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")"
HERE=$PWD
ROOT=$(cd ../../.. && pwd)
OUT=$HERE/out
JEX=${JEX_CLI:-$ROOT/out/cli/jex}
PASSED=0 FAILED=0
mkdir -p "$OUT"
finish() { echo "vectors: $PASSED passed, $FAILED failed"; [ "$FAILED" -eq 0 ]; exit $?; }
fail() { echo "FAIL $*"; FAILED=$((FAILED + 1)); }
pass() { PASSED=$((PASSED + 1)); }

if [ "$(node -p "try{require('hazelcast-client/package.json').version}catch(e){''}" 2>/dev/null)" != "5.7.0" ]; then
  npm ci --no-audit --no-fund >/dev/null 2>"$OUT/npm.log" || { cat "$OUT/npm.log"; fail "npm ci hazelcast-client@5.7.0"; finish; }
fi

rm -f "$OUT/vectors.json"
node gen-vectors.js "$OUT/vectors.json" || { fail "generating vectors"; finish; }

if [ ! -x "$JEX" ]; then
  echo "building the jex CLI (no $JEX; ./demo.sh build makes it)" >&2
  dotnet publish "$ROOT/src/Jex.Cli" -c Release -o "$ROOT/out/cli" -nologo >/dev/null || { fail "building jex"; finish; }
fi

node check-dotnet.js prepare "$OUT/vectors.json" "$OUT/batch.jsonl" "$OUT/schemas.json" || { fail "preparing the .NET batch"; finish; }
"$JEX" data encode --schemas "$OUT/schemas.json" --batch "$OUT/batch.jsonl" >"$OUT/dotnet-hex.txt" 2>"$OUT/dotnet-encode.err" \
  || { cat "$OUT/dotnet-encode.err"; fail "jex data encode --batch exited non-zero"; }
node check-dotnet.js verify "$OUT/vectors.json" "$OUT/batch.jsonl" "$OUT/dotnet-hex.txt" >"$OUT/verify.log" 2>&1
grep -v '^RESULT' "$OUT/verify.log"
read -r _ p f < <(grep '^RESULT' "$OUT/verify.log" || echo "RESULT 0 1")
PASSED=$((PASSED + p)); FAILED=$((FAILED + f))

# The CLI's single-value interface, exactly as tools call it.
demo_hex=00000000ffffffc9462e8dfd6146592700000014
got=$("$JEX" data decode --schemas "$OUT/schemas.json" "$demo_hex" 2>&1)
[ "$got" = '{"$type":"some-thing","value":20}' ] && pass || fail "jex data decode of the demo value printed: $got"
got=$("$JEX" data encode --schemas "$OUT/schemas.json" --as compact '{"$type":"other-thing","value":"__20__"}' 2>&1)
want=$(node -e "const d=require('$OUT/vectors.json');process.stdout.write(d.vectors.find(v=>v.name==='compact: other-thing \"__20__\"').hex)")
[ "$got" = "$want" ] && pass || fail "jex data encode of other-thing printed $got, the client wrote $want"
err=$("$JEX" data decode "$demo_hex" 2>&1 >/dev/null); rc=$?
[ $rc -ne 0 ] && [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] && [[ $err == *5057135550981888295* ]] && pass \
  || fail "decode without the schema: exit $rc, stderr: $err"

finish
