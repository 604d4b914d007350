#!/usr/bin/env bash
# Runs the Durable Streams conformance suite (Node + vitest) against the streams module.
# Usage: tools/conformance/run.sh [memory|dir]
# Prints a final line "conformance <mode>: N passed, M failed" and exits non-zero on failures.
set -euo pipefail

MODE="${1:-memory}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
LONG_POLL_MS="${LONG_POLL_MS:-500}"

case "$MODE" in memory|dir) ;; *) echo "usage: $0 [memory|dir]" >&2; exit 2 ;; esac

cd "$HERE"
if [ ! -d node_modules/@durable-streams/server-conformance-tests ] || [ ! -d node_modules/vitest ]; then
  npm ci --no-audit --no-fund --prefer-offline >&2 || npm install --no-audit --no-fund --prefer-offline >&2
fi

WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

ARGS=(--port 0 --long-poll-ms "$LONG_POLL_MS")
if [ "$MODE" = dir ]; then ARGS+=(--dir "$WORK/data"); fi
deno run -A "$ROOT/tools/conformance/serve.ts" "${ARGS[@]}" >"$WORK/server.out" 2>"$WORK/server.err" &
SERVER_PID=$!

PORT=""
for _ in $(seq 1 300); do
  PORT="$(sed -n 's/^listening \([0-9]*\)$/\1/p' "$WORK/server.out" | head -n1)"
  [ -n "$PORT" ] && break
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "streams server exited early:" >&2; cat "$WORK/server.err" >&2; exit 1
  fi
  sleep 0.1
done
[ -n "$PORT" ] || { echo "streams server did not start" >&2; exit 1; }
URL="http://127.0.0.1:$PORT"
if command -v curl >/dev/null 2>&1; then
  for _ in $(seq 1 100); do
    curl -fsS -o /dev/null -X OPTIONS "$URL/v1/stream/ping" 2>/dev/null && break
    sleep 0.1
  done
fi

set +e
CONFORMANCE_TEST_URL="$URL" LONG_POLL_MS="$LONG_POLL_MS" \
  npx --no-install vitest run conformance.test.mjs --no-coverage --reporter=default \
  --reporter=json --outputFile="$WORK/report.json" 2>&1 | tee "$WORK/vitest.out"
VITEST_RC=${PIPESTATUS[0]}
set -e

PASSED=0
FAILED=0
if [ -f "$WORK/report.json" ]; then
  read -r PASSED FAILED < <(node -e '
    const r = require(process.argv[1]);
    console.log(r.numPassedTests, r.numFailedTests);' "$WORK/report.json")
fi
if [ "$VITEST_RC" -ne 0 ] && [ "$FAILED" -eq 0 ]; then FAILED=1; fi
if [ -s "$WORK/server.err" ] && grep -q '"internal_error"\|"storage_error"' "$WORK/server.err"; then
  echo "--- server reported errors:" >&2; grep '"internal_error"\|"storage_error"' "$WORK/server.err" | head -20 >&2
fi
echo "conformance $MODE: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
