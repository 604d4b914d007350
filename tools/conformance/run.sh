#!/usr/bin/env bash
# Runs the official Durable Streams conformance suite (Node + vitest) against the real duckserve
# server (`deno run -A main.ts serve` on a free port, streams_auth none, long_poll_timeout 500ms,
# everything else in a temporary directory).
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
  # The committed lockfile pins everything; the npm cache makes repeated runs offline.
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

cd "$ROOT"
deno run -A main.ts serve \
  --host 127.0.0.1 --port 0 \
  --streams-storage "$MODE" --streams-dir "$WORK/streams" \
  --streams-auth none --long-poll-timeout "${LONG_POLL_MS}ms" \
  --auth-database-path "$WORK/auth.duckdb" \
  --log-level info >"$WORK/server.out" 2>"$WORK/server.err" &
SERVER_PID=$!
cd "$HERE"

# The server logs {"event":"server_started","url":"http://127.0.0.1:PORT/duckdb",...} when ready.
PORT=""
for _ in $(seq 1 600); do
  PORT="$(sed -n 's/.*"event":"server_started".*"url":"http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$WORK/server.err" | head -n1)"
  [ -n "$PORT" ] && break
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "duckserve exited early:" >&2; cat "$WORK/server.err" >&2
    echo "conformance $MODE: 0 passed, 1 failed"; exit 1
  fi
  sleep 0.1
done
if [ -z "$PORT" ]; then
  echo "duckserve did not start" >&2; cat "$WORK/server.err" >&2
  echo "conformance $MODE: 0 passed, 1 failed"; exit 1
fi
URL="http://127.0.0.1:$PORT"

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
if grep -q '"level":"error"' "$WORK/server.err"; then
  echo "--- server reported errors:" >&2; grep '"level":"error"' "$WORK/server.err" | head -20 >&2
fi
echo "conformance $MODE: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
